// Taking a session's file in, on real files: what is copied and synced, and each refusal of
// docs/capture-api.md ("Media"), with nothing left behind in the data folder after a refusal.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isInside, MediaIntake, type MediaLimits } from '../../src/media/intake.js';
import { keepWriting } from '../helpers/files.js';
import { tempDir } from '../helpers/temp.js';

const MB = 1024 * 1024;

function setup(overrides: Partial<MediaLimits> = {}) {
  const dir = tempDir();
  const root = join(dir, 'output');
  const outside = join(dir, 'elsewhere');
  mkdirSync(root);
  mkdirSync(outside);
  const media = join(dir, 'data', 'media');
  const intake = new MediaIntake(media);
  const limits: MediaLimits = { roots: [root], maxMb: 2048, minFreeMb: 0, ...overrides };
  const leftovers = () => {
    try {
      return readdirSync(media);
    } catch {
      return [];
    }
  };
  return { root, outside, media, intake, limits, leftovers };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('MediaIntake.takePath', () => {
  it('copies a file from a root, whole and synced, so the booth may delete its own at once', async () => {
    const { root, intake, limits, media } = setup();
    const bytes = Buffer.alloc(3 * MB + 17, 7);
    writeFileSync(join(root, 'photo.JPG'), bytes);
    const taken = await intake.takePath(join(root, 'photo.JPG'), limits);
    if (!taken.ok) throw new Error(taken.message);
    rmSync(join(root, 'photo.JPG'));
    expect(taken.file).toMatchObject({ name: 'photo.JPG', size: bytes.length, sha256: sha256(bytes), contentType: 'image/jpeg' });
    expect(taken.file.id).toMatch(/^med_[0-9A-Z]{26}$/);
    expect(taken.file.localPath).toBe(join(media, taken.file.id, 'photo.JPG'));
    expect(readFileSync(taken.file.localPath).equals(bytes)).toBe(true);
    expect(readdirSync(join(media, taken.file.id))).toEqual(['photo.JPG']);
  });

  it('copies and hashes a file larger than the hash may trail the copy by, every byte in order', async () => {
    const { root, intake, limits } = setup();
    // Random bytes, so a chunk hashed twice, dropped or out of order gives another digest.
    const bytes = randomBytes(20 * MB + 5);
    writeFileSync(join(root, 'clip.mp4'), bytes);
    // A body in memory comes faster than it is hashed, so the copy also waits for the hash.
    const body = Readable.from(Array.from({ length: 21 }, (_, i) => bytes.subarray(i * MB, (i + 1) * MB)));
    for (const taken of [
      await intake.takePath(join(root, 'clip.mp4'), limits),
      await intake.takeStream('clip.mp4', body, bytes.length, limits),
    ]) {
      if (!taken.ok) throw new Error(taken.message);
      expect(taken.file).toMatchObject({ size: bytes.length, sha256: sha256(bytes) });
      expect(readFileSync(taken.file.localPath).equals(bytes)).toBe(true);
    }
  });

  it('takes .webp and .heic, and a root given through a link', async () => {
    const { root, outside, intake, limits } = setup();
    writeFileSync(join(root, 'a.webp'), 'w');
    writeFileSync(join(root, 'b.HEIC'), 'h');
    symlinkSync(root, join(outside, 'link-to-output'));
    const viaLink = { ...limits, roots: [join(outside, 'link-to-output')] };
    expect(await intake.takePath(join(root, 'a.webp'), viaLink)).toMatchObject({ ok: true, file: { contentType: 'image/webp' } });
    expect(await intake.takePath(join(root, 'b.HEIC'), limits)).toMatchObject({ ok: true, file: { contentType: 'image/heic' } });
  });

  it.each([
    ['a link in a root to a file outside them', 'link'],
    ['a path that climbs out of a root with ..', 'climb'],
    ['a folder beside the root whose name starts like it', 'sibling'],
  ])('refuses %s, naming the setting', async (_what, how) => {
    const { root, outside, intake, limits, leftovers } = setup();
    writeFileSync(join(outside, 'secret.jpg'), 'not yours');
    mkdirSync(`${root}-evil`);
    writeFileSync(join(`${root}-evil`, 'x.jpg'), 'not yours');
    symlinkSync(join(outside, 'secret.jpg'), join(root, 'innocent.jpg'));
    const path = {
      link: join(root, 'innocent.jpg'),
      climb: join(root, '..', 'elsewhere', 'secret.jpg'),
      sibling: join(`${root}-evil`, 'x.jpg'),
    }[how]!;
    expect(await intake.takePath(path, limits)).toEqual({
      ok: false,
      status: 400,
      message: 'is outside the folders the agent takes media from (the media_roots setting)',
    });
    expect(leftovers()).toEqual([]);
  });

  it('refuses /etc/passwd as it is, and through a link named like a photo', async () => {
    const { root, intake, limits } = setup();
    symlinkSync('/etc/passwd', join(root, 'passwd.jpg'));
    expect(await intake.takePath('/etc/passwd', limits)).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^is not a media file \(/),
    });
    expect(await intake.takePath(join(root, 'passwd.jpg'), limits)).toMatchObject({
      status: 400,
      message: expect.stringContaining('media_roots'),
    });
    expect(await intake.takePath(join(root, 'passwd.jpg'), { ...limits, roots: [root, '/etc'] })).toMatchObject({ ok: true });
  });

  it('refuses a folder and a FIFO as not regular files, without waiting on the FIFO', async () => {
    const { root, intake, limits, leftovers } = setup();
    mkdirSync(join(root, 'folder.jpg'));
    execFileSync('mkfifo', [join(root, 'pipe.jpg')]);
    const refusal = { ok: false, status: 400, message: 'is not a regular file' };
    expect(await intake.takePath(join(root, 'folder.jpg'), limits)).toEqual(refusal);
    const started = Date.now();
    expect(await intake.takePath(join(root, 'pipe.jpg'), limits)).toEqual(refusal);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(leftovers()).toEqual([]);
  });

  it('refuses a missing file, an empty one, and one larger than media_max_mb', async () => {
    const { root, intake, limits, leftovers } = setup({ maxMb: 1 });
    writeFileSync(join(root, 'empty.png'), '');
    writeFileSync(join(root, 'big.mp4'), Buffer.alloc(MB + 1));
    writeFileSync(join(root, 'exact.mp4'), Buffer.alloc(MB));
    expect(await intake.takePath(join(root, 'gone.jpg'), limits)).toEqual({ ok: false, status: 400, message: 'no such file' });
    expect(await intake.takePath('/nowhere/gone.jpg', limits)).toMatchObject({ message: expect.stringContaining('media_roots') });
    expect(await intake.takePath(join(root, 'empty.png'), limits)).toEqual({ ok: false, status: 400, message: 'is empty' });
    expect(await intake.takePath(join(root, 'big.mp4'), limits)).toEqual({
      ok: false,
      status: 400,
      message: 'is larger than media_max_mb (1 MB)',
    });
    expect(leftovers()).toEqual([]);
    expect(await intake.takePath(join(root, 'exact.mp4'), limits)).toMatchObject({ ok: true, file: { size: MB } });
  });

  it('refuses a file still growing while it is copied, and keeps no part of it', async () => {
    const { root, intake, limits, leftovers } = setup();
    const path = join(root, 'recording.mov');
    writeFileSync(path, Buffer.alloc(32 * MB, 1));
    // Another process goes on writing the video, as a booth program does until it is done.
    const writer = await keepWriting(path);
    try {
      expect(await intake.takePath(path, limits)).toEqual({
        ok: false,
        status: 400,
        message: 'is still being written; send the event again once the file is complete',
      });
      expect(leftovers()).toEqual([]);
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('refuses with 507 when the copy would leave less than media_min_free_mb free, on the real disk', async () => {
    const { root, media, intake, limits, leftovers } = setup();
    writeFileSync(join(root, 'photo.jpg'), Buffer.alloc(MB));
    mkdirSync(media, { recursive: true });
    const disk = statfsSync(media);
    const freeMb = Math.floor((disk.bavail * disk.bsize) / MB);
    // The threshold is what the disk has free now, plus room for what other processes free meanwhile.
    const minFreeMb = freeMb + 1024;
    const refused = await intake.takePath(join(root, 'photo.jpg'), { ...limits, minFreeMb });
    expect(refused).toMatchObject({
      ok: false,
      status: 507,
      message: `the booth's disk has less than media_min_free_mb (${minFreeMb} MB) free: the file was not taken; free some space`,
    });
    expect(refused.ok ? null : refused.disk?.minFreeMb).toBe(minFreeMb);
    expect(Math.abs((refused.ok ? 0 : refused.disk!.freeMb) - freeMb)).toBeLessThan(1024);
    expect(leftovers()).toEqual([]);
    expect(await intake.takePath(join(root, 'photo.jpg'), { ...limits, minFreeMb: 1 })).toMatchObject({ ok: true });
  });

  it('asks the injected measure for the free space of the media folder', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p.jpg'), 'x');
    const asked: string[] = [];
    const intake = new MediaIntake(join(dir, 'media'), async (folder) => {
      asked.push(folder);
      return 5 * MB;
    });
    const limits = { roots: [dir], maxMb: 10, minFreeMb: 5 };
    expect(await intake.takePath(join(dir, 'p.jpg'), limits)).toMatchObject({ status: 507, disk: { freeMb: 5, minFreeMb: 5 } });
    expect(await intake.takePath(join(dir, 'p.jpg'), { ...limits, minFreeMb: 3 })).toMatchObject({ ok: true });
    expect(asked).toEqual([join(dir, 'media'), join(dir, 'media')]);
  });
});

describe('MediaIntake.takeStream', () => {
  it('copies a body, and refuses one that turns out larger than media_max_mb without keeping any of it', async () => {
    const { intake, limits, leftovers } = setup({ maxMb: 1 });
    const ok = await intake.takeStream('a.jpg', Readable.from([Buffer.alloc(1000, 3), Buffer.alloc(24, 4)]), 1024, limits);
    expect(ok).toMatchObject({
      ok: true,
      file: { size: 1024, name: 'a.jpg', sha256: sha256(Buffer.concat([Buffer.alloc(1000, 3), Buffer.alloc(24, 4)])) },
    });
    const big = Readable.from(Array.from({ length: 5 }, () => Buffer.alloc(MB / 2)));
    expect(await intake.takeStream('b.jpg', big, null, limits)).toEqual({
      ok: false,
      status: 400,
      message: 'is larger than media_max_mb (1 MB)',
    });
    expect(await intake.takeStream('c.jpg', Readable.from([]), null, limits)).toEqual({ ok: false, status: 400, message: 'is empty' });
    expect(await intake.takeStream('d.txt', Readable.from([Buffer.from('x')]), 1, limits)).toMatchObject({ status: 400 });
    expect(leftovers()).toEqual([ok.ok ? ok.file.id : '']);
  });
});

describe('isInside', () => {
  it.each([
    ['/data/out', '/data/out', 'linux', true],
    ['/data/out', '/data/out/a.jpg', 'linux', true],
    ['/data/out', '/data/out/sub/a.jpg', 'linux', true],
    ['/data/out', '/data/out-evil/a.jpg', 'linux', false],
    ['/data/out', '/data/outa.jpg', 'linux', false],
    ['/data/out', '/data/a.jpg', 'linux', false],
    ['/data/out', '/data/out/../a.jpg', 'linux', false],
    ['/data/out', '/Data/Out/a.jpg', 'linux', false],
    ['/data/out', '/data/out/..a.jpg', 'linux', true],
    ['/', '/etc/passwd', 'linux', true],
    ['C:\\Booth\\Out', 'c:\\booth\\out\\a.jpg', 'win32', true],
    ['C:\\Booth\\Out', 'C:\\Booth\\Out-evil\\a.jpg', 'win32', false],
    ['C:\\Booth\\Out', 'D:\\Booth\\Out\\a.jpg', 'win32', false],
    ['C:\\Booth\\Out', 'C:\\Booth\\Out\\..\\..\\Windows\\a.jpg', 'win32', false],
  ] as const)('%s holds %s on %s: %s', (root, path, platform, inside) => {
    expect(isInside(root, path, platform)).toBe(inside);
  });
});
