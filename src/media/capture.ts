// A session that hands the agent its file (docs/capture-api.md, "Media"): before the event's
// transaction, the file is taken in (intake.ts), its key and link are made, and the body gets
// the link in place of the file. The event and the file's row are then committed together
// (store/queue.ts); a capture that is not committed leaves no copy behind.
//
// The agent (its JSON API and booth integrations) and `booth-agent emit` capture through the
// same `capture`; they differ only in how an event is committed (see CommitEvent).
import type { Logger } from 'pino';
import { expandStorageKey, givesPreview, guestPageKeys, mediaContentType, withMediaUrls, type MediaLinks } from '../core/media.js';
import type { Settings } from '../core/settings.js';
import {
  captured,
  fileRefused,
  namesFile,
  namesPoster,
  NO_STORAGE,
  prepareIngest,
  unavailable,
  type ApiIngestResult,
  type IngestOptions,
  type Prepared,
} from '../capture/ingest.js';
import type { StorageSource } from '../storage/config.js';
import { objectUrl } from '../storage/object-url.js';
import type { Captured, DeliveryQueue, NewEvent, NewMedia } from '../store/queue.js';
import type { Store } from '../store/store.js';
import { MediaIntake, type MediaLimits, type Refusal, type TakenFile } from './intake.js';

/**
 * Puts an event in the outbox: the agent commits the requests that arrive together in one
 * transaction (store/group-commit.ts); a command commits its one event alone.
 */
export type CommitEvent = (event: NewEvent, now: number, windowMs: number) => Captured | Promise<Captured>;

export interface MediaCaptureDeps {
  intake: MediaIntake;
  storage: StorageSource;
  queue: DeliveryQueue;
  commit: CommitEvent;
  /** A file sent with PUT for this session under this name, not yet named by an event. */
  received: (sessionId: string, name: string) => TakenFile | null;
  /** Records a file sent with PUT, for the event that will name it. */
  recordReceived: (sessionId: string, file: TakenFile) => void;
  /** The links of the file an earlier event named, for the answer to a repeat. */
  linksOfEvent: (eventId: string) => MediaLinks | null;
  /** A capture refused for disk space: raises agent.disk_low. */
  diskLow: (disk: { freeMb: number; minFreeMb: number }) => void;
  log: Logger;
}

/** What PUT /v1/sessions/{id}/media/{name} answers: 201 with the file's record, or a refusal. */
export type MediaReceipt =
  | { kind: 'received'; id: string; size: number; sha256: string }
  | { kind: 'refused'; status: 400 | 507; error: string; issues?: { path: string; message: string }[] };

/** An event ready for the outbox, with its file; `settle` is called with what became of it. */
export interface WithMedia {
  kind: 'ready';
  event: NewEvent;
  links: MediaLinks | null;
  /** Removes the copy when the event was not committed with it (a repeat, a failed commit). */
  settle: (result: ApiIngestResult) => Promise<ApiIngestResult>;
}

const FOLDER_SEPARATOR = /[\\/]/;

/** The media capture over one data folder: its outbox, and its media folder for the copies. */
export function mediaCaptureOf(
  store: Store,
  mediaDir: string,
  deps: Pick<MediaCaptureDeps, 'storage' | 'commit' | 'diskLow' | 'log'>,
): MediaCapture {
  return new MediaCapture({
    intake: new MediaIntake(mediaDir),
    queue: store.queue,
    received: (sessionId, name) => store.media.received(sessionId, name),
    linksOfEvent: (eventId) => store.media.linksOfEvent(eventId),
    recordReceived: (sessionId, file) => store.media.recordReceived(sessionId, file, Date.now()),
    ...deps,
  });
}

export class MediaCapture {
  constructor(private readonly deps: MediaCaptureDeps) {}

  /** One booth's JSON body, whole: validated, its file taken in, committed; the copy is kept only with its event. */
  async capture(body: Buffer, options: IngestOptions, settings: Settings, now: number): Promise<ApiIngestResult> {
    const prepared = prepareIngest(body, options, settings, now);
    if (prepared.kind !== 'ready') return prepared;
    const ready = await this.prepare(prepared, settings, now);
    if (ready.kind !== 'ready') return ready;
    let result: ApiIngestResult;
    try {
      result = captured(await this.deps.commit(ready.event, now, settings.idempotency_window_ms));
    } catch (error) {
      result = unavailable(error);
    }
    return ready.settle(result);
  }

  /**
   * A file sent as a request's body (PUT /v1/sessions/{id}/media/{name}): taken in with the same
   * checks and sync as a path, and kept for the session until an event names it.
   */
  async receive(
    sessionId: string,
    name: string,
    body: AsyncIterable<Uint8Array>,
    declaredSize: number | null,
    settings: Settings,
  ): Promise<MediaReceipt> {
    if (this.deps.storage() === null) return bodyRefused(NO_STORAGE);
    const taken = await this.deps.intake.takeStream(name, body, declaredSize, limitsOf(settings));
    if (!taken.ok) return this.refused(taken) ?? bodyRefused(taken.message);
    try {
      this.deps.recordReceived(sessionId, taken.file);
    } catch (error) {
      await this.deps.intake.discard(taken.file);
      throw error;
    }
    return { kind: 'received', id: taken.file.id, size: taken.file.size, sha256: taken.file.sha256 };
  }

  /** A refusal for the disk (507), with its alert; null for one about the file itself. */
  private refused(refusal: Refusal): Extract<MediaReceipt, { kind: 'refused' }> | null {
    if (refusal.status === 400) return null;
    this.deps.log.error({ error: refusal.message, ...refusal.disk }, 'capture with media refused: the disk is low');
    if (refusal.disk) this.deps.diskLow(refusal.disk);
    return { kind: 'refused', status: 507, error: refusal.message };
  }

  /** Takes the session's file (and a video's poster) in, when the payload names one; otherwise the event as it is. */
  private async prepare(
    prepared: Extract<Prepared, { kind: 'ready' }>,
    settings: Settings,
    now: number,
  ): Promise<WithMedia | ApiIngestResult> {
    const file = namesFile(prepared.payload);
    const passThrough: WithMedia = { kind: 'ready', event: prepared.event, links: null, settle: async (result) => result };
    if (file === null) return passThrough;
    const { event } = prepared;
    if (event.dedupeKey !== null) {
      const earlier = this.deps.queue.duplicateOf(event.dedupeKey, now, settings.idempotency_window_ms);
      if (earlier) {
        const links = this.deps.linksOfEvent(earlier.id);
        return { kind: 'duplicate', ...earlier, ...(links === null ? {} : { links }) };
      }
    }
    const storage = this.deps.storage();
    if (storage === null) return fileRefused(NO_STORAGE);

    const sessionId = event.sessionId!;
    // The poster serves only the guest's page: without one it is not taken.
    const posterName = settings.guest_page ? namesPoster(prepared.payload) : null;
    if (posterName !== null && !givesPreview(mediaContentType(posterName.split(FOLDER_SEPARATOR).pop()!) ?? '')) {
      return fileRefused('must be a .jpg, .jpeg, .png, .webp or .gif image', 'poster');
    }
    const main = await this.take(file, sessionId, settings, 'file');
    if (!('taken' in main)) return main;
    const poster = posterName === null ? null : await this.take(posterName, sessionId, settings, 'poster');
    const discard = async () => {
      if (!main.received) await this.deps.intake.discard(main.taken);
      if (poster !== null && 'taken' in poster && !poster.received) await this.deps.intake.discard(poster.taken);
    };
    if (poster !== null && !('taken' in poster)) {
      await discard();
      return poster;
    }

    const taken = main.taken;
    const values = {
      prefix: storage.prefix,
      eventId: prepared.payload.event_id ?? settings.event_id,
      sessionId,
      file: taken.name,
      at: now,
    };
    const key = expandStorageKey(settings.storage_key_template, values);
    const pageKeys = settings.guest_page
      ? guestPageKeys(settings.storage_key_template, values, {
          preview: poster !== null || givesPreview(taken.contentType),
          gallery: settings.event_gallery,
        })
      : null;
    let links: MediaLinks;
    try {
      const directUrl = await objectUrl(storage, key, now);
      links = { directUrl, siteUrl: pageKeys === null ? directUrl : await objectUrl(storage, pageKeys.pageKey, now) };
    } catch (error) {
      await discard();
      throw error;
    }
    const media: NewMedia = {
      ...taken,
      key,
      url: links.directUrl,
      received: main.received,
      page: pageKeys && { ...pageKeys, siteUrl: links.siteUrl },
      poster: poster && { file: poster.taken, received: poster.received },
    };
    return {
      kind: 'ready',
      event: { ...event, body: withMediaUrls(event.body, links), media },
      links,
      settle: async (result) => {
        if (result.kind === 'accepted') return { ...result, links };
        await discard();
        return result;
      },
    };
  }

  /**
   * A file the payload names, taken in: a bare name is one sent with PUT for this session,
   * anything with a folder a path. Or the refusal, under the payload's field.
   */
  private async take(
    named: string,
    sessionId: string,
    settings: Settings,
    field: 'file' | 'poster',
  ): Promise<{ taken: TakenFile; received: boolean } | ApiIngestResult> {
    if (!FOLDER_SEPARATOR.test(named)) {
      const received = this.deps.received(sessionId, named);
      return received === null ? fileRefused('no such file', field) : { taken: received, received: true };
    }
    const result = await this.deps.intake.takePath(named, limitsOf(settings));
    if (result.ok) return { taken: result.file, received: false };
    const disk = this.refused(result);
    return disk ? { kind: 'insufficient-storage', error: disk.error } : fileRefused(result.message, field);
  }
}

/** The media settings as the intake takes them; the hot folder is always one of the roots. */
function limitsOf(settings: Settings): MediaLimits {
  return {
    roots: [...settings.media_roots, ...(settings.hot_folder === null ? [] : [settings.hot_folder])],
    maxMb: settings.media_max_mb,
    minFreeMb: settings.media_min_free_mb,
  };
}

function bodyRefused(message: string): MediaReceipt {
  return { kind: 'refused', status: 400, error: `body: ${message}`, issues: [{ path: 'body', message }] };
}
