// A session that hands the agent its file, through the JSON API of a real agent: the copy and
// its row are committed with the event, the answer gives the links, the session's webhooks (and
// its shares') wait for the upload while others go out, and every refusal keeps nothing and
// uploads nothing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_EXTENSIONS } from '../../src/core/media.js';
import type { StorageConfig } from '../../src/storage/config.js';
import { startTestAgent } from '../helpers/agent.js';
import { useMediaServices } from '../helpers/media.js';
import { endpointTo } from '../helpers/receiver.js';
import { keepWriting } from '../helpers/files.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();

async function booth(storage: StorageConfig | null = m.storage(), settings = {}) {
  const output = tempDir('output-');
  const t = await startTestAgent({ media_roots: [output], media_min_free_mb: 0, ...settings }, storage);
  t.addEndpoint(m.receiver.url, { ...endpointTo(m.receiver) });
  const media = join(t.dataDir, 'media');
  const copies = () => {
    try {
      return readdirSync(media);
    } catch {
      return [];
    }
  };
  const rows = () => t.agent.store.db.prepare('SELECT * FROM media ORDER BY seq').all() as Record<string, any>[];
  const deliveries = () =>
    t.agent.store.db
      .prepare('SELECT e.type, d.status, d.media_id AS mediaId FROM deliveries d JOIN events e ON e.seq = d.event_seq ORDER BY d.seq')
      .all() as { type: string; status: string; mediaId: string | null }[];
  return { t, output, copies, rows, deliveries };
}

const session = (id: string, file: string, extra = '') =>
  `{"type":"session","event_id":4711,"session":{"id":"${id}","type":"still","file":${JSON.stringify(file)}${extra}},"booth_extra":{"n":1}}`;

describe('a session with its file, through the JSON API', () => {
  let b: Awaited<ReturnType<typeof booth>>;
  // The storage is away, so what capture committed stays as it was until the test looks.
  beforeAll(async () => {
    await m.s3.down('refuse');
    b = await booth();
  });
  afterAll(async () => {
    await b.t.stop();
    await m.s3.up();
  });

  it('is copied before the answer, which gives the links; the booth may delete its file at once', async () => {
    const bytes = Buffer.alloc(200_000, 9);
    writeFileSync(join(b.output, 'IMG 0042.jpg'), bytes);
    const answer = await b.t.post(session('b7-0042', join(b.output, 'IMG 0042.jpg'), ',"still_template_id":3'));
    rmSync(join(b.output, 'IMG 0042.jpg'));
    const url = `${m.storage().publicUrl}/booths/4711/b7-0042/IMG%200042.jpg`;
    const page = `${m.storage().publicUrl}/booths/4711/b7-0042/index.html`;
    expect(answer).toEqual({ status: 202, json: { id: expect.stringMatching(/^evt_/), deliveries: 1, direct_url: url, site_url: page } });
    const [row] = b.rows();
    expect(row).toMatchObject({
      session_id: 'b7-0042',
      event_id: answer.json.id,
      name: 'IMG 0042.jpg',
      size: 200_000,
      content_type: 'image/jpeg',
      key: 'booths/4711/b7-0042/IMG 0042.jpg',
      url,
      page_key: 'booths/4711/b7-0042/index.html',
      site_url: page,
      preview_key: 'booths/4711/b7-0042/IMG 0042.preview.jpg',
      gallery_key: null,
      poster_path: null,
      file_done_at: null,
      status: expect.stringMatching(/^(waiting|uploading)$/),
      attempts: 0,
    });
    expect(readFileSync(row!.local_path).equals(bytes)).toBe(true);
    const body = b.t.agent.store.db.prepare('SELECT body FROM events WHERE id = ?').pluck().get(answer.json.id) as Buffer;
    expect(JSON.parse(body.toString())).toEqual({
      type: 'session',
      event_id: 4711,
      session: { id: 'b7-0042', type: 'still', still_template_id: 3, direct_url: url, site_url: page },
      booth_extra: { n: 1 },
      timestamp: expect.any(String),
    });
    expect(b.deliveries()).toEqual([{ type: 'session', status: 'waiting', mediaId: row!.id }]);
  });

  it('holds the session’s shares with it, while its survey goes out', async () => {
    const url = b.rows()[0]!.url as string;
    const ref = `"session":{"id":"b7-0042","direct_url":"${url}","site_url":"${url}","type":"still"}`;
    const share = `{"type":"share",${ref},"share":{"id":"sh1","type":"email","value":"a@b.test"},"data_capture":{"sections":[]}}`;
    const survey = `{"type":"survey",${ref},"survey":{"completed_at":"2026-06-01T10:00:00Z","data_capture":{"sections":[]}}}`;
    expect((await b.t.post(share)).status).toBe(202);
    expect((await b.t.post(survey)).status).toBe(202);
    await waitFor('the survey delivered', () => b.deliveries().some((d) => d.type === 'survey' && d.status === 'delivered'));
    const mediaId = b.rows()[0]!.id;
    expect(b.deliveries()).toEqual([
      { type: 'session', status: 'waiting', mediaId },
      { type: 'share', status: 'waiting', mediaId },
      { type: 'survey', status: 'delivered', mediaId: null },
    ]);
    // The endpoint being resumed (it was reachable all along) does not release them.
    b.t.agent.store.queue.resumeEndpoint(b.t.agent.store.endpoints.list()[0]!.id, Date.now());
    expect(b.deliveries().map((d) => d.status)).toEqual(['waiting', 'waiting', 'delivered']);
    expect(m.receiver.requests.map((r) => JSON.parse(r.body.toString()).type)).not.toContain('session');
  });

  it('answers a repeat with the first links, copying nothing', async () => {
    writeFileSync(join(b.output, 'again.jpg'), 'x');
    const answer = await b.t.post(session('b7-0042', join(b.output, 'again.jpg')));
    const [first] = b.rows();
    expect(answer).toEqual({
      status: 200,
      json: { id: first!.event_id, deliveries: 1, duplicate: true, direct_url: first!.url, site_url: first!.site_url },
    });
    expect(b.copies()).toHaveLength(1);
  });
});

describe('refusals of the file itself, with the storage up', () => {
  let b: Awaited<ReturnType<typeof booth>>;
  let elsewhere: string;
  let refused = 0;
  beforeAll(async () => {
    b = await booth();
    elsewhere = tempDir('elsewhere-');
    writeFileSync(join(elsewhere, 'secret.jpg'), 'not yours');
  });
  afterAll(async () => {
    await b.t.stop();
  });

  async function expectRefused(path: string, message: string): Promise<void> {
    const before = { copies: b.copies().length, rows: b.rows().length, deliveries: b.deliveries().length };
    const answer = await b.t.post(session(`refused-${++refused}`, path));
    expect(answer).toEqual({ status: 400, json: { error: `session.file: ${message}`, issues: [{ path: 'session.file', message }] } });
    expect({ copies: b.copies().length, rows: b.rows().length, deliveries: b.deliveries().length }).toEqual(before);
  }

  const OUTSIDE = 'is outside the folders the agent takes media from (the media_roots setting)';
  it.each([
    ['a path outside media_roots', () => join(elsewhere, 'secret.jpg'), OUTSIDE],
    [
      'a link in a root to a file outside them',
      () => (symlinkSync(join(elsewhere, 'secret.jpg'), join(b.output, 'link.jpg')), join(b.output, 'link.jpg')),
      OUTSIDE,
    ],
    ['/etc/passwd', () => '/etc/passwd', `is not a media file (${MEDIA_EXTENSIONS.join(', ')})`],
    [
      '/etc/passwd through a link named like a photo',
      () => (symlinkSync('/etc/passwd', join(b.output, 'passwd.jpg')), join(b.output, 'passwd.jpg')),
      OUTSIDE,
    ],
    ['a file that is not there', () => join(b.output, 'gone.jpg'), 'no such file'],
    ['a bare name no file was sent under', () => 'never-sent.jpg', 'no such file'],
    ['an empty file', () => (writeFileSync(join(b.output, 'empty.jpg'), ''), join(b.output, 'empty.jpg')), 'is empty'],
    ['a folder', () => (mkdirSync(join(b.output, 'dir.jpg'), { recursive: true }), join(b.output, 'dir.jpg')), 'is not a regular file'],
    ['a FIFO', () => (execFileSync('mkfifo', [join(b.output, 'pipe.jpg')]), join(b.output, 'pipe.jpg')), 'is not a regular file'],
  ])('refuses %s with 400, keeping nothing', async (_what, path, message) => {
    await expectRefused(path(), message);
  });

  it('refuses a file still growing while it is copied, keeping nothing', async () => {
    const path = join(b.output, 'recording.mov');
    writeFileSync(path, Buffer.alloc(32 * 1024 * 1024, 1));
    // Another process goes on writing the video, as a booth program does until it is done.
    const writer = await keepWriting(path);
    try {
      await expectRefused(path, 'is still being written; send the event again once the file is complete');
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('uploads nothing of what it refused, while the lane uploads the next good photo', async () => {
    writeFileSync(join(b.output, 'good.jpg'), 'a good photo');
    expect((await b.t.post(session('accepted-1', join(b.output, 'good.jpg')))).status).toBe(202);
    await waitFor('the good photo uploaded', () => b.rows().some((row) => row.session_id === 'accepted-1' && row.status === 'uploaded'));
    expect(refused).toBe(10);
    expect(m.s3.requests.filter((r) => r.key?.includes('/refused-'))).toEqual([]);
    expect(m.s3.requests.filter((r) => r.key === 'booths/4711/accepted-1/good.jpg').map((r) => r.operation)).toEqual(['PutObject']);
    expect(b.rows().map((row) => row.session_id)).toEqual(['accepted-1']);
  });
});

describe('the guest’s page, fixed at capture', () => {
  let b: Awaited<ReturnType<typeof booth>>;
  beforeAll(async () => {
    await m.s3.down('refuse');
    b = await booth(m.storage(), { event_gallery: true });
  });
  afterAll(async () => {
    await b.t.stop();
    await m.s3.up();
  });
  const video = (id: string, file: string, poster: string) =>
    `{"type":"session","event_id":4711,"session":{"id":"${id}","type":"video","file":${JSON.stringify(file)},"poster":${JSON.stringify(poster)}}}`;
  const row = (eventId: string) => b.rows().find((r) => r.event_id === eventId)!;
  const body = (eventId: string) =>
    JSON.parse((b.t.agent.store.db.prepare('SELECT body FROM events WHERE id = ?').pluck().get(eventId) as Buffer).toString());

  it('takes a video’s poster from a path like its file, keeps it as a file of the session, and leaves it out of the body', async () => {
    writeFileSync(join(b.output, 'clip.mp4'), randomBytes(1000));
    writeFileSync(join(b.output, 'clip.jpg'), randomBytes(500));
    const answer = await b.t.post(video('v1', join(b.output, 'clip.mp4'), join(b.output, 'clip.jpg')));
    expect(answer.status).toBe(202);
    const media = row(answer.json.id);
    expect(media).toMatchObject({
      page_key: 'booths/4711/v1/index.html',
      site_url: `${m.storage().publicUrl}/booths/4711/v1/index.html`,
      preview_key: 'booths/4711/v1/clip.preview.jpg',
      gallery_key: 'booths/4711/index.html',
    });
    expect(answer.json.site_url).toBe(media.site_url);
    const poster = b.rows().find((r) => r.local_path === media.poster_path)!;
    expect(poster).toMatchObject({ session_id: 'v1', event_id: null, name: 'clip.jpg', size: 500 });
    expect(readFileSync(media.poster_path).length).toBe(500);
    expect(body(answer.json.id).session).toEqual({ id: 'v1', type: 'video', direct_url: media.url, site_url: media.site_url });
  });

  it('takes a poster sent with PUT by its bare name', async () => {
    const sent = await fetch(`${b.t.base}/v1/sessions/v2/media/cover.png`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${b.t.token}` },
      body: randomBytes(300),
    });
    expect(sent.status).toBe(201);
    writeFileSync(join(b.output, 'v2.mp4'), randomBytes(1000));
    const answer = await b.t.post(video('v2', join(b.output, 'v2.mp4'), 'cover.png'));
    expect(answer.status).toBe(202);
    const media = row(answer.json.id);
    expect(media.poster_path).toMatch(/cover\.png$/);
    expect(media.preview_key).toBe('booths/4711/v2/v2.preview.jpg');
  });

  it('gives a video without poster, and a HEIC, a page without preview', async () => {
    writeFileSync(join(b.output, 'v3.mov'), randomBytes(1000));
    const clip = await b.t.post(
      `{"type":"session","event_id":4711,"session":{"id":"v3","type":"video","file":${JSON.stringify(join(b.output, 'v3.mov'))}}}`,
    );
    expect(row(clip.json.id)).toMatchObject({ page_key: 'booths/4711/v3/index.html', preview_key: null, poster_path: null });
    writeFileSync(join(b.output, 'h.heic'), randomBytes(1000));
    const heic = await b.t.post(session('h1', join(b.output, 'h.heic')));
    expect(row(heic.json.id)).toMatchObject({ page_key: 'booths/4711/h1/index.html', preview_key: null });
  });

  it('refuses a poster that is not an image, or is not there, keeping nothing', async () => {
    writeFileSync(join(b.output, 'v4.mp4'), randomBytes(1000));
    writeFileSync(join(b.output, 'v4b.mp4'), randomBytes(1000));
    const before = { copies: b.copies().length, rows: b.rows().length };
    const notImage = 'must be a .jpg, .jpeg, .png, .webp or .gif image';
    expect(await b.t.post(video('v4', join(b.output, 'v4.mp4'), join(b.output, 'v4b.mp4')))).toEqual({
      status: 400,
      json: { error: `session.poster: ${notImage}`, issues: [{ path: 'session.poster', message: notImage }] },
    });
    expect(await b.t.post(video('v4', join(b.output, 'v4.mp4'), join(b.output, 'gone.jpg')))).toEqual({
      status: 400,
      json: { error: 'session.poster: no such file', issues: [{ path: 'session.poster', message: 'no such file' }] },
    });
    expect({ copies: b.copies().length, rows: b.rows().length }).toEqual(before);
  });

  it('makes no page with guest_page off: site_url is the file’s link, and a poster is not taken', async () => {
    b.t.agent.store.settings.write('guest_page', false);
    try {
      writeFileSync(join(b.output, 'v5.mp4'), randomBytes(1000));
      writeFileSync(join(b.output, 'v5.jpg'), randomBytes(100));
      const copies = b.copies().length;
      const answer = await b.t.post(video('v5', join(b.output, 'v5.mp4'), join(b.output, 'v5.jpg')));
      expect(answer.json.site_url).toBe(answer.json.direct_url);
      expect(row(answer.json.id)).toMatchObject({
        page_key: null,
        site_url: null,
        preview_key: null,
        poster_path: null,
        gallery_key: null,
      });
      expect(b.copies()).toHaveLength(copies + 1);
      expect(body(answer.json.id).session).not.toHaveProperty('poster');
    } finally {
      b.t.agent.store.settings.write('guest_page', true);
    }
  });
});

describe('refusals that are about the booth', () => {
  it('refuses a file with no storage set, as before storage existed, and takes URLs as ever', async () => {
    const b = await booth(null);
    try {
      writeFileSync(join(b.output, 'p.jpg'), 'x');
      const message = "needs the organiser's storage (booth-agent storage set); without it, send direct_url and site_url";
      expect(await b.t.post(session('s1', join(b.output, 'p.jpg')))).toEqual({
        status: 400,
        json: { error: `session.file: ${message}`, issues: [{ path: 'session.file', message }] },
      });
      const withUrls =
        '{"type":"session","session":{"id":"s2","type":"still","direct_url":"https://x.test/a","site_url":"https://x.test/b"}}';
      expect(await b.t.post(withUrls)).toMatchObject({ status: 202, json: { deliveries: 1 } });
      expect((await b.t.post(withUrls)).json).not.toHaveProperty('direct_url');
      expect(b.copies()).toEqual([]);
    } finally {
      await b.t.stop();
    }
  });

  it('refuses with 507 when the disk is low, and still takes events without media', async () => {
    const b = await booth(m.storage(), { media_min_free_mb: 100_000_000 });
    try {
      b.t.addEndpoint(m.receiver.url, { ...endpointTo(m.receiver), types: ['agent.disk_low'] });
      writeFileSync(join(b.output, 'p.jpg'), 'x');
      expect(await b.t.post(session('s1', join(b.output, 'p.jpg')))).toEqual({
        status: 507,
        json: { error: "the booth's disk has less than media_min_free_mb (100000000 MB) free: the file was not taken; free some space" },
      });
      expect(b.copies()).toEqual([]);
      expect(b.rows()).toEqual([]);
      const withUrls =
        '{"type":"session","session":{"id":"s2","type":"still","direct_url":"https://x.test/a","site_url":"https://x.test/b"}}';
      expect((await b.t.post(withUrls)).status).toBe(202);
      const alert = await waitFor('agent.disk_low', () =>
        m.receiver.requests.map((r) => JSON.parse(r.body.toString())).find((body) => body.type === 'agent.disk_low'),
      );
      expect(alert).toMatchObject({ min_free_mb: 100_000_000, free_mb: expect.any(Number) });
      expect(alert.summary).toMatch(/a photo or video was refused: \d+ MB free on the disk, media_min_free_mb is 100000000 MB/);
    } finally {
      await b.t.stop();
    }
  });

  it('gives a presigned link valid 7 days when the storage has no public URL', async () => {
    const b = await booth({ ...m.storage(), publicUrl: null });
    try {
      writeFileSync(join(b.output, 'p.jpg'), 'x');
      const answer = await b.t.post(session('s1', join(b.output, 'p.jpg')));
      expect(answer.status).toBe(202);
      const link = new URL(answer.json.direct_url);
      expect(`${link.origin}${link.pathname}`).toBe(m.s3.objectUrl('booths/4711/s1/p.jpg'));
      expect(link.searchParams.get('X-Amz-Expires')).toBe('604800');
      expect(link.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await b.t.stop();
    }
  });
});
