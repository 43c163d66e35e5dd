// The organiser's data through the admin API, against a real agent and real HTTPS
// receivers on loopback: an endpoint added mid-event is sent exactly the earlier events it
// lacks, `again` sends delivered ones under their webhook-ids, and the export downloads.
import { request } from 'node:http';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait.js';

let t: TestAgent;
let admin: string;
let crm: Receiver;
let gallery: Receiver;
beforeAll(async () => {
  crm = await startReceiver();
  gallery = await startReceiver();
  t = await startTestAgent({ max_retries: 0 });
  admin = t.agent.store.settings.token('admin_token');
});
afterAll(async () => {
  await t.stop();
  await crm.close();
  await gallery.close();
});

function call(path: string, options: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer; json: any }>((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      {
        host: '127.0.0.1',
        port: t.agent.port,
        method: options.method ?? 'GET',
        path,
        headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const all = Buffer.concat(chunks);
          const json = (res.headers['content-type'] ?? '').toString().startsWith('application/json') ? JSON.parse(all.toString()) : null;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: all, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const event = (type: string, id: string) =>
  JSON.stringify({
    type,
    session: { id, direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://photos.example.com/a', type: 'still' },
    ...(type === 'share'
      ? { share: { id: `share-${id}`, type: 'email', value: `${id}@example.com` }, data_capture: { sections: [] } }
      : type === 'survey'
        ? { survey: { completed_at: '2026-06-01T10:00:00Z', data_capture: { sections: [] } } }
        : {}),
  });

const sessionIds = (receiver: Receiver) => receiver.requests.map((r) => JSON.parse(r.body.toString()).session.id as string);

describe('replay to an endpoint added mid-event', () => {
  let galleryId: string;

  it('sends exactly the earlier events it lacks, of the types it takes, and says what it skipped', async () => {
    t.addEndpoint(crm.url, { ca: crm.certificate.cert });
    const morning = [
      ['session', 'm1'],
      ['share', 'm2'],
      ['survey', 'm3'],
      ['session', 'm4'],
      ['share', 'm5'],
    ];
    for (const [type, id] of morning) expect((await t.post(event(type!, id!))).status).toBe(202);
    await waitFor('the morning at the CRM', () => crm.requests.length === 5, 10_000);

    const added = await call('/api/endpoints', {
      method: 'POST',
      body: { url: gallery.url, types: ['session', 'share'], ca: gallery.certificate.cert },
    });
    expect(added.status).toBe(201);
    galleryId = added.json.id;
    // Captured after it was added: it gets these two by itself, and the second fails.
    gallery.handle((r) => (r.body.includes('"a2"') ? { status: 500 } : { status: 200 }));
    await t.post(event('session', 'a1'));
    await t.post(event('session', 'a2'));
    await waitFor('the afternoon at the gallery', () => t.agent.store.views.counts().failed === 1, 10_000);
    expect(sessionIds(gallery).sort()).toEqual(['a1', 'a2']);

    const replayed = await call(`/api/endpoints/${galleryId}/replay`, { method: 'POST', body: {} });
    expect(replayed.status).toBe(200);
    expect(replayed.json).toEqual({
      endpointId: galleryId,
      queued: 4,
      resent: 0,
      waiting: false,
      skipped: { delivered: 1, onItsWay: 0, failed: 1, notSubscribed: 1 },
    });
    await waitFor('the morning at the gallery', () => gallery.requests.length === 6, 10_000);
    expect(sessionIds(gallery).slice(2).sort()).toEqual(['m1', 'm2', 'm4', 'm5']);
    // New deliveries: webhook-ids of their own, not the CRM's.
    const crmIds = new Set(crm.requests.map((r) => r.headers['webhook-id']));
    expect(gallery.requests.slice(2).every((r) => !crmIds.has(r.headers['webhook-id']))).toBe(true);
  });

  it('with again, sends the delivered ones again under the same webhook-ids', async () => {
    const before = gallery.requests.length;
    const shares = gallery.requests.filter((r) => r.body.includes('"share"'));
    const answer = await call(`/api/endpoints/${galleryId}/replay`, { method: 'POST', body: { types: ['share'], again: true } });
    expect(answer.json).toMatchObject({ queued: 0, resent: 2, skipped: { delivered: 0, onItsWay: 0, failed: 0, notSubscribed: 0 } });
    await waitFor('the shares again', () => gallery.requests.length === before + 2, 10_000);
    const ids = (requests: typeof shares) => requests.map((r) => r.headers['webhook-id']).sort();
    expect(ids(gallery.requests.slice(before))).toEqual(ids(shares));
  });

  it('counts what is already on its way, and refuses an unknown or disabled endpoint', async () => {
    expect((await call('/api/pause', { method: 'POST' })).status).toBe(200);
    const again = await call(`/api/endpoints/${galleryId}/replay`, { method: 'POST', body: { types: ['session'], again: true } });
    expect(again.json).toMatchObject({ queued: 0, resent: 3, skipped: { failed: 1 } });
    const onItsWay = await call(`/api/endpoints/${galleryId}/replay`, { method: 'POST', body: {} });
    expect(onItsWay.json).toMatchObject({ queued: 0, resent: 0, skipped: { delivered: 2, onItsWay: 3, failed: 1, notSubscribed: 1 } });
    await call('/api/resume', { method: 'POST' });

    expect((await call('/api/endpoints/ep_nope/replay', { method: 'POST', body: {} })).status).toBe(404);
    const bad = await call(`/api/endpoints/${galleryId}/replay`, { method: 'POST', body: { since: 'this morning', types: ['selfie'] } });
    expect(bad.status).toBe(400);
    expect(bad.json.issues.map((i: { path: string }) => i.path)).toEqual(['since', 'types.0']);
    await call(`/api/endpoints/${galleryId}`, { method: 'PATCH', body: { enabled: false } });
    const disabled = await call(`/api/endpoints/${galleryId}/replay`, { method: 'POST', body: {} });
    expect(disabled.status).toBe(409);
    expect(disabled.json.error).toContain('is disabled');
  });
});

describe('GET /api/export', () => {
  it('downloads the CSV as an attachment, streamed, and only with the admin token', async () => {
    const answer = await call('/api/export?format=csv&type=session&type=share');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(answer.headers['content-disposition']).toMatch(/^attachment; filename="booth-agent-export-\d{4}-\d\d-\d\dT\d{6}Z\.csv"$/);
    expect(answer.headers['transfer-encoding']).toBe('chunked');
    expect([...answer.body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse(answer.body, { bom: true, columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.session_id)).toEqual(['m1', 'm2', 'm4', 'm5', 'a1', 'a2']);
    expect(rows[0]![`${crm.url} status`]).toBe('delivered');

    const jsonl = await call('/api/export?format=jsonl&type=survey');
    expect(jsonl.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(JSON.parse(jsonl.body.toString()).payload).toMatchObject({ type: 'survey', event_id: 1, session: { id: 'm3' } });

    expect((await call('/api/export', { headers: { authorization: '' } })).status).toBe(401);
    expect((await call('/api/export', { headers: { authorization: `Bearer ${t.token}` } })).status).toBe(401);
    const bad = await call('/api/export?since=noon&format=xls');
    expect(bad.status).toBe(400);
    expect(bad.json.issues.map((i: { path: string }) => i.path).sort()).toEqual(['format', 'since']);
  });
});
