// The storage's admin API against a real agent and the S3-compatible test service: GET, PUT,
// DELETE /api/storage and POST /api/storage/verify, behind the admin token, never answering the secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Refused, StorageRequest, StorageVerifyReport, StorageView } from '../../src/server/admin-types.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';

let t: TestAgent;
let server: S3Server;
let admin: string;
beforeAll(async () => {
  [t, server] = await Promise.all([startTestAgent(), startS3Server({ publicPrefixes: ['booth/'] })]);
  admin = t.agent.store.settings.token('admin_token');
});
afterAll(async () => {
  await t.stop();
  await server.close();
});

async function call<T>(method: string, path: string, body?: unknown, token = admin): Promise<{ status: number; body: T; text: string }> {
  const answer = await fetch(`${t.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await answer.text();
  return { status: answer.status, body: (text ? JSON.parse(text) : null) as T, text };
}

const request = (): StorageRequest => ({
  url: server.endpoint,
  bucket: server.bucket,
  prefix: 'booth/',
  accessKeyId: server.accessKeyId,
  secretAccessKey: server.secretAccessKey,
  publicUrl: `${server.endpoint}/${server.bucket}`,
  pathStyle: true,
  ca: server.certificate.cert,
});

describe('/api/storage', () => {
  it('sets, shows, verifies and removes the storage; the secret is in no answer and not in /api/state', async () => {
    expect(await call('GET', '/api/storage')).toMatchObject({ status: 404, body: { error: 'no storage is set' } });
    const set = await call<StorageView>('PUT', '/api/storage', request());
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ bucket: server.bucket, links: 'public', hasCa: true, secretLocked: false });
    const shown = await call<StorageView>('GET', '/api/storage');
    expect(shown.body).toEqual(set.body);
    const state = await call<{ storage: StorageView | null }>('GET', '/api/state');
    expect(state.body.storage).toEqual(set.body);

    const verified = await call<StorageVerifyReport>('POST', '/api/storage/verify');
    expect(verified.status).toBe(200);
    expect(verified.body.ok).toBe(true);
    expect(verified.body.steps.map((s) => s.step)).toEqual(['upload', 'read', 'delete']);

    for (const answer of [set, shown, state, verified]) expect(answer.text).not.toContain(server.secretAccessKey);
    expect(await call('DELETE', '/api/storage')).toMatchObject({ status: 200, body: { removed: true } });
    expect((await call<{ storage: StorageView | null }>('GET', '/api/state')).body.storage).toBeNull();
    expect(await call('DELETE', '/api/storage')).toMatchObject({ status: 404 });
    expect(await call('POST', '/api/storage/verify')).toMatchObject({ status: 404, body: { error: 'no storage is set' } });
  });

  it('answers 409 naming the photos that wait for the storage, and removes it with ?force=true', async () => {
    expect((await call('PUT', '/api/storage', request())).status).toBe(200);
    t.agent.store.db
      .prepare(
        `INSERT INTO media (id, session_id, event_id, name, local_path, size, sha256, content_type, key, status, next_attempt_at, created_at)
         VALUES ('med_api', 's', 'evt_api', 'p.jpg', '/x/p.jpg', 10, 'aa', 'image/jpeg', 'booth/p.jpg', 'waiting', ?, 0)`,
      )
      .run(Date.now() + 3_600_000);
    const refused = await call<Refused>('DELETE', '/api/storage');
    expect(refused).toMatchObject({ status: 409, body: { error: expect.stringMatching(/^1 photo waits to be uploaded to it: /) } });
    expect(await call('DELETE', '/api/storage?force=false')).toMatchObject({ status: 409 });
    expect(await call('DELETE', '/api/storage?force=true')).toMatchObject({ status: 200, body: { removed: true, uploadsFailed: 1 } });
    expect(t.agent.store.db.prepare(`SELECT status FROM media WHERE id = 'med_api'`).pluck().get()).toBe('failed');
  });

  it('refuses bad fields with each issue and its path, and keeps the stored secret when none is sent', async () => {
    const refused = await call<Refused>('PUT', '/api/storage', { ...request(), url: 'http://x', region: 'EU', extra: 1 });
    expect(refused.status).toBe(400);
    expect(refused.body.issues?.map((i) => i.path)).toEqual(['url', 'region', '']);
    expect(await call('PUT', '/api/storage', request())).toMatchObject({ status: 200 });
    const { secretAccessKey: _secret, ...rest } = request();
    expect(await call('PUT', '/api/storage', { ...rest, prefix: 'other/' })).toMatchObject({ status: 200, body: { prefix: 'other/' } });
    expect(t.agent.store.storage.get()?.secretAccessKey).toBe(server.secretAccessKey);
  });

  it('is behind the admin token', async () => {
    const ingest = t.agent.store.settings.token('ingest_token');
    for (const [method, path] of [
      ['GET', '/api/storage'],
      ['PUT', '/api/storage'],
      ['DELETE', '/api/storage'],
      ['POST', '/api/storage/verify'],
    ] as const) {
      expect((await call(method, path, method === 'PUT' ? request() : undefined, ingest)).status).toBe(401);
    }
  });
});
