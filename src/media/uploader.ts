// The upload lane: sessions' files go to the organiser's storage here, beside the delivery
// loop and never in its way, so a large video on a thin uplink holds up no webhook but its own.
// At most two uploads run at once. A file up to 8 MiB goes in one PUT; a larger one in 8 MiB
// parts, its upload id and each finished part recorded as they finish (store/media.ts), so a
// restart, even after a kill or a power cut, resumes at the next part. On taking it up again
// the recorded parts are checked against what the storage lists (ListParts), and an upload the
// storage has forgotten is begun again, unless every part was in and the object is there: then
// the completion went through and only its record was cut. Once a file is in, any upload a cut
// left open under its key (begun, its id never recorded) is aborted. When a file is in, the
// webhooks that waited for it are released in the same transaction, and the delivery loop woken.
// With the guest's page on, the session's page and its preview go up after the file, and the
// webhooks wait for them too, so site_url opens when they arrive. The preview is made while
// the file goes up (sharp works off the main thread), so the page follows the file closely.
// The file's own completion is recorded first: a stop before the page resumes with the page.
// A page template that cannot be used fails the upload in words, as a wrong key does; an image
// sharp cannot read gives a page without preview rather than holding the webhooks.
// The lane also carries out the deletions an erase owes the storage (operations/erase.ts):
// an upload of an erased file stops at its next part and never completes, and what it or an
// earlier upload left in the storage is deleted once the storage answers.
import { open, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Settings } from '../core/settings.js';
import { sessionKind, withoutFileName } from '../core/media.js';
import { uploadProblem } from '../core/upload-outcome.js';
import { contentMd5, type S3 } from '../storage/s3-client.js';
import { abortOpenUploads, deleteStoredFile } from '../storage/delete-object.js';
import { openStorage, type StorageConfig, type StorageSource } from '../storage/config.js';
import { objectUrl } from '../storage/object-url.js';
import type { MediaStore, RecordedPart, Upload, UploadPage } from '../store/media.js';
import type { Preview } from '../guest/preview.js';
import { Throttle } from './throttle.js';

export const PART_BYTES = 8 * 1024 * 1024;
const MAX_AT_ONCE = 2;
/** An object's bytes never change under its key (the key names the session and the file). */
const CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** A page is made again when the operator fixes a template and retries: a cache keeps it briefly. */
const PAGE_CACHE_CONTROL = 'public, max-age=300';
/** A gallery changes as sessions are added and erased: a cache may keep it a minute, as long as it is not rebuilt. */
const GALLERY_CACHE_CONTROL = 'public, max-age=60';
/**
 * The lane looks for due work at least this often, whatever it was told: an operator's retry
 * from the command line is another process, and one indexed query every two seconds costs nothing.
 */
const LOOK_AT_LEAST_EVERY_MS = 2_000;

export interface UploaderDeps {
  media: MediaStore;
  storage: StorageSource;
  settings: () => Readonly<Settings>;
  log: Logger;
  /** A file is in and its webhooks were released: the delivery loop has work. */
  released: () => void;
  now?: () => number;
}

/** The local copy could not be read: no storage will change that. */
class LocalCopyError extends Error {
  constructor(cause: unknown) {
    super(`the local copy of the file cannot be read (${(cause as { code?: string }).code ?? String(cause)})`, { cause });
  }
}

/** The page template cannot be used: the operator must fix it, then retry. */
class PageRefusedError extends Error {}

/** The guest's data was erased while their file was being uploaded. */
class ErasedError extends Error {
  constructor() {
    super('the file was erased while it was being uploaded');
  }
}

export class Uploader {
  private running = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  /** Consecutive uploads that found the storage unreachable: the wait before the next grows with it. */
  private offlineStreak = 0;
  /** The side work under way now (owed deletions, galleries): one round of each at a time. */
  private readonly rounds = new Set<'deletions' | 'galleries'>();
  private client: { config: string; s3: Promise<S3> } | null = null;
  private readonly now: () => number;
  private readonly throttle: Throttle;

  constructor(private readonly deps: UploaderDeps) {
    this.now = deps.now ?? Date.now;
    this.throttle = new Throttle(() => deps.settings().upload_max_kbps);
  }

  start(): void {
    const resumed = this.deps.media.resumeCutUploads();
    if (resumed > 0) this.deps.log.info({ resumed }, 'taking up uploads cut short by the last stop');
    this.wake();
  }

  /** Something may be due: a capture with media, the operator's retry. */
  wake(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.running < MAX_AT_ONCE) {
      const upload = this.deps.media.claim(this.now());
      if (!upload) break;
      this.running++;
      const done: Promise<void> = this.upload(upload).finally(() => {
        this.running--;
        this.inFlight.delete(done);
        this.wake();
      });
      this.inFlight.add(done);
    }
    this.round('deletions', () => this.deleteOwed());
    this.round('galleries', () => this.buildGalleries());
    if (this.running >= MAX_AT_ONCE) return;
    const next = this.deps.media.nextDueAt();
    const wait = next === null ? LOOK_AT_LEAST_EVERY_MS : Math.min(LOOK_AT_LEAST_EVERY_MS, Math.max(0, next - this.now()));
    this.timer = setTimeout(() => this.wake(), wait);
    this.timer.unref();
  }

  /** Starts a round of side work, unless one of its kind is still under way. */
  private round(kind: 'deletions' | 'galleries', work: () => Promise<void>): void {
    if (this.rounds.has(kind)) return;
    this.rounds.add(kind);
    const done: Promise<void> = work().finally(() => {
      this.rounds.delete(kind);
      this.inFlight.delete(done);
    });
    this.inFlight.add(done);
  }

  /** Stops taking work and cuts what runs; a cut upload is taken up at the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
    if (this.client) (await this.client.s3.catch(() => null))?.client.destroy();
  }

  private async upload(upload: Upload): Promise<void> {
    const storage = this.deps.storage();
    if (storage === null) {
      this.failed(upload, 'no storage is set: set one (booth-agent storage set), then retry the uploads');
      return;
    }
    // Made while the file goes up; awaited however the upload ends, so a stop waits for it too.
    const preview = upload.page?.previewKey ? this.preview(upload, upload.page) : null;
    try {
      const s3 = await this.s3(storage);
      if (!upload.fileDone) {
        if (upload.size <= PART_BYTES) await this.putWhole(s3, storage, upload);
        else await this.putParts(s3, storage, upload);
        if (this.stopped) return;
        if (!this.deps.media.fileDone(upload.id, this.now())) throw new ErasedError();
      }
      if (upload.page) {
        await this.putPage(s3, storage, upload, upload.page, await preview);
        if (this.stopped) return;
      }
      const released = this.deps.media.uploaded(upload.id, this.now());
      if (released === null) throw new ErasedError();
      this.offlineStreak = 0;
      this.deps.log.info({ media: upload.id, bytes: upload.size, page: upload.page !== null, released }, 'uploaded');
      this.deps.released();
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof ErasedError || this.deps.media.erased(upload.id)) {
        this.deps.media.uploadStopped(upload.id, this.now());
        this.deps.log.info({ media: upload.id }, 'upload stopped: the file was erased');
        return;
      }
      this.settleFailure(upload, error);
    } finally {
      await preview;
    }
  }

  private settleFailure(upload: Upload, error: unknown): void {
    if (error instanceof LocalCopyError || error instanceof PageRefusedError) {
      this.failed(upload, error.message);
      return;
    }
    const problem = uploadProblem(error);
    const settings = this.deps.settings();
    const now = this.now();
    switch (problem.kind) {
      case 'offline': {
        // Like an endpoint that cannot be reached: nothing is known of the storage, so no attempt is spent.
        const wait = Math.min(settings.offline_check_max_ms, settings.offline_check_min_ms * 2 ** Math.min(this.offlineStreak, 20));
        this.offlineStreak++;
        this.deps.media.later(upload.id, now + wait, problem.reason, false);
        break;
      }
      case 'busy': {
        const wait = Math.min(settings.offline_check_max_ms, settings.retry_delay_ms * 2 ** Math.min(upload.attempts, 20));
        this.deps.media.later(upload.id, now + wait, problem.reason, true);
        break;
      }
      case 'restart':
        this.deps.media.forgetMultipart(upload.id);
        this.deps.media.later(upload.id, now, problem.reason, false);
        break;
      case 'refused':
        this.failed(upload, problem.reason);
        return;
    }
    this.deps.log.warn({ media: upload.id, reason: problem.reason }, 'upload put off');
  }

  private failed(upload: Upload, reason: string): void {
    this.deps.media.fail(upload.id, reason, this.now());
    this.deps.log.error({ media: upload.id, reason }, 'upload failed');
  }

  /** One client for the storage as it is set now; a changed setting makes a new one. */
  private s3(storage: StorageConfig): Promise<S3> {
    const config = JSON.stringify(storage);
    if (this.client?.config !== config) {
      this.client?.s3.then((old) => old.client.destroy()).catch(() => undefined);
      this.client = { config, s3: openStorage(storage, this.deps.settings()) };
    }
    return this.client.s3;
  }

  private async putWhole(s3: S3, storage: StorageConfig, upload: Upload): Promise<void> {
    const body = await readFile(upload.localPath).catch((error: unknown) => {
      throw new LocalCopyError(error);
    });
    await this.put(s3, storage, { key: upload.key, body, contentType: upload.contentType, cacheControl: CACHE_CONTROL });
  }

  /** One object in one request, checked by the storage against its MD5. */
  private async put(
    s3: S3,
    storage: StorageConfig,
    object: { key: string; body: Buffer; contentType: string; cacheControl: string },
  ): Promise<void> {
    await s3.client.send(
      new s3.sdk.PutObjectCommand({
        Bucket: storage.bucket,
        Key: object.key,
        Body: this.throttle.body(object.body, this.abort.signal),
        ContentLength: object.body.length,
        ContentType: object.contentType,
        CacheControl: object.cacheControl,
        ContentMD5: contentMd5(object.body),
      }),
      { abortSignal: this.abort.signal },
    );
  }

  /** The preview of the session's still (or a video's poster); null, logged, when sharp cannot read it. */
  private async preview(upload: Upload, page: UploadPage): Promise<Preview | null> {
    const source = page.posterPath ?? upload.localPath;
    try {
      const { makePreview } = await import('../guest/preview.js');
      return await makePreview(source);
    } catch (error) {
      // sharp names the file it could not read, and a file's name may hold a guest's (core/media.ts, fileRef).
      const reason = withoutFileName(error instanceof Error ? error.message : String(error), source, 'the file');
      if (!this.stopped) this.deps.log.warn({ media: upload.id, reason }, 'page without preview');
      return null;
    }
  }

  /** The session's page, rendered and checked before anything of it goes up, then its preview and the page itself. */
  private async putPage(s3: S3, storage: StorageConfig, upload: Upload, page: UploadPage, preview: Preview | null): Promise<void> {
    const settings = this.deps.settings();
    const withPreview = preview !== null && page.previewKey !== null ? { key: page.previewKey, ...preview } : null;
    const { renderPage } = await import('../guest/page.js');
    const rendered = await renderPage(settings.guest_page_template, {
      sessionId: upload.sessionId,
      contentType: upload.contentType,
      mediaUrl: upload.url,
      pageUrl: page.url,
      preview: withPreview && {
        url: await objectUrl(storage, withPreview.key, this.now()),
        width: withPreview.width,
        height: withPreview.height,
      },
      eventName: settings.event_name,
    });
    if (!rendered.ok) throw new PageRefusedError(rendered.reason);
    if (this.deps.media.erased(upload.id)) throw new ErasedError();
    if (withPreview) {
      await this.put(s3, storage, { key: withPreview.key, body: withPreview.body, contentType: 'image/jpeg', cacheControl: CACHE_CONTROL });
    }
    const html = Buffer.from(rendered.html, 'utf8');
    await this.put(s3, storage, { key: page.key, body: html, contentType: 'text/html; charset=utf-8', cacheControl: PAGE_CACHE_CONTROL });
  }

  private async putParts(s3: S3, storage: StorageConfig, upload: Upload): Promise<void> {
    const signal = { abortSignal: this.abort.signal };
    const target = { Bucket: storage.bucket, Key: upload.key };
    let uploadId = upload.uploadId;
    const partSize = upload.partSize ?? PART_BYTES;
    const count = Math.ceil(upload.size / partSize);
    const done = new Map<number, RecordedPart>();
    if (uploadId !== null) {
      const recorded = this.deps.media.parts(upload.id);
      // Every part was in, so the completion was sent, and it may have gone through just before a cut.
      const listed = await this.listParts(s3, target, uploadId).catch((error: unknown) =>
        recorded.length === count ? this.completedBefore(s3, target, upload, error) : Promise.reject(error),
      );
      if (listed === null) return this.abortStrays(s3, target, upload);
      // A part recorded and listed with the same ETag is in; one recorded but not listed is sent again.
      for (const part of recorded) {
        if (listed.get(part.partNumber) === part.etag) done.set(part.partNumber, part);
      }
    } else {
      const created = await s3.client.send(
        new s3.sdk.CreateMultipartUploadCommand({ ...target, ContentType: upload.contentType, CacheControl: CACHE_CONTROL }),
        signal,
      );
      uploadId = created.UploadId!;
      this.deps.media.beginMultipart(upload.id, uploadId, partSize);
    }
    const file = await open(upload.localPath, 'r').catch((error: unknown) => {
      throw new LocalCopyError(error);
    });
    try {
      for (let partNumber = 1; partNumber <= count; partNumber++) {
        if (done.has(partNumber)) continue;
        if (this.deps.media.erased(upload.id)) throw new ErasedError();
        const length = Math.min(partSize, upload.size - (partNumber - 1) * partSize);
        const body = Buffer.allocUnsafe(length);
        const { bytesRead } = await file.read(body, 0, length, (partNumber - 1) * partSize).catch((error: unknown) => {
          throw new LocalCopyError(error);
        });
        if (bytesRead !== length) throw new LocalCopyError(new Error('the local copy is shorter than recorded'));
        const sent = await s3.client.send(
          new s3.sdk.UploadPartCommand({
            ...target,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: this.throttle.body(body, this.abort.signal),
            ContentLength: length,
            ContentMD5: contentMd5(body),
          }),
          signal,
        );
        const part = { partNumber, etag: sent.ETag!, size: length };
        this.deps.media.recordPart(upload.id, part);
        done.set(partNumber, part);
      }
    } finally {
      await file.close();
    }
    if (this.deps.media.erased(upload.id)) throw new ErasedError();
    const parts = [...done.values()].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ PartNumber: p.partNumber, ETag: p.etag }));
    await s3.client
      .send(new s3.sdk.CompleteMultipartUploadCommand({ ...target, UploadId: uploadId, MultipartUpload: { Parts: parts } }), signal)
      // A completion that went through after its answer timed out leaves nothing to complete when it is sent again.
      .catch((error: unknown) => this.completedBefore(s3, target, upload, error));
    await this.abortStrays(s3, target, upload);
  }

  /**
   * Resolves null when the storage, having forgotten the upload (NoSuchUpload), holds the whole file
   * under its key: an earlier completion went through without the agent hearing of it (a cut, or an
   * answer that timed out). Otherwise fails with `error`.
   */
  private async completedBefore(s3: S3, target: { Bucket: string; Key: string }, upload: Upload, error: unknown): Promise<null> {
    if (uploadProblem(error).kind === 'restart' && (await this.holds(s3, target, upload.size))) return null;
    throw error;
  }

  /** Whether the storage holds an object of `size` bytes under the key: a key names one session's file. */
  private async holds(s3: S3, target: { Bucket: string; Key: string }, size: number): Promise<boolean> {
    try {
      const head = await s3.client.send(new s3.sdk.HeadObjectCommand(target), { abortSignal: this.abort.signal });
      return head.ContentLength === size;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw error;
    }
  }

  /**
   * Aborts the uploads a cut left open under the file's key, now that the file is in. The file is
   * in whatever this finds: a storage that does not answer now leaves them to its lifecycle rule.
   */
  private async abortStrays(s3: S3, target: { Bucket: string; Key: string }, upload: Upload): Promise<void> {
    try {
      await abortOpenUploads(s3, target.Bucket, { key: target.Key, uploadId: null }, this.abort.signal);
    } catch (error) {
      if (this.stopped) return;
      this.deps.log.warn(
        { media: upload.id, reason: uploadProblem(error).reason },
        'uploads left open under the file could not be aborted',
      );
    }
  }

  /**
   * Deletes from the storage the erased files it may still hold. With no storage set they stay
   * owed; one the storage cannot delete now is tried again later, like an upload put off.
   */
  private async deleteOwed(): Promise<void> {
    const storage = this.deps.storage();
    if (storage === null) return;
    const owed = this.deps.media.owedDeletions(this.now());
    if (owed.length === 0) return;
    const s3 = await this.s3(storage);
    for (const file of owed) {
      if (this.stopped) return;
      try {
        await deleteStoredFile(s3, storage.bucket, file, this.abort.signal);
        this.deps.media.deletedFromStorage(file.id);
        this.deps.log.info({ media: file.id }, 'erased file deleted from the storage');
      } catch (error) {
        if (this.stopped) return;
        const { reason } = uploadProblem(error);
        const settings = this.deps.settings();
        this.deps.media.deletionLater(file.id, this.now() + settings.offline_check_max_ms, reason);
        this.deps.log.warn({ media: file.id, reason }, 'deletion of an erased file from the storage put off');
        return;
      }
    }
  }

  /**
   * Builds the event galleries that changed (an upload finished, a session was erased), each at
   * most once a minute while uploads finish. A gallery the storage cannot take now stays due and
   * is built at a later round; the webhooks never wait for it.
   */
  private async buildGalleries(): Promise<void> {
    const storage = this.deps.storage();
    if (storage === null) return;
    const due = this.deps.media.galleriesDue(this.now());
    if (due.length === 0) return;
    const s3 = await this.s3(storage);
    const { renderGallery } = await import('../guest/gallery.js');
    for (const key of due) {
      if (this.stopped) return;
      const at = this.now();
      try {
        const sessions = this.deps.media.gallerySessions(key);
        const entries = await Promise.all(
          sessions.map(async (session) => ({
            pageUrl: session.pageUrl,
            previewUrl: session.previewKey === null ? null : await objectUrl(storage, session.previewKey, at),
            kind: sessionKind(session.contentType),
          })),
        );
        const html = await renderGallery({ eventName: this.deps.settings().event_name, entries });
        await this.put(s3, storage, {
          key,
          body: Buffer.from(html, 'utf8'),
          contentType: 'text/html; charset=utf-8',
          cacheControl: GALLERY_CACHE_CONTROL,
        });
        this.deps.media.galleryBuilt(key, at);
        this.deps.log.info({ gallery: key, sessions: sessions.length }, 'gallery built');
      } catch (error) {
        if (this.stopped) return;
        this.deps.log.warn({ gallery: key, reason: uploadProblem(error).reason }, 'gallery put off');
        return;
      }
    }
  }

  /** The parts the storage holds for an upload, by number, with their ETags. */
  private async listParts(s3: S3, target: { Bucket: string; Key: string }, uploadId: string): Promise<Map<number, string>> {
    const listed = new Map<number, string>();
    let marker: string | undefined;
    for (let page = 0; page < 100; page++) {
      const answer = await s3.client.send(
        new s3.sdk.ListPartsCommand({ ...target, UploadId: uploadId, ...(marker ? { PartNumberMarker: marker } : {}) }),
        { abortSignal: this.abort.signal },
      );
      for (const part of answer.Parts ?? []) listed.set(part.PartNumber!, part.ETag!);
      if (!answer.IsTruncated) break;
      marker = answer.NextPartNumberMarker;
    }
    return listed;
  }
}
