// What a booth integration needs to turn a file into a session payload: the session type
// from a file's extension or a dslrBooth mode, and the media URL template; and how the logs
// refer to a file without its name.
import type { IncomingPayload } from './payload.js';

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
