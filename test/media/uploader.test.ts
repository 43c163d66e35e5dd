// The upload lane of a real agent against the S3-compatible test service: a session's photo
// reaches the bucket, and only then its webhooks go out, with the link; a busy storage is backed
// off from; a wrong secret fails the upload at once in words, and a retry after the fix sends it;
// a large file goes in parts. A storage that cannot be reached for a minute is
// test/faults/storage-outage.test.ts.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PART_BYTES } from '../../src/media/uploader.js';
import { retryUploads } from '../../src/operations/uploads.js';
import type { StorageConfig } from '../../src/storage/config.js';
import { setStorage } from '../helpers/agent.js';
import { agentLogs, mediaBooth, useMediaServices } from '../helpers/media.js';
import { endpointTo } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();

async function booth(storage: StorageConfig = m.storage(), settings = {}) {
  const b = await mediaBooth(m, storage, settings);
  const statuses = (sessionId: string) =>
    b.t.agent.store.db
      .prepare(`SELECT d.status, d.attempts_used AS attempts FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE e.session_id = ?`)
      .all(sessionId);
  const received = (sessionId: string) => m.receiver.requests.filter((r) => JSON.parse(r.body.toString()).session?.id === sessionId);
  return { ...b, statuses, received, setStorage: (next: StorageConfig) => setStorage(b.t.agent.store, next) };
}

describe('the upload lane', () => {
  it('uploads the photo, then sends the webhook with a link that opens it', async () => {
    const b = await booth();
    try {
      const bytes = randomBytes(300_000);
      const answer = await b.capture('up-1', bytes);
      const [delivered] = await waitFor('the session webhook', () => b.received('up-1').length > 0 && b.received('up-1'));
      const body = JSON.parse(delivered!.body.toString());
      expect(body.session).toEqual({ id: 'up-1', type: 'still', direct_url: answer.direct_url, site_url: answer.site_url });
      expect(m.s3.count('PutObject')).toBeGreaterThan(0);
      const object = await m.s3.open(body.session.direct_url);
      expect(object.status).toBe(200);
      expect(createHash('sha256').update(object.body).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(object.headers['content-type']).toBe('image/jpeg');
      expect(object.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(b.media('up-1')).toMatchObject({ status: 'uploaded', attempts: 0, last_error: null, bytes_done: 300_000 });
      // Sent once the file was in: the upload's PUT came before the webhook.
      const put = m.s3.requests.find((r) => r.operation === 'PutObject' && r.key === 'booths/1/up-1/photo.jpg')!;
      expect(put.at).toBeLessThanOrEqual(delivered!.at);
    } finally {
      await b.t.stop();
    }
  });

  it('records the file in apart from the session, and marks the event’s gallery to be built again once it is up', async () => {
    const b = await booth(m.storage(), { event_gallery: true, event_id: 12 });
    try {
      await b.capture('up-g', randomBytes(1000));
      await waitFor('the session webhook', () => b.received('up-g').length > 0);
      const row = b.media('up-g');
      expect(row).toMatchObject({ status: 'uploaded', gallery_key: 'booths/12/index.html', file_done_at: expect.any(Number) });
      expect(row.file_done_at).toBeLessThanOrEqual(row.uploaded_at);
      expect(b.t.agent.store.db.prepare('SELECT key, changed_at FROM galleries').all()).toEqual([
        { key: 'booths/12/index.html', changed_at: row.uploaded_at },
      ]);
      expect({ key: row.key, pageKey: row.page_key, previewKey: row.preview_key, galleryKey: row.gallery_key }).toEqual({
        key: 'booths/12/up-g/photo.jpg',
        pageKey: 'booths/12/up-g/index.html',
        previewKey: 'booths/12/up-g/photo.preview.jpg',
        galleryKey: 'booths/12/index.html',
      });
    } finally {
      await b.t.stop();
    }
  });

  it('backs off while the storage answers SlowDown, spending attempts, and goes once it stops', async () => {
    const b = await booth(m.storage(), { offline_check_max_ms: 5_000 });
    try {
      await m.s3.down('SlowDown', 1_500);
      await b.capture('up-slow', randomBytes(1000));
      await waitFor('a SlowDown answer', () => /busy \(SlowDown\)/.test(b.media('up-slow').last_error ?? ''));
      await waitFor('the webhook once the storage took it', () => b.received('up-slow').length === 1, 15_000);
      const spent = b.media('up-slow').attempts as number;
      // Waits of 150, 300, 600, 1200 ms (retry_delay_ms, doubling) through the 1.5 s outage: four
      // tries refused, not one per moment.
      expect(spent).toBeGreaterThanOrEqual(3);
      expect(spent).toBeLessThanOrEqual(5);
      expect(b.media('up-slow')).toMatchObject({ status: 'uploaded', last_error: null });
    } finally {
      await m.s3.up();
      await b.t.stop();
    }
  });

  it('fails at once on a wrong secret, in words, keeps the webhook waiting, and sends both after the fix and a retry', async () => {
    const b = await booth({ ...m.storage(), secretAccessKey: 'wrong-secret-0000000000000000000000000000' });
    try {
      b.t.addEndpoint(m.receiver.url, { ...endpointTo(m.receiver), types: ['agent.upload_failed'] });
      await b.capture('up-3', randomBytes(1000));
      await waitFor('the upload failed', () => b.media('up-3').status === 'failed');
      // At once: the first refusal ends it, with no try after it.
      expect(m.s3.requests.filter((r) => r.key === 'booths/1/up-3/photo.jpg').map((r) => [r.status, r.code])).toEqual([
        [403, 'SignatureDoesNotMatch'],
      ]);
      expect(b.media('up-3')).toMatchObject({
        attempts: 1,
        last_error: 'the storage refused the secret key: check it (booth-agent storage set)',
      });
      expect(b.statuses('up-3')).toEqual([{ status: 'waiting', attempts: 0 }]);
      const [view] = b.t.agent.store.views.list({ status: 'waiting', sessionId: 'up-3', limit: 10 });
      expect(view?.lastError).toBe(
        'waiting for its photo to be uploaded: the storage refused the secret key: check it (booth-agent storage set)',
      );
      const alert = await waitFor('agent.upload_failed', () =>
        m.receiver.requests.map((r) => JSON.parse(r.body.toString())).find((body) => body.type === 'agent.upload_failed'),
      );
      expect(alert).toMatchObject({ occurrences: 1, reason: 'the storage refused the secret key: check it (booth-agent storage set)' });
      const logged = agentLogs(b.t.dataDir);
      expect(logged).toContain('upload failed');
      expect(logged).not.toContain('wrong-secret-0000000000000000000000000000');
      b.setStorage(m.storage());
      expect(retryUploads(b.t.agent.operations, { all: true })).toEqual({ retried: 1 });
      expect(b.media('up-3')).toMatchObject({ status: expect.stringMatching(/^(waiting|uploading|uploaded)$/), attempts: 0 });
      await waitFor('the webhook after the retry', () => b.received('up-3').length === 1, 10_000);
    } finally {
      await b.t.stop();
    }
  });

  it('keeps to upload_max_kbps, for a single PUT and for parts', async () => {
    const b = await booth(m.storage(), { upload_max_kbps: 16_000 });
    try {
      // 2,000,000 bytes a second: 3 MB takes at least 1.25 s after the first quarter second's allowance.
      const small = randomBytes(3_000_000);
      let started = Date.now();
      await b.capture('slow-1', small);
      await waitFor('the capped upload', () => b.media('slow-1').status === 'uploaded', 20_000);
      const single = Date.now() - started;
      const large = randomBytes(10 * 1024 * 1024);
      started = Date.now();
      await b.capture('slow-2', large, 'clip.mp4');
      // A lead captured while the clip uploads goes out at once: the lane holds up nothing else.
      const lead = JSON.stringify({
        type: 'survey',
        session: { id: 'lead-1', type: 'still', direct_url: 'https://x.test/a', site_url: 'https://x.test/a' },
        survey: { completed_at: '2026-06-01T10:00:00Z', data_capture: { sections: [] } },
      });
      expect((await b.t.post(lead)).status).toBe(202);
      await waitFor('the lead', () => b.received('lead-1').length === 1, 3_000);
      expect(b.media('slow-2').status).toBe('uploading');
      await waitFor('the capped parts', () => b.media('slow-2').status === 'uploaded', 30_000);
      const parts = Date.now() - started;
      expect(single).toBeGreaterThanOrEqual(1_250);
      expect(parts).toBeGreaterThanOrEqual(5_000);
      expect((await m.s3.readObject('booths/1/slow-1/photo.jpg'))?.equals(small)).toBe(true);
      expect((await m.s3.readObject('booths/1/slow-2/clip.mp4'))?.equals(large)).toBe(true);
    } finally {
      await b.t.stop();
    }
  }, 60_000);

  it('completes a large file once, sending no part again, when the completion answers after the agent stopped waiting', async () => {
    const b = await booth();
    try {
      const before = { parts: m.s3.count('UploadPart'), creates: m.s3.count('CreateMultipartUpload') };
      // Longer than the agent waits for an answer (attempt_timeout_ms, 1 s here): it asks again
      // while the storage, done with the first completion, still lists the upload.
      m.s3.hold('CompleteMultipartUpload', 3_000);
      const bytes = randomBytes(2 * PART_BYTES + 1);
      await b.capture('slow-end', bytes, 'clip.mp4');
      await waitFor('the webhook of the clip', () => b.received('slow-end').length === 1, 20_000);
      const completions = m.s3.requests.filter((r) => r.key === 'booths/1/slow-end/clip.mp4' && r.operation === 'CompleteMultipartUpload');
      // The first went through unheard; the second was told the upload is no more, and the agent found the file in.
      expect(completions.map((r) => r.code ?? r.stored)).toEqual([200, 'NoSuchUpload']);
      expect(m.s3.count('UploadPart') - before.parts).toBe(3);
      expect(m.s3.count('CreateMultipartUpload') - before.creates).toBe(1);
      expect((await m.s3.readObject('booths/1/slow-end/clip.mp4'))?.equals(bytes)).toBe(true);
      expect(m.s3.incompleteUploads()).toEqual([]);
      expect(b.media('slow-end')).toMatchObject({ status: 'uploaded', attempts: 0 });
    } finally {
      await b.t.stop();
    }
  });

  it('sends a file above 8 MiB in parts, recording each, and the object is the file', async () => {
    const b = await booth();
    try {
      const before = m.s3.count('UploadPart');
      const bytes = randomBytes(20 * 1024 * 1024 + 5);
      const answer = await b.capture('up-4', bytes, 'clip.mp4');
      await waitFor('the webhook of the clip', () => b.received('up-4').length === 1, 30_000);
      expect(m.s3.count('UploadPart') - before).toBe(3);
      const object = await m.s3.readObject('booths/1/up-4/clip.mp4');
      expect(object?.equals(bytes)).toBe(true);
      expect(answer.direct_url).toBe(m.s3.objectUrl('booths/1/up-4/clip.mp4'));
      expect(b.media('up-4')).toMatchObject({ status: 'uploaded', upload_id: null, bytes_done: bytes.length });
      expect(b.t.agent.store.db.prepare('SELECT COUNT(*) FROM media_parts').pluck().get()).toBe(0);
      expect(m.s3.incompleteUploads()).toEqual([]);
    } finally {
      await b.t.stop();
    }
  });
});
