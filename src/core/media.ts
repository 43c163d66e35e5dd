// What a booth integration needs to turn a file into a session payload: the session type
// from a file's extension or a dslrBooth mode, the media URL template; what the agent takes
// as a session's media file, with the key it is uploaded under; and how the logs refer to a
// file without its name.
import type { IncomingPayload } from './payload.js';
import type { UploadStatus } from './read-model.js';

type SessionType = Extract<IncomingPayload, { type: 'session' }>['session']['type'];

const EXTENSIONS: Record<string, SessionType> = {
  '.jpg': 'still',
  '.jpeg': 'still',
  '.png': 'still',
  '.gif': 'gif',
  '.mp4': 'video',
  '.mov': 'video',
};

/** The session type of a media file, or null when the hot folder should ignore it. */
export function sessionTypeOfFile(name: string): SessionType | null {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? null : (EXTENSIONS[name.slice(dot).toLowerCase()] ?? null);
}

/** dslrBooth's booth mode (session_start's param1) as a session type (docs/capture-api.md). */
export function sessionTypeOfMode(mode: string | null): SessionType {
  const m = (mode ?? '').trim().toLowerCase();
  if (m === 'gif' || m === 'boomerang') return 'gif';
  if (m === 'video') return 'video';
  return 'still';
}

export interface TemplateValues {
  eventId: number | null;
  file: string;
  sessionId: string;
  /** When the session happened (the {date} placeholder is its UTC day, YYYY-MM-DD). */
  at: number;
}

export function expandMediaUrl(template: string, values: TemplateValues): string {
  return template
    .replaceAll('{event_id}', values.eventId === null ? '' : String(values.eventId))
    .replaceAll('{file}', encodeURIComponent(values.file))
    .replaceAll('{session_id}', encodeURIComponent(values.sessionId))
    .replaceAll('{date}', new Date(values.at).toISOString().slice(0, 10));
}

/**
 * How the logs name a hot-folder file: the first 12 hex digits of its content's SHA-256 and
 * its extension (`3f9a1c2b7d4e.jpg`). A file's name can hold a guest's name, address or
 * number, and an erase cannot reach the logs; `booth-agent hot-folder` lists each file with
 * this reference beside its path.
 */
export function fileRef(hash: string, path: string): string {
  const extension = /\.[a-z0-9]+$/i.exec(path)?.[0].toLowerCase() ?? '';
  return `${hash.slice(0, 12)}${extension}`;
}

/** `text` with a file's path, and its name, put as `instead`: for a log line (see fileRef). */
export function withoutFileName(text: string, path: string, instead: string): string {
  const name = path.split(/[\\/]/).pop() ?? '';
  const withoutPath = text.replaceAll(path, instead);
  return name === '' ? withoutPath : withoutPath.replaceAll(name, instead);
}

/** The files a session may hand the agent (docs/capture-api.md, "Media"): the hot folder's, and .webp and .heic. */
const CONTENT_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webp': 'image/webp',
  '.heic': 'image/heic',
};
export const MEDIA_EXTENSIONS = Object.keys(CONTENT_TYPES);

/** The content type a media file is uploaded with, or null when it is not a media file. */
export function mediaContentType(name: string): string | null {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? null : (CONTENT_TYPES[name.slice(dot).toLowerCase()] ?? null);
}

/**
 * Whether a name sent with PUT /v1/sessions/{id}/media/{name} can be a file's name on every
 * booth's system: no folder in it, nothing Windows refuses, no name that means a folder.
 */
export function isPlainFileName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 200 &&
    name !== '.' &&
    name !== '..' &&
    ![...name].some((char) => char.charCodeAt(0) < 0x20 || '\\/:*?"<>|'.includes(char)) &&
    !/[. ]$/.test(name)
  );
}

export interface KeyValues {
  prefix: string;
  eventId: number | null;
  sessionId: string;
  file: string;
  at: number;
}

/** The object's key in the organiser's bucket, from the storage_key_template setting. */
export function expandStorageKey(template: string, values: KeyValues): string {
  return template
    .replaceAll('{prefix}', values.prefix)
    .replaceAll('{event_id}', values.eventId === null ? 'no-event' : String(values.eventId))
    .replaceAll('{session_id}', values.sessionId)
    .replaceAll('{file}', values.file)
    .replaceAll('{date}', new Date(values.at).toISOString().slice(0, 10));
}

/** The images sharp makes a preview from; a HEIC (no decoder in sharp's prebuilt packages) and a video get none. */
const PREVIEW_SOURCES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/** Whether a file of this content type can give the guest's page its preview (a GIF: its first frame). */
export function givesPreview(contentType: string): boolean {
  return PREVIEW_SOURCES.has(contentType);
}

/** What a session's file is, as the guest's pages name it. */
export type SessionKind = 'photo' | 'gif' | 'video';

export function sessionKind(contentType: string): SessionKind {
  return contentType.startsWith('video/') ? 'video' : contentType === 'image/gif' ? 'gif' : 'photo';
}

/** The objects a session's file brings with it when the agent makes its page (docs/storage.md). */
export interface GuestPageKeys {
  pageKey: string;
  /** Null when there is nothing to make it from: a HEIC, a video without poster. */
  previewKey: string | null;
  /** The event's gallery that lists the session, when event_gallery is on. */
  galleryKey: string | null;
}

/**
 * The keys of a session's page and preview, from the same template as its file: the page is
 * `index.html` beside it, the preview `<stem>.preview.jpg` (the file's name without its
 * extension). The gallery is the event's own `index.html`, whatever the template.
 */
export function guestPageKeys(template: string, values: KeyValues, options: { preview: boolean; gallery: boolean }): GuestPageKeys {
  const dot = values.file.lastIndexOf('.');
  const stem = dot > 0 ? values.file.slice(0, dot) : values.file;
  const eventFolder = values.eventId === null ? 'no-event' : String(values.eventId);
  return {
    pageKey: expandStorageKey(template, { ...values, file: 'index.html' }),
    previewKey: options.preview ? expandStorageKey(template, { ...values, file: `${stem}.preview.jpg` }) : null,
    galleryKey: options.gallery ? `${values.prefix}${eventFolder}/index.html` : null,
  };
}

/** The links a session's webhooks carry: the file, and the page where it is viewed and shared. */
export interface MediaLinks {
  directUrl: string;
  /** The guest's page, or the file's link again when no page is made. */
  siteUrl: string;
}

/**
 * A session body with its file (and poster) swapped for the links to the uploaded objects: the
 * one body the agent writes itself (docs/webhooks.md, "Media uploaded by the agent"). Key order
 * and unknown fields are kept; the links are added at the end of `session`.
 */
export function withMediaUrls(body: Buffer, links: MediaLinks): Buffer {
  const payload = JSON.parse(body.toString('utf8')) as { session: Record<string, unknown> };
  delete payload.session.file;
  delete payload.session.poster;
  payload.session.direct_url = links.directUrl;
  payload.session.site_url = links.siteUrl;
  return Buffer.from(JSON.stringify(payload), 'utf8');
}

export const UPLOAD_STATUSES: readonly UploadStatus[] = ['waiting', 'uploading', 'uploaded', 'failed'];

/** A size as an operator reads it: "812 B", "4.2 MB", "1.3 GB" (powers of 1,000, as file managers show them). */
export function sizeWords(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** "3 photos (45 MB)": session files as the operator reads of them. */
export function photosWords(count: number, bytes: number): string {
  return `${count} ${count === 1 ? 'photo' : 'photos'} (${sizeWords(bytes)})`;
}
