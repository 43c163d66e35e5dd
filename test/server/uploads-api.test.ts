// The uploads' admin API against a real agent and the S3-compatible test service: GET
// /api/uploads with its filter, POST /api/uploads/retry for one or all, the counts in
// /api/state, behind the admin token.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PanelState, Refused, RetriedUploads, UploadPage } from '../../src/server/admin-types.js';
import { setStorage, startTestAgent, type TestAgent } from '../helpers/agent.js';
import { useMediaServices } from '../helpers/media.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();
let t: TestAgent;
let output: string;
let admin: string;
beforeAll(async () => {
  output = tempDir('output-');
  t = await startTestAgent({ media_roots: [output], media_min_free_mb: 0 }, m.storage());
  admin = t.agent.store.settings.token('admin_token');
});
afterAll(() => t.stop());

async function call<T>(method: string, path: string, body?: unknown, token = admin): Promise<{ status: number; body: T }> {
  const answer = await fetch(`${t.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await answer.text();
  return { status: answer.status, body: (text ? JSON.parse(text) : null) as T };
}

const status = (session: string) =>
  t.agent.store.db.prepare('SELECT status FROM media WHERE session_id = ?').pluck().get(session) as string | undefined;
const counts = async () => (await call<PanelState>('GET', '/api/state')).body.uploads;

async function capture(session: string, size: number): Promise<void> {
  const file = join(output, `${session}.jpg`);
  writeFileSync(file, randomBytes(size));
  expect((await t.post(JSON.stringify({ type: 'session', session: { id: session, type: 'still', file } }))).status).toBe(202);
}

describe('/api/uploads', () => {
  it('lists the uploads, counts those to go in /api/state, and retries a failed one after the fix', async () => {
    await capture('ok-1', 2_000);
    await waitFor('the first upload', () => status('ok-1') === 'uploaded');
    expect(await counts()).toEqual({ waiting: 0, uploading: 0, failed: 0, bytes: 0, bytesDone: 0 });

    // The storage away: the upload waits, without spending attempts, and counts as to go.
    await m.s3.down('refuse');
    try {
      await capture('away-1', 5_000);
      await waitFor('the upload found the storage away', () => t.agent.store.media.list({ status: 'waiting', limit: 1 })[0]?.lastError);
      // It may be on another try as the state is read.
      const away = await counts();
      expect(away).toMatchObject({ failed: 0, bytes: 5_000, bytesDone: 0 });
      expect(away.waiting + away.uploading).toBe(1);
    } finally {
      await m.s3.up();
    }
    await waitFor('the upload after the storage came back', () => status('away-1') === 'uploaded', 15_000);

    setStorage(t.agent.store, { ...m.storage(), secretAccessKey: 'wrong-secret-0000000000000000000000000000' });
    await capture('bad-1', 3_000);
    await waitFor('the upload failed', () => status('bad-1') === 'failed');
    expect(await counts()).toEqual({ waiting: 0, uploading: 0, failed: 1, bytes: 0, bytesDone: 0 });

    const page = await call<UploadPage>('GET', '/api/uploads');
    expect(page.status).toBe(200);
    expect(page.body.now).toBeGreaterThan(0);
    expect(page.body.items.map((u) => [u.sessionId, u.status, u.size, u.bytesDone])).toEqual([
      ['bad-1', 'failed', 3000, 0],
      ['away-1', 'uploaded', 5000, 5000],
      ['ok-1', 'uploaded', 2000, 2000],
    ]);
    const [failed] = page.body.items;
    expect(failed).toMatchObject({
      name: 'bad-1.jpg',
      lastError: 'the storage refused the secret key: check it (booth-agent storage set)',
    });
    expect((await call<UploadPage>('GET', '/api/uploads?status=uploaded&limit=1')).body.items.map((u) => u.sessionId)).toEqual(['away-1']);

    const uploaded = page.body.items[1]!.id;
    expect(await call<Refused>('GET', '/api/uploads?status=lost')).toMatchObject({ status: 400, body: { issues: [{ path: 'status' }] } });
    expect(await call<Refused>('POST', '/api/uploads/retry', {})).toMatchObject({
      status: 400,
      body: { error: 'give one upload id, or all (not both)' },
    });
    expect(await call<Refused>('POST', '/api/uploads/retry', { id: failed!.id, all: true })).toMatchObject({ status: 400 });
    expect(await call<Refused>('POST', '/api/uploads/retry', { all: false })).toMatchObject({ status: 400 });
    expect(await call<Refused>('POST', '/api/uploads/retry', { id: 'med_nothing' })).toMatchObject({
      status: 404,
      body: { error: 'there is no upload med_nothing' },
    });
    expect(await call<Refused>('POST', '/api/uploads/retry', { id: uploaded })).toMatchObject({
      status: 409,
      body: { error: `upload ${uploaded} is uploaded; only failed uploads can be retried` },
    });

    setStorage(t.agent.store, m.storage());
    expect(await call<RetriedUploads>('POST', '/api/uploads/retry', { id: failed!.id })).toEqual({ status: 200, body: { retried: 1 } });
    await waitFor('the upload after the retry', () => status('bad-1') === 'uploaded', 10_000);
    expect(await call<RetriedUploads>('POST', '/api/uploads/retry', { all: true })).toEqual({ status: 200, body: { retried: 0 } });
    expect(await counts()).toEqual({ waiting: 0, uploading: 0, failed: 0, bytes: 0, bytesDone: 0 });
  });

  it('is behind the admin token', async () => {
    const ingest = t.agent.store.settings.token('ingest_token');
    for (const [method, path] of [
      ['GET', '/api/uploads'],
      ['POST', '/api/uploads/retry'],
    ] as const) {
      expect((await call(method, path, undefined, ingest)).status, `${method} ${path}`).toBe(401);
    }
  });
});
