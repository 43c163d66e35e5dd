// The media table (migration 140): the files the agent holds for sessions, and where their
// uploads stand. What capture writes with its event is in queue.ts, in the event's transaction;
// the upload lane (media/uploader.ts) claims, records and settles here.
import type { Database } from 'better-sqlite3';
import type { UploadStatus } from '../core/read-model.js';
import type { UploadCounts, UploadView } from '../core/read-model.js';
import type { MediaLinks } from '../core/media.js';
import type { TakenFile } from '../media/intake.js';

/** A file the upload lane works on, with the guest's page that goes up after it. */
export interface Upload {
  id: string;
  sessionId: string;
  localPath: string;
  size: number;
  contentType: string;
  key: string;
  uploadId: string | null;
  partSize: number | null;
  attempts: number;
  /** The file is in the storage already (a stop came before its page): only the page's objects remain. */
  fileDone: boolean;
  /** The file's link, as the webhooks carry it. */
  url: string;
  page: UploadPage | null;
}

/** The guest's page of an upload (migration 160), and what it is made from. */
export interface UploadPage {
  key: string;
  /** The page's own link (site_url). */
  url: string;
  previewKey: string | null;
  /** A video's poster, the preview's source in place of the file. */
  posterPath: string | null;
  galleryKey: string | null;
}

export interface RecordedPart {
  partNumber: number;
  etag: string;
  size: number;
}

/** Which uploads to list: newest first, of one status or of all. */
export interface UploadFilter {
  status?: UploadStatus | undefined;
  limit: number;
}

// Only the files an event named are uploads (one sent with PUT waits for its event first), and
// an erased file is no longer one.
const VIEW_COLUMNS = `id, status, name, session_id AS sessionId, event_id AS eventId, size, bytes_done AS bytesDone, attempts,
  last_error AS lastError, CASE WHEN status = 'waiting' THEN next_attempt_at END AS nextAttemptAt, created_at AS createdAt,
  uploaded_at AS uploadedAt`;

/** An erased file the storage may still hold: its object, an upload that may still be open, and its page and preview. */
export interface OwedDeletion {
  id: string;
  key: string;
  uploadId: string | null;
  pageKey: string | null;
  previewKey: string | null;
}

/** An uploaded session as its event's gallery lists it. */
export interface GallerySession {
  contentType: string;
  /** The session's page. */
  pageUrl: string;
  previewKey: string | null;
}

/** A gallery is built again at most this often while uploads finish (an erase does not wait). */
export const GALLERY_EVERY_MS = 60_000;

export const OWED_COLUMNS = `id, key, upload_id AS uploadId, page_key AS pageKey, preview_key AS previewKey`;

const UPLOAD_COLUMNS = `id, session_id AS sessionId, local_path AS localPath, size, content_type AS contentType, key, upload_id AS uploadId,
  part_size AS partSize, attempts, file_done_at IS NOT NULL AS fileDone, url, page_key AS pageKey, site_url AS siteUrl,
  preview_key AS previewKey, poster_path AS posterPath, gallery_key AS galleryKey`;

interface UploadRow extends Omit<Upload, 'fileDone' | 'page'> {
  fileDone: 0 | 1;
  pageKey: string | null;
  siteUrl: string | null;
  previewKey: string | null;
  posterPath: string | null;
  galleryKey: string | null;
}

function toUpload({ fileDone, pageKey, siteUrl, previewKey, posterPath, galleryKey, ...row }: UploadRow): Upload {
  const page = pageKey === null ? null : { key: pageKey, url: siteUrl ?? row.url, previewKey, posterPath, galleryKey };
  return { ...row, fileDone: fileDone === 1, page };
}

export class MediaStore {
  private readonly s;
  private readonly atomically: <T>(work: () => T) => T;

  constructor(db: Database) {
    const transaction = db.transaction((work: () => unknown) => work());
    this.atomically = <T>(work: () => T) => transaction.immediate(work) as T;
    this.s = {
      received: db.prepare(`
        SELECT id, name, local_path AS localPath, size, sha256, content_type AS contentType FROM media INDEXED BY media_by_session
        WHERE session_id = ? AND name = ? AND event_id IS NULL AND erased_at IS NULL AND local_removed_at IS NULL
        ORDER BY seq DESC LIMIT 1`),
      linksOfEvent: db.prepare(
        `SELECT url AS directUrl, COALESCE(site_url, url) AS siteUrl FROM media WHERE event_id = ? AND url IS NOT NULL`,
      ),
      insertReceived: db.prepare(`
        INSERT INTO media (id, session_id, name, local_path, size, sha256, content_type, status, next_attempt_at, created_at)
        VALUES (@id, @sessionId, @name, @localPath, @size, @sha256, @contentType, 'waiting', @now, @now)`),
      // Only this process uploads (the data folder's lock), so an upload found under way at
      // start was cut short, and is taken up again from its records.
      // One erased meanwhile is not taken up: its deletion from the storage is owed instead.
      resumeCut: db.prepare(
        `UPDATE media SET status = CASE WHEN erased_at IS NULL THEN 'waiting' ELSE 'failed' END WHERE status = 'uploading'`,
      ),
      claim: db.prepare(`
        UPDATE media SET status = 'uploading' WHERE id = (
          SELECT id FROM media INDEXED BY media_due
          WHERE event_id IS NOT NULL AND status = 'waiting' AND next_attempt_at <= ? AND erased_at IS NULL
          ORDER BY next_attempt_at, seq LIMIT 1)
        RETURNING ${UPLOAD_COLUMNS}`),
      nextDue: db
        .prepare(`SELECT MIN(next_attempt_at) FROM media INDEXED BY media_due WHERE event_id IS NOT NULL AND status = 'waiting'`)
        .pluck(),
      begin: db.prepare(`UPDATE media SET upload_id = ?, part_size = ?, bytes_done = 0 WHERE id = ?`),
      forgetParts: db.prepare(`DELETE FROM media_parts WHERE media_id = ?`),
      forgetUpload: db.prepare(`UPDATE media SET upload_id = NULL, part_size = NULL, bytes_done = 0 WHERE id = ?`),
      part: db.prepare(`INSERT OR REPLACE INTO media_parts (media_id, part_number, etag, size) VALUES (?, ?, ?, ?)`),
      progress: db.prepare(
        `UPDATE media SET bytes_done = (SELECT COALESCE(SUM(size), 0) FROM media_parts WHERE media_id = @id) WHERE id = @id`,
      ),
      parts: db.prepare(`SELECT part_number AS partNumber, etag, size FROM media_parts WHERE media_id = ? ORDER BY part_number`),
      // The file itself is in; its multipart records are done with.
      fileDone: db.prepare(`
        UPDATE media SET file_done_at = @now, upload_id = NULL, part_size = NULL, bytes_done = size WHERE id = @id AND erased_at IS NULL`),
      uploaded: db.prepare(`
        UPDATE media SET status = 'uploaded', uploaded_at = @now, file_done_at = COALESCE(file_done_at, @now), upload_id = NULL,
          bytes_done = size, last_error = NULL
        WHERE id = @id AND erased_at IS NULL
        RETURNING gallery_key AS galleryKey`),
      galleryChanged: db.prepare(`
        INSERT INTO galleries (key, changed_at) VALUES (@key, @now)
        ON CONFLICT (key) DO UPDATE SET changed_at = MAX(changed_at, excluded.changed_at)`),
      // The deliveries that waited for the file go in the queue, or wait on with an endpoint
      // that cannot be reached.
      release: db.prepare(`
        UPDATE deliveries INDEXED BY deliveries_by_media SET media_id = NULL, updated_at = @now,
          status = CASE WHEN (SELECT unreachable_since FROM endpoints WHERE id = endpoint_id) IS NULL THEN 'queued' ELSE 'waiting' END,
          next_attempt_at = MAX(next_attempt_at, @now)
        WHERE media_id = @id AND status = 'waiting'`),
      later: db.prepare(`
        UPDATE media SET status = 'waiting', next_attempt_at = @next, last_error = @reason, attempts = attempts + @spent WHERE id = @id`),
      fail: db.prepare(
        `UPDATE media SET status = 'failed', last_error = @reason, attempts = attempts + 1, failed_at = @now WHERE id = @id`,
      ),
      // An uploaded file's copy is kept media_keep_days after its upload; one sent with PUT that
      // no event named as long after it came was never going to be.
      oldCopies: db.prepare(`
        SELECT id, local_path AS localPath FROM media
        WHERE local_removed_at IS NULL AND ((status = 'uploaded' AND uploaded_at < @cutoff) OR (event_id IS NULL AND created_at < @cutoff))`),
      copyRemoved: db.prepare(`UPDATE media SET local_removed_at = ? WHERE id = ?`),
      // The reason it failed for no longer stands once the operator has fixed the storage.
      retry: db.prepare(
        `UPDATE media SET status = 'waiting', attempts = 0, next_attempt_at = @now, last_error = NULL WHERE status = 'failed' AND erased_at IS NULL`,
      ),
      retryOne: db.prepare(`
        UPDATE media SET status = 'waiting', attempts = 0, next_attempt_at = @now, last_error = NULL
        WHERE id = @id AND event_id IS NOT NULL AND status = 'failed' AND erased_at IS NULL`),
      statusOf: db.prepare(`SELECT status FROM media WHERE id = ? AND event_id IS NOT NULL AND erased_at IS NULL`).pluck(),
      list: db.prepare(`SELECT ${VIEW_COLUMNS} FROM media WHERE event_id IS NOT NULL AND erased_at IS NULL ORDER BY seq DESC LIMIT ?`),
      // The files not uploaded are few and found through the index of due work; the uploaded
      // ones are most of the table, so the newest are read in order until there are enough
      // (sorting 100,000 of them took 50 to 60 ms a page, this 0.15 ms).
      listByStatus: db.prepare(
        `SELECT ${VIEW_COLUMNS} FROM media INDEXED BY media_due WHERE event_id IS NOT NULL AND erased_at IS NULL AND status = ? ORDER BY seq DESC LIMIT ?`,
      ),
      listUploaded: db.prepare(
        `SELECT ${VIEW_COLUMNS} FROM media NOT INDEXED WHERE event_id IS NOT NULL AND erased_at IS NULL AND status = 'uploaded' ORDER BY seq DESC LIMIT ?`,
      ),
      // From the index of due work, which leaves the uploaded files (most of them, late in a day) unread.
      counts: db.prepare(`
        SELECT status, COUNT(*) AS n, TOTAL(size) AS bytes, TOTAL(bytes_done) AS bytesDone FROM media INDEXED BY media_due
        WHERE event_id IS NOT NULL AND erased_at IS NULL AND status IN ('waiting', 'uploading', 'failed') GROUP BY status`),
      erased: db.prepare(`SELECT erased_at IS NOT NULL FROM media WHERE id = ?`).pluck(),
      // What a storage still has to do: uploads waiting or under way, and erased files to delete from it.
      storageWork: db.prepare(`
        SELECT COUNT(*) FILTER (WHERE erased_at IS NULL AND status IN ('waiting', 'uploading')) AS uploads,
          COUNT(*) FILTER (WHERE erased_at IS NOT NULL AND key IS NOT NULL) AS deletions
        FROM media INDEXED BY media_due WHERE event_id IS NOT NULL AND status IN ('waiting', 'uploading', 'failed')`),
      storageRemoved: db.prepare(`
        UPDATE media SET status = 'failed', last_error = @reason, failed_at = @now
        WHERE event_id IS NOT NULL AND status = 'waiting' AND erased_at IS NULL`),
      // An upload cut by an erase ends here; what it may have left in the storage is deleted next.
      uploadStopped: db.prepare(`UPDATE media SET status = 'failed', next_attempt_at = ? WHERE id = ? AND status = 'uploading'`),
      // An erased file keeps its key until the storage has deleted it: that is the deletion owed.
      owedDeletions: db.prepare(`
        SELECT ${OWED_COLUMNS} FROM media INDEXED BY media_due
        WHERE event_id IS NOT NULL AND status = 'failed' AND erased_at IS NOT NULL AND key IS NOT NULL AND next_attempt_at <= ?
        ORDER BY next_attempt_at, seq LIMIT 20`),
      deletedFromStorage: db.prepare(
        `UPDATE media SET key = NULL, upload_id = NULL, part_size = NULL, page_key = NULL, preview_key = NULL, last_error = NULL WHERE id = ?`,
      ),
      deletionLater: db.prepare(`UPDATE media SET next_attempt_at = @next, last_error = @reason WHERE id = @id`),
      // A gallery changed since its last build began, and built longer ago than the minute (or never).
      galleriesDue: db
        .prepare(
          `SELECT key FROM galleries WHERE built_at IS NULL OR (changed_at >= built_at AND built_at <= @now - ${GALLERY_EVERY_MS}) ORDER BY key`,
        )
        .pluck(),
      gallerySessions: db.prepare(`
        SELECT content_type AS contentType, site_url AS pageUrl, preview_key AS previewKey
        FROM media INDEXED BY media_by_gallery
        WHERE gallery_key = ? AND status = 'uploaded' AND erased_at IS NULL AND site_url IS NOT NULL ORDER BY seq DESC`),
      galleryBuilt: db.prepare(`UPDATE galleries SET built_at = @at WHERE key = @key`),
    };
  }

  /** The file last sent with PUT for this session under this name that no event has named yet. */
  received(sessionId: string, name: string): TakenFile | null {
    return (this.s.received.get(sessionId, name) as TakenFile | undefined) ?? null;
  }

  /** A file sent with PUT: kept for the session until an event names it. */
  recordReceived(sessionId: string, file: TakenFile, now: number): void {
    this.s.insertReceived.run({ ...file, sessionId, now });
  }

  /** The links of the file an event named, or null when it named none (or they were erased). */
  linksOfEvent(eventId: string): MediaLinks | null {
    return (this.s.linksOfEvent.get(eventId) as MediaLinks | undefined) ?? null;
  }

  resumeCutUploads(): number {
    return this.s.resumeCut.run().changes;
  }

  /** The next file due for upload, now marked as under way; null when none is due. */
  claim(now: number): Upload | null {
    const row = this.s.claim.get(now) as UploadRow | undefined;
    return row ? toUpload(row) : null;
  }

  /** When the next waiting file is due, or null when none waits. */
  nextDueAt(): number | null {
    return (this.s.nextDue.get() as number | null | undefined) ?? null;
  }

  /** A multipart upload begun: its id is on disk before the first part is sent. */
  beginMultipart(id: string, uploadId: string, partSize: number): void {
    this.atomically(() => {
      this.s.forgetParts.run(id);
      this.s.begin.run(uploadId, partSize, id);
    });
  }

  /** The multipart upload was given up (aborted, or forgotten by the storage). */
  forgetMultipart(id: string): void {
    this.atomically(() => {
      this.s.forgetParts.run(id);
      this.s.forgetUpload.run(id);
    });
  }

  recordPart(id: string, part: RecordedPart): void {
    this.atomically(() => {
      this.s.part.run(id, part.partNumber, part.etag, part.size);
      this.s.progress.run({ id });
    });
  }

  parts(id: string): RecordedPart[] {
    return this.s.parts.all(id) as RecordedPart[];
  }

  /** The file itself is in the storage; its page, if it has one, is still to go up. False when it was erased meanwhile. */
  fileDone(id: string, now: number): boolean {
    return this.atomically(() => {
      if (this.s.fileDone.run({ id, now }).changes === 0) return false;
      this.s.forgetParts.run(id);
      return true;
    });
  }

  /**
   * The file and its page are in the storage: its deliveries go out, and the event's gallery,
   * if it lists the session, is to be built again. Returns how many deliveries were released,
   * or null when it was erased meanwhile.
   */
  uploaded(id: string, now: number): number | null {
    return this.atomically(() => {
      const row = this.s.uploaded.get({ id, now }) as { galleryKey: string | null } | undefined;
      if (row === undefined) return null;
      this.s.forgetParts.run(id);
      if (row.galleryKey !== null) this.s.galleryChanged.run({ key: row.galleryKey, now });
      return this.s.release.run({ id, now }).changes;
    });
  }

  /** Tries again at `next`; `spent`: whether this try counts as one of its attempts. */
  later(id: string, next: number, reason: string, spent: boolean): void {
    this.s.later.run({ id, next, reason, spent: spent ? 1 : 0 });
  }

  fail(id: string, reason: string, now: number): void {
    this.s.fail.run({ id, reason, now });
  }

  /** Local copies due for removal: uploaded before `cutoff`, or sent before it and never named. */
  oldCopies(cutoff: number): { id: string; localPath: string }[] {
    return this.s.oldCopies.all({ cutoff }) as { id: string; localPath: string }[];
  }

  copyRemoved(id: string, now: number): void {
    this.s.copyRemoved.run(now, id);
  }

  /** Whether the guest's data was erased meanwhile (an upload under way then stops). */
  erased(id: string): boolean {
    return this.s.erased.get(id) === 1;
  }

  /** The upload of an erased file has stopped: its deletion from the storage is due now. */
  uploadStopped(id: string, now: number): void {
    this.s.uploadStopped.run(now, id);
  }

  /** Erased files whose deletion from the storage is owed and due. */
  owedDeletions(now: number): OwedDeletion[] {
    return this.s.owedDeletions.all(now) as OwedDeletion[];
  }

  deletedFromStorage(id: string): void {
    this.atomically(() => {
      this.s.forgetParts.run(id);
      this.s.deletedFromStorage.run(id);
    });
  }

  /** The storage could not delete the file now: tried again at `next`. */
  deletionLater(id: string, next: number, reason: string): void {
    this.s.deletionLater.run({ id, next, reason });
  }

  /** The galleries to build now: changed since their last build, which was a minute ago or more. */
  galleriesDue(now: number): string[] {
    return this.s.galleriesDue.all({ now }) as string[];
  }

  /** The uploaded sessions a gallery lists, newest first. */
  gallerySessions(key: string): GallerySession[] {
    return this.s.gallerySessions.all(key) as GallerySession[];
  }

  /**
   * A gallery was put in the storage as its sessions stood at `at`, when its build began: a
   * change from then on makes it due again.
   */
  galleryBuilt(key: string, at: number): void {
    this.s.galleryBuilt.run({ key, at });
  }

  /** The uploads a storage still has to take, and the erased files still to be deleted from it. */
  storageWork(): { uploads: number; deletions: number } {
    return this.s.storageWork.get() as { uploads: number; deletions: number };
  }

  /** The storage was removed: the uploads waiting for it fail, to be retried once another is set. Returns how many. */
  failWaiting(reason: string, now: number): number {
    return this.s.storageRemoved.run({ reason, now }).changes;
  }

  /** The operator fixed the storage: every failed upload is tried again now. */
  retryFailed(now: number): number {
    return this.s.retry.run({ now }).changes;
  }

  /** One failed upload tried again now; when it was not failed, where it stands (null: no such upload). */
  retryOne(id: string, now: number): { ok: true } | { ok: false; status: UploadStatus | null } {
    if (this.s.retryOne.run({ id, now }).changes === 1) return { ok: true };
    return { ok: false, status: (this.s.statusOf.get(id) as UploadStatus | undefined) ?? null };
  }

  /** The uploads, newest first. */
  list(filter: UploadFilter): UploadView[] {
    const rows =
      filter.status === undefined
        ? this.s.list.all(filter.limit)
        : filter.status === 'uploaded'
          ? this.s.listUploaded.all(filter.limit)
          : this.s.listByStatus.all(filter.status, filter.limit);
    return rows as UploadView[];
  }

  /** The uploads not done yet: how many wait, run and failed, and the bytes of those to go. */
  counts(): UploadCounts {
    const counts: UploadCounts = { waiting: 0, uploading: 0, failed: 0, bytes: 0, bytesDone: 0 };
    const rows = this.s.counts.all() as { status: 'waiting' | 'uploading' | 'failed'; n: number; bytes: number; bytesDone: number }[];
    for (const row of rows) {
      counts[row.status] = row.n;
      if (row.status === 'failed') continue;
      counts.bytes += row.bytes;
      counts.bytesDone += row.bytesDone;
    }
    return counts;
  }
}
