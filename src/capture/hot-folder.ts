// The hot folder (docs/capture-api.md, "The hot folder"): a booth program saves each finished session into a
// folder; every media file becomes a `session` event once its size has settled. A JSON
// sidecar (photo.jpg.json) adds or overrides fields, or is itself a whole payload of
// another type. A file is taken once by its content (sha256), so restarts and renames never
// send it twice; a file with the content of one taken before is listed with the reason, and
// logged. The files already there when a folder is first watched are not sent unless the
// operator asks (hot_folder_import_existing): the folder is listed when it is first watched,
// before the capture server answers, and the files of that list are the ones already there.
// The logs name a file by its content's hash and its extension (core/media.ts fileRef), never
// by its name, which can hold a guest's.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from 'better-sqlite3';
import type { FSWatcher } from 'chokidar';
import { fileRef, sessionTypeOfFile, withoutFileName } from '../core/media.js';
import type { HotFolderFile } from '../core/read-model.js';
import type { Settings } from '../core/settings.js';
import type { ApiIngestResult, BoothCaptureDeps } from './ingest.js';
import { boothSessionId, sessionPayload } from './session-payload.js';

export interface HotFolderOptions {
  folder: string;
  settleMs: number;
  polling: boolean;
  importExisting: boolean;
}

/** The files the hot folder has seen, newest first: those taken and the repeats not sent. */
export function hotFolderFiles(db: Database, options: { limit: number }): HotFolderFile[] {
  const rows = db
    .prepare(
      `SELECT path, hash, taken_at AS seen_at, outcome, event_id, sent FROM hot_folder_files
       UNION ALL
       SELECT s.path, hash, s.seen_at, s.outcome, f.event_id, 0 FROM hot_folder_skipped s JOIN hot_folder_files f USING (hash)
       ORDER BY seen_at DESC, path
       LIMIT ?`,
    )
    .all(options.limit) as { path: string; hash: string; seen_at: number; outcome: string; event_id: string | null; sent: number }[];
  return rows.map((r) => ({
    path: r.path,
    ref: fileRef(r.hash, r.path),
    seenAt: r.seen_at,
    outcome: r.outcome,
    eventId: r.event_id,
    sent: r.sent === 1,
  }));
}

/** What names a guest, for the erase: the events erased, any text that names them, and any file's path. */
export interface GuestRecords {
  eventIds: ReadonlySet<string>;
  mentions: (text: string) => boolean;
  namesFile: (path: string) => boolean;
}

/**
 * Erases what the hot folder's records say of a guest: the files that became their events,
 * or whose path or outcome names them. A file's content hash stays (its path and outcome
 * go), so the file is never taken again; the list of repeats drops them. Returns how many
 * records named the guest (with `dryRun`, changing nothing).
 */
export function eraseHotFolderRecords(db: Database, guest: GuestRecords, dryRun: boolean): number {
  const files = (db.prepare(`SELECT hash, path, event_id, outcome FROM hot_folder_files`).all() as HotFolderRow[]).filter(
    (f) => (f.event_id !== null && guest.eventIds.has(f.event_id)) || guest.namesFile(f.path) || guest.mentions(f.outcome),
  );
  const hashes = new Set(files.map((f) => f.hash));
  const skipped = (db.prepare(`SELECT hash, path, outcome FROM hot_folder_skipped`).all() as Omit<HotFolderRow, 'event_id'>[]).filter(
    (s) => hashes.has(s.hash) || guest.namesFile(s.path) || guest.mentions(s.outcome),
  );
  if (!dryRun) {
    const scrub = db.prepare(`UPDATE hot_folder_files SET path = '(erased)', outcome = 'erased at the guest''s request' WHERE hash = ?`);
    const forget = db.prepare(`DELETE FROM hot_folder_skipped WHERE hash = ? AND path = ?`);
    for (const f of files) scrub.run(f.hash);
    for (const s of skipped) forget.run(s.hash, s.path);
  }
  return files.length + skipped.length;
}

interface HotFolderRow {
  hash: string;
  path: string;
  event_id: string | null;
  outcome: string;
}

/**
 * A JSON parser's complaint without the text it quotes (V8 quotes the text around the
 * error, which in a sidecar can be a guest's address).
 */
function jsonProblem(error: unknown): string {
  return (error as Error).message.replace(/,\s*(\.\.\.)?".*$/s, '');
}

/**
 * An error as the log may hold it. A file system error's message quotes the path, and so the
 * file's name: its code and the call that failed say what went wrong without it. Any other
 * error keeps its message, with the file's path and name left out.
 */
function loggableError(error: unknown, path: string | null): string {
  const { code, syscall } = error as Partial<NodeJS.ErrnoException>;
  if (typeof code === 'string') return syscall ? `${code} (${syscall})` : code;
  const message = error instanceof Error ? error.message : String(error);
  return path === null ? message : withoutFileName(message, path, 'the file');
}

const OTHER_TYPES = new Set(['share', 'survey', 'competition_win']);

const ALREADY_THERE = 'already in the folder when it was first watched: not sent';

/** chokidar's polling interval, and how long after 'ready' the folder is looked at again. */
const POLL_MS = 1000;

/** How often a settling file's size is checked, by chokidar's awaitWriteFinish and by `settle`. */
const settlePollMs = (settleMs: number) => Math.min(250, Math.max(50, settleMs / 4));

interface Watch {
  folder: string;
  settleMs: number;
  watcher: FSWatcher;
  stopping: AbortController;
  /** The files chokidar has reported since this watch began. */
  reported: Set<string>;
}

export class HotFolder {
  private readonly s;
  private watch: Watch | null = null;
  private readonly pending = new Set<Promise<void>>();
  /** Files being settled or taken, by path: the watcher and the rescan can both find one. */
  private readonly inProgress = new Set<string>();
  /** Contents being captured, by hash: a copy of a file under way waits for its row, and is then a repeat. */
  private readonly capturing = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly deps: BoothCaptureDeps,
  ) {
    this.s = {
      folder: db.prepare(`SELECT first_watched_at FROM hot_folders WHERE folder = ?`),
      addFolder: db.prepare(`INSERT INTO hot_folders (folder, first_watched_at) VALUES (?, ?)`),
      existing: db.prepare(`SELECT size, mtime_ms FROM hot_folder_existing WHERE folder = ? AND name = ?`),
      existingNames: db.prepare(`SELECT name FROM hot_folder_existing WHERE folder = ?`).pluck(),
      addExisting: db.prepare(`INSERT INTO hot_folder_existing (folder, name, size, mtime_ms) VALUES (?, ?, ?, ?)`),
      forgetExisting: db.prepare(`DELETE FROM hot_folder_existing WHERE folder = ? AND name = ?`),
      taken: db.prepare(`SELECT path, event_id, outcome FROM hot_folder_files WHERE hash = ?`),
      take: db.prepare(`INSERT INTO hot_folder_files (hash, path, taken_at, event_id, outcome, sent) VALUES (?, ?, ?, ?, ?, ?)`),
      skip: db.prepare(`INSERT OR IGNORE INTO hot_folder_skipped (path, hash, seen_at, outcome) VALUES (?, ?, ?, ?)`),
    };
  }

  /**
   * The first time a folder is watched, records it, and unless the operator asked for them to
   * be sent, the media files it holds now: those are the files already there, whenever the
   * watcher reports them. Synchronous, so that the agent can do it before its capture server
   * answers; a folder watched before is left as it is.
   */
  firstLook(options: Pick<HotFolderOptions, 'folder' | 'importExisting'>): void {
    const folder = resolve(options.folder);
    if (this.s.folder.get(folder) !== undefined) return;
    const files = options.importExisting ? [] : mediaFilesIn(folder);
    const now = (this.deps.now ?? Date.now)();
    this.db
      .transaction(() => {
        this.s.addFolder.run(folder, now);
        for (const file of files) this.s.addExisting.run(folder, file.name, file.size, file.mtimeMs);
      })
      .immediate();
  }

  /** Starts watching; resolves once the files already there have been seen. */
  async start(options: HotFolderOptions): Promise<void> {
    this.firstLook(options);
    const folder = resolve(options.folder);
    let ready = false;
    // Loaded only for a booth that uses a hot folder.
    const { watch } = await import('chokidar');
    const watcher = watch(folder, {
      depth: 0,
      persistent: true,
      usePolling: options.polling,
      interval: POLL_MS,
      awaitWriteFinish: { stabilityThreshold: options.settleMs, pollInterval: settlePollMs(options.settleMs) },
      ignored: (path, stats) => Boolean(stats?.isFile()) && sessionTypeOfFile(path) === null,
    });
    const current: Watch = { folder, settleMs: options.settleMs, watcher, stopping: new AbortController(), reported: new Set() };
    this.watch = current;
    watcher.on('add', (path) => {
      current.reported.add(path);
      // chokidar awaits a write's finish only after 'ready': the files of its first scan are
      // reported at once, possibly still being written.
      this.handle(current, path, { settle: !ready });
    });
    watcher.on('error', (error) => this.deps.log.error({ folder, error: loggableError(error, null) }, 'hot folder: watching failed'));
    await new Promise<void>((resolveReady) => watcher.once('ready', () => resolveReady()));
    ready = true;
    const alreadyThere = this.s.existingNames.all(folder).length;
    this.deps.log.info({ folder, polling: options.polling, alreadyThere }, 'hot folder watched');
    this.track(this.rescan(current), folder, null, 'hot folder: could not look at the folder again');
  }

  async stop(): Promise<void> {
    this.watch?.stopping.abort();
    await this.watch?.watcher.close();
    this.watch = null;
    await Promise.all(this.pending);
  }

  /**
   * chokidar reads the folder, then starts watching it: a file written in between is not
   * reported until something else changes in the folder. With polling the gap lasts until
   * the folder's first stat, taken in the background. One poll interval after 'ready' that
   * stat has been taken, so one more look then finds whatever the watcher missed. The files
   * of the first listing that are no longer there go from it: nothing is left to take.
   */
  private async rescan(w: Watch): Promise<void> {
    if (!(await pause(POLL_MS, w.stopping.signal))) return;
    const names = (await readdir(w.folder, { withFileTypes: true })).filter(isMediaFile).map((entry) => entry.name);
    const present = new Set(names);
    const gone = (this.s.existingNames.all(w.folder) as string[]).filter((name) => !present.has(name));
    if (gone.length > 0) this.db.transaction(() => gone.forEach((name) => this.s.forgetExisting.run(w.folder, name))).immediate();
    const found = names.map((name) => join(w.folder, name)).filter((path) => !w.reported.has(path) && !this.inProgress.has(path));
    this.deps.log.info({ folder: w.folder, found: found.length }, 'hot folder: looked again for files written as watching began');
    for (const path of found) this.handle(w, path, { settle: true });
  }

  /** Settles (if asked) and takes one file, unless it is being settled or taken already. */
  private handle(w: Watch, path: string, how: { settle: boolean }): void {
    if (this.inProgress.has(path)) return;
    this.inProgress.add(path);
    const work = (async () => {
      if (how.settle && (await settle(path, w.settleMs, w.stopping.signal)) !== 'settled') return;
      await this.take(w, path);
    })().finally(() => this.inProgress.delete(path));
    this.track(work, w.folder, path, 'hot folder: could not take a file');
  }

  /** Logs a failure of `work` (about the file `path`, if one) with the folder, never the file's name. */
  private track(work: Promise<void>, folder: string, path: string | null, failure: string): void {
    const done = work.catch((error: unknown) => this.deps.log.error({ folder, error: loggableError(error, path) }, failure));
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /** Takes one settled media file, once. */
  private async take(w: Watch, path: string): Promise<void> {
    const type = sessionTypeOfFile(path);
    if (type === null) return;
    const found = await stat(path);
    const hash = await sha256(path);
    // From here to the capture nothing is awaited, and the content is marked as being captured
    // until its row is written, so two files with one content cannot both find it untaken.
    if (this.capturing.has(hash)) return;
    const now = (this.deps.now ?? Date.now)();
    const name = basename(path);
    const listed = this.s.existing.get(w.folder, name) as { size: number; mtime_ms: number } | undefined;
    // Once a file is taken its hash keeps it from being sent again, and the first listing's
    // row for its name goes, in the same transaction. A row that no longer matches was for
    // another file, gone since.
    const record = (write: () => void) => {
      if (!listed) return write();
      this.db
        .transaction(() => {
          write();
          this.s.forgetExisting.run(w.folder, name);
        })
        .immediate();
    };
    const earlier = this.s.taken.get(hash) as { path: string; event_id: string | null; outcome: string } | undefined;
    if (earlier) {
      // The same file seen again (a restart; the watcher and the rescan both) is no news.
      record(() => {
        if (earlier.path !== path) this.skipRepeat(path, hash, earlier, now);
      });
      return;
    }
    if (listed && listed.size === found.size && listed.mtime_ms === found.mtimeMs) {
      record(() => this.s.take.run(hash, path, now, null, ALREADY_THERE, 0));
      return;
    }
    const settings = this.deps.settings();
    const ref = fileRef(hash, path);
    const built = this.payloadFor(path, type, hash, settings, this.deps.storageSet());
    if (!built.ok) {
      record(() => this.s.take.run(hash, path, now, null, `not sent: ${built.reason}`, 0));
      this.deps.log.warn({ file: ref, reason: withoutFileName(built.reason, path, ref) }, 'hot folder: file not sent');
      return;
    }
    this.capturing.add(hash);
    let result: ApiIngestResult;
    try {
      result = await this.deps.capture(Buffer.from(JSON.stringify(built.payload)));
    } finally {
      this.capturing.delete(hash);
    }
    if (result.kind === 'unavailable' || result.kind === 'insufficient-storage') {
      // The disk refused the event or its copy: leave the file untaken, to be taken at the next start.
      this.deps.log.error({ file: ref, reason: result.error }, 'hot folder: file not captured');
      return;
    }
    const outcome =
      result.kind === 'invalid'
        ? `not sent: ${result.issues.map((i) => `${i.path || 'payload'} ${i.message}`).join('; ')}`
        : result.kind === 'duplicate'
          ? `already captured as ${result.id}`
          : `sent as ${result.id}`;
    record(() =>
      this.s.take.run(hash, path, now, result.kind === 'invalid' ? null : result.id, outcome, result.kind === 'accepted' ? 1 : 0),
    );
    this.deps.log[result.kind === 'invalid' ? 'warn' : 'info']({ file: ref, outcome }, 'hot folder: file taken');
  }

  /** A copy of a file taken before, or that file renamed: listed and logged once, never sent. */
  private skipRepeat(path: string, hash: string, earlier: { path: string; event_id: string | null; outcome: string }, now: number): void {
    const outcome =
      earlier.event_id === null
        ? `same content as ${earlier.path} (${earlier.outcome}): not sent`
        : `same content as ${earlier.path}, already sent as ${earlier.event_id}: not sent again`;
    if (this.s.skip.run(path, hash, now, outcome).changes === 0) return;
    this.deps.log.warn(
      { file: fileRef(hash, path), sameAs: fileRef(hash, earlier.path), event: earlier.event_id },
      'hot folder: file not sent, its content was taken before',
    );
  }

  private payloadFor(
    path: string,
    type: NonNullable<ReturnType<typeof sessionTypeOfFile>>,
    hash: string,
    settings: Settings,
    storageSet: boolean,
  ): { ok: true; payload: Record<string, unknown> } | { ok: false; reason: string } {
    const sidecarFile = `${path}.json`;
    let sidecar: Record<string, unknown> = {};
    if (existsSync(sidecarFile)) {
      try {
        const parsed: unknown = JSON.parse(readFileSync(sidecarFile, 'utf8'));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          return { ok: false, reason: `${sidecarFile} is not a JSON object` };
        sidecar = parsed as Record<string, unknown>;
      } catch (error) {
        return { ok: false, reason: `${sidecarFile} is not valid JSON: ${jsonProblem(error)}` };
      }
    }
    const sidecarSession = (sidecar.session ?? {}) as Record<string, unknown>;
    const sessionId = typeof sidecarSession.id === 'string' ? sidecarSession.id : boothSessionId(settings, hash.slice(0, 16));
    // URLs in the sidecar are the booth's own, and a payload of another type carries its
    // session's URLs: then the file is not uploaded.
    const urls = typeof sidecarSession.direct_url === 'string' && typeof sidecarSession.site_url === 'string';
    const otherType = typeof sidecar.type === 'string' && OTHER_TYPES.has(sidecar.type);
    const upload = storageSet && !urls && !otherType ? path : null;
    const made = sessionPayload({ sessionId, type, file: basename(path), upload, uploadUrl: null, at: statSync(path).mtimeMs }, settings);
    if (!made.ok && !urls) return made;
    const base: Record<string, unknown> = made.ok
      ? made.payload
      : { type: 'session', timestamp: new Date(statSync(path).mtimeMs).toISOString(), session: { id: sessionId, type } };
    if (otherType) {
      // A whole payload of another type: the file's session fills in what it leaves out.
      return { ok: true, payload: { ...sidecar, session: { ...(base.session as object), ...sidecarSession } } };
    }
    return { ok: true, payload: merge(base, sidecar) };
  }
}

/** Sidecar fields over the file's payload, objects merged, everything else replaced. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

const isMediaFile = (entry: Dirent) => entry.isFile() && sessionTypeOfFile(entry.name) !== null;

/**
 * The media files in a folder, with what tells each from a different file saved later under
 * its name. A folder that does not exist yet holds none: whatever appears in it is new.
 */
function mediaFilesIn(folder: string): { name: string; size: number; mtimeMs: number }[] {
  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries.filter(isMediaFile).flatMap((entry) => {
    const stats = statSync(join(folder, entry.name), { throwIfNoEntry: false });
    return stats ? [{ name: entry.name, size: stats.size, mtimeMs: stats.mtimeMs }] : [];
  });
}

function sha256(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolveHash(hash.digest('hex')))
      .on('error', reject);
  });
}

/**
 * Waits until the file's size has not changed for `settleMs`, checked as often as chokidar's
 * awaitWriteFinish checks, for the files chokidar does not wait for itself.
 */
async function settle(path: string, settleMs: number, stopping: AbortSignal): Promise<'settled' | 'stopped' | 'gone'> {
  let size = -1;
  let since = 0;
  for (;;) {
    let current: number;
    try {
      current = (await stat(path)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
      throw error;
    }
    const now = Date.now();
    if (current !== size) {
      size = current;
      since = now;
    } else if (now - since >= settleMs) {
      return 'settled';
    }
    if (!(await pause(settlePollMs(settleMs), stopping))) return 'stopped';
  }
}

/** Waits `ms`; false if stopped first. */
async function pause(ms: number, stopping: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal: stopping });
    return true;
  } catch (error) {
    if (stopping.aborted) return false;
    throw error;
  }
}
