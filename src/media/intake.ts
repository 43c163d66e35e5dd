// Taking a session's file in (docs/capture-api.md, "Media"): the checks, then a copy into the
// data folder that is whole or absent. The copy is written to `<name>.part`, synced, renamed
// into place, and its folder synced, all before the event that names it is committed: a power
// cut at any step leaves either no row or a row that points at a whole file, never half a photo.
//
// The source is opened before it is judged, and every check is made on what was opened (its
// real path, then fstat of the open file), so a file swapped for a link or a FIFO between a
// check and the copy is never read. It is opened without blocking: a FIFO would otherwise hold
// the capture until someone wrote to it.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, realpath, rename, rm, statfs, type FileHandle } from 'node:fs/promises';
import { basename, join, posix, resolve, win32 } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { ulidFactory } from '../core/ids.js';
import { MEDIA_EXTENSIONS, mediaContentType } from '../core/media.js';

const MB = 1024 * 1024;
const CHUNK = MB;

export interface MediaLimits {
  /** Folders a path may be in (media_roots and the hot folder), as the operator wrote them. */
  roots: readonly string[];
  maxMb: number;
  minFreeMb: number;
}

/** A file copied into the data folder, synced, not yet named by any committed row. */
export interface TakenFile {
  id: string;
  name: string;
  localPath: string;
  size: number;
  sha256: string;
  contentType: string;
}

/** Why a file was not taken: 400 for the file itself, 507 for the booth's disk. */
export interface Refusal {
  ok: false;
  status: 400 | 507;
  message: string;
  /** Set with a 507: what was free and what the setting asks for, for the alert. */
  disk?: { freeMb: number; minFreeMb: number };
}

export type Taken = { ok: true; file: TakenFile } | Refusal;

/** Free bytes for an unprivileged user on the disk that holds `dir`. */
export type FreeSpace = (dir: string) => Promise<number>;

const diskFree: FreeSpace = async (dir) => {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
};

const refuse = (message: string): Refusal => ({ ok: false, status: 400, message });

const newUlid = ulidFactory();

/** Whether `path` is `root` or inside it; both already real (links resolved). */
export function isInside(root: string, path: string, platform: NodeJS.Platform = process.platform): boolean {
  // Windows compares names without regard to case, and another drive is no relative path at all.
  const paths = platform === 'win32' ? win32 : posix;
  const fold = (p: string) => (platform === 'win32' ? p.toLowerCase() : p);
  const rel = paths.relative(fold(root), fold(path));
  return rel === '' || (rel.split(paths.sep)[0] !== '..' && !paths.isAbsolute(rel));
}

export class MediaIntake {
  constructor(
    /** `<data folder>/media`: one folder per file, named by its id. */
    private readonly folder: string,
    private readonly freeSpace: FreeSpace = diskFree,
  ) {}

  /** Takes the file at `path` (session.file), if it is a media file in one of the roots. */
  async takePath(path: string, limits: MediaLimits): Promise<Taken> {
    const name = basename(path);
    if (mediaContentType(name) === null) return refuse(`is not a media file (${MEDIA_EXTENSIONS.join(', ')})`);
    const outside = refuse('is outside the folders the agent takes media from (the media_roots setting)');
    const [real, roots] = await Promise.all([realpath(path).catch(() => null), realRoots(limits.roots)]);
    if (real === null) {
      // Said only of a path in a root, so the answer tells nothing of what exists elsewhere.
      return limits.roots.some((root) => isInside(resolve(root), resolve(path))) ? refuse('no such file') : outside;
    }
    if (!roots.some((root) => isInside(root, real))) return outside;
    let source: FileHandle;
    try {
      source = await open(real, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    } catch {
      return refuse('no such file');
    }
    try {
      const before = await source.stat();
      if (!before.isFile()) return refuse('is not a regular file');
      const early = await this.sizeProblem(before.size, limits);
      if (early) return early;
      const unchanged = async (size: number) => {
        const after = await source.stat();
        return after.size === before.size && after.mtimeMs === before.mtimeMs && size === before.size;
      };
      return await this.copy(name, readAll(source, limits.maxMb * MB + 1), unchanged, limits, false);
    } finally {
      await source.close();
    }
  }

  /**
   * Takes a file sent as a request's body, named `name`. `declaredSize` (Content-Length) lets
   * a file too large or a disk too full be refused before a byte is read.
   */
  async takeStream(name: string, body: AsyncIterable<Uint8Array>, declaredSize: number | null, limits: MediaLimits): Promise<Taken> {
    if (mediaContentType(name) === null) return refuse(`is not a media file (${MEDIA_EXTENSIONS.join(', ')})`);
    if (declaredSize !== null) {
      const early = await this.sizeProblem(declaredSize, limits);
      if (early) return early;
    }
    const unchanged = async (size: number) => declaredSize === null || size === declaredSize;
    return this.copy(name, capped(body, limits.maxMb * MB + 1), unchanged, limits, true);
  }

  /** Removes a copy no committed row names (its capture failed). */
  async discard(file: Pick<TakenFile, 'id'>): Promise<void> {
    await rm(join(this.folder, file.id), { recursive: true, force: true });
  }

  /** What is wrong with a file of `size` for the limits; `copied`: it is on the disk already, which the free space counts. */
  private async sizeProblem(size: number, limits: MediaLimits, copied = false): Promise<Refusal | null> {
    if (size === 0) return refuse('is empty');
    if (size > limits.maxMb * MB) return refuse(`is larger than media_max_mb (${limits.maxMb} MB)`);
    await mkdir(this.folder, { recursive: true, mode: 0o700 });
    const freeMb = Math.floor((await this.freeSpace(this.folder)) / MB);
    if (freeMb - (copied ? 0 : Math.ceil(size / MB)) < limits.minFreeMb) {
      return {
        ok: false,
        status: 507,
        message: `the booth's disk has less than media_min_free_mb (${limits.minFreeMb} MB) free: the file was not taken; free some space`,
        disk: { freeMb, minFreeMb: limits.minFreeMb },
      };
    }
    return null;
  }

  /**
   * Copies `chunks` to `<id>/<name>`, hashing as it goes. `unchanged(size)` says whether the
   * source is still what it was when the copy began; a source that grew or was rewritten is
   * refused, and so is one that turns out larger, empty or too large for the disk once read
   * (`checkAfter`, for a body whose size may not have been declared). A disk that fills up
   * during the copy (a body longer than the room left, or another program writing meanwhile)
   * is refused as a low disk is, and nothing of the copy is kept.
   */
  private async copy(
    name: string,
    chunks: AsyncIterable<Uint8Array>,
    unchanged: (size: number) => Promise<boolean>,
    limits: MediaLimits,
    checkAfter: boolean,
  ): Promise<Taken> {
    const id = `med_${newUlid()}`;
    const dir = join(this.folder, id);
    const localPath = join(dir, name);
    const partial = `${localPath}.part`;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const sha256 = new TrailingHash();
      let size = 0;
      const target = await open(partial, 'wx', 0o600);
      try {
        for await (const chunk of chunks) {
          size += chunk.length;
          const hashed = sha256.add(chunk);
          await writeWhole(target, chunk);
          await hashed;
        }
        // The hash of the last chunks is made while the disk syncs the file.
        await Promise.all([target.sync(), sha256.finished()]);
      } finally {
        await target.close();
      }
      if (!(await unchanged(size))) {
        await this.discard({ id });
        return refuse('is still being written; send the event again once the file is complete');
      }
      const late = checkAfter ? await this.sizeProblem(size, limits, true) : null;
      if (late) {
        await this.discard({ id });
        return late;
      }
      await rename(partial, localPath);
      // Both new entries: the file's in its folder, and its folder's in the media folder. The
      // second waits until now because a folder's sync commits the journal (ext4), which held
      // up the file's creation and first writes when it ran before or during the copy; after
      // the file's own sync there is little left for it to write.
      await Promise.all([syncFolder(dir), syncFolder(this.folder)]);
      return { ok: true, file: { id, name, localPath, size, sha256: sha256.digest(), contentType: mediaContentType(name)! } };
    } catch (error) {
      // Measured before the partial copy is removed: the alert tells what the disk held when it filled up.
      const full = isDiskFull(error) ? await this.diskFull(limits.minFreeMb) : null;
      await this.discard({ id });
      if (error instanceof TooLarge) return refuse(`is larger than media_max_mb (${error.maxMb} MB)`);
      if (full) return full;
      throw error;
    }
  }

  private async diskFull(minFreeMb: number): Promise<Refusal> {
    const freeMb = Math.floor((await this.freeSpace(this.folder)) / MB);
    return {
      ok: false,
      status: 507,
      message: "the booth's disk filled up while the file was copied: the file was not taken; free some space",
      disk: { freeMb, minFreeMb },
    };
  }
}

/** No room left on the disk, or in the user's quota. */
function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** How far the hash may trail the copy: the chunks it has not hashed yet are held in memory. */
const HASH_LAG = 8 * MB;
/** Hashed at a time, so the copy's reads and writes are answered between slices. */
const HASH_SLICE = 128 * 1024;

/**
 * A SHA-256 made on this thread while the copy's reads and writes run on libuv's pool. It
 * trails the copy by up to HASH_LAG bytes, so the last chunks are hashed while the disk
 * syncs the file: the copy waits for the hash only when the hash falls that far behind.
 */
class TrailingHash {
  private readonly hash = createHash('sha256');
  private readonly waiting: Uint8Array[] = [];
  private waitingBytes = 0;
  private running: Promise<void> | null = null;
  private caughtUp: (() => void) | null = null;

  /** Queues `chunk` to be hashed; resolves once the hash trails by no more than HASH_LAG. */
  async add(chunk: Uint8Array): Promise<void> {
    this.waiting.push(chunk);
    this.waitingBytes += chunk.length;
    this.running ??= this.run();
    while (this.waitingBytes > HASH_LAG) await new Promise<void>((resolve) => (this.caughtUp = resolve));
  }

  /** Resolves once every chunk added is hashed. */
  async finished(): Promise<void> {
    await this.running;
  }

  digest(): string {
    return this.hash.digest('hex');
  }

  private async run(): Promise<void> {
    for (let chunk = this.waiting.shift(); chunk !== undefined; chunk = this.waiting.shift()) {
      for (let at = 0; at < chunk.length; at += HASH_SLICE) {
        this.hash.update(chunk.subarray(at, at + HASH_SLICE));
        await setImmediate();
      }
      this.waitingBytes -= chunk.length;
      this.caughtUp?.();
    }
    this.running = null;
  }
}

/** Writes all of `chunk`: a write may take less than it was given (a file-size limit, a full disk). */
async function writeWhole(target: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let at = 0; at < chunk.length;) {
    const { bytesWritten } = await target.write(chunk, at);
    if (bytesWritten === 0) throw new Error('the disk took none of a write');
    at += bytesWritten;
  }
}

class TooLarge extends Error {
  constructor(readonly maxMb: number) {
    super(`larger than ${maxMb} MB`);
  }
}

/**
 * Reads an open file to its end, or to `limit` bytes (enough to tell it grew past the size
 * checked). The next chunk is read while the caller writes the one it was given.
 */
async function* readAll(source: FileHandle, limit: number): AsyncGenerator<Uint8Array> {
  const readAt = async (position: number) => {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, limit - position));
    const { bytesRead } = await source.read(buffer, 0, buffer.length, position);
    return buffer.subarray(0, bytesRead);
  };
  let next = readAt(0);
  try {
    for (let position = 0; ;) {
      const chunk = await next;
      if (chunk.length === 0) return;
      position += chunk.length;
      const more = position < limit;
      if (more) next = readAt(position);
      yield chunk;
      if (!more) return;
    }
  } finally {
    // A copy given up mid-way leaves a read under way; it must end before the file is closed.
    await next.catch(() => {});
  }
}

/** A body, failing with TooLarge once it passes `limit` bytes. */
async function* capped(body: AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size >= limit) throw new TooLarge(Math.floor((limit - 1) / MB));
    yield chunk;
  }
}

/** The roots as real paths; a root that does not exist holds nothing and is left out. */
async function realRoots(roots: readonly string[]): Promise<string[]> {
  const found = await Promise.all(roots.map((root) => realpath(root).catch(() => null)));
  return found.filter((root): root is string => root !== null);
}

/**
 * Makes a folder's entries durable (a new file's name after its rename). Windows cannot open
 * a folder for syncing, and NTFS journals the rename itself.
 */
async function syncFolder(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
