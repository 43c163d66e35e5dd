// Proof under fire (issue 6): receivers that misbehave, a long outage with 10,000 events,
// a full disk, a damaged database, and fuzzed input. Each scenario ends by checking, against
// the receiver's record, that every acknowledged event arrived at least once and that
// duplicates carry the same webhook-id.
import { writeFileSync, readFileSync, statSync, truncateSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent.js';
import { validatePayload } from '../../src/core/payload.js';
import { DEFAULT_SETTINGS } from '../../src/core/settings.js';
import { openStore } from '../../src/store/store.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { contractExamples } from '../helpers/contract.js';
import { startReceiver, type Handler, type Receiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

async function setup(handler: Handler, settings = {}, port?: number): Promise<{ t: TestAgent; receiver: Receiver }> {
  const receiver = await startReceiver({ handler, ...(port ? { port } : {}) });
  running.push({ stop: () => receiver.close() });
  const t = await startTestAgent(settings);
  running.push(t);
  t.addEndpoint(receiver.url, { ca: receiver.certificate.cert });
  return { t, receiver };
}

const session = (id: string) =>
  JSON.stringify({
    type: 'session',
    session: { id, direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://photos.example.com/a', type: 'still' },
  });

/** Every acknowledged session id reached the receiver, and each with one webhook-id only. */
function expectAllDelivered(acknowledged: string[], receiver: Receiver): void {
  const ids = new Map<string, Set<string>>();
  for (const r of receiver.requests) {
    const sessionId = JSON.parse(r.body.toString()).session?.id as string;
    if (!ids.has(sessionId)) ids.set(sessionId, new Set());
    ids.get(sessionId)!.add(String(r.headers['webhook-id']));
  }
  for (const id of acknowledged) expect(ids.get(id)?.size, id).toBe(1);
}

async function captureAll(t: TestAgent, prefix: string, n: number): Promise<string[]> {
  const acknowledged: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}-${i}`;
    if ((await t.post(session(id))).status === 202) acknowledged.push(id);
  }
  return acknowledged;
}

describe('misbehaving receivers', () => {
  it('slow (answers after 1.5 s with a 3 s timeout): everything delivered, first try', async () => {
    const { t, receiver } = await setup(() => ({ status: 200, delayMs: 1500 }), { attempt_timeout_ms: 3000 });
    const acknowledged = await captureAll(t, 'slow', 8);
    await waitFor('all delivered', () => t.agent.store.views.counts().delivered === 8, 20_000);
    expectAllDelivered(acknowledged, receiver);
    expect(receiver.requests).toHaveLength(8);
  });

  it('hangs past the timeout, then recovers: retried, delivered, one webhook-id each', async () => {
    let hung = 0;
    const { t, receiver } = await setup(() => (hung++ < 4 ? 'hang' : { status: 200 }), { attempt_timeout_ms: 400 });
    const acknowledged = await captureAll(t, 'hang', 4);
    await waitFor('all delivered', () => t.agent.store.views.counts().delivered === 4, 20_000);
    expectAllDelivered(acknowledged, receiver);
  });

  it('resets the connection mid-response: counted as answered, and delivered', async () => {
    let n = 0;
    const { t, receiver } = await setup(() => (n++ % 2 === 0 ? 'reset-mid-response' : { status: 200 }));
    const acknowledged = await captureAll(t, 'midreset', 6);
    await waitFor('all delivered', () => t.agent.store.views.counts().delivered === 6, 20_000);
    expectAllDelivered(acknowledged, receiver);
  });

  it('closes the connection without answering: a failed attempt, retried, then delivered', async () => {
    let n = 0;
    const { t, receiver } = await setup(() => (n++ < 2 ? 'reset' : { status: 200 }));
    const acknowledged = await captureAll(t, 'reset', 4);
    await waitFor('all delivered', () => t.agent.store.views.counts().delivered === 4, 20_000);
    expectAllDelivered(acknowledged, receiver);
    const reasons = t.agent.store.views.list({ limit: 10 }).flatMap((d) => t.agent.store.views.attempts(d.id).map((a) => a.reason));
    expect(reasons.filter((r) => r.includes('closed the connection without answering'))).toHaveLength(2);
  });

  it('answers a 10 MB body: delivered, 4 KiB of it kept', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 'a');
    const { t, receiver } = await setup(() => ({ status: 200, body: big }));
    const acknowledged = await captureAll(t, 'big', 3);
    await waitFor('all delivered', () => t.agent.store.views.counts().delivered === 3, 20_000);
    expectAllDelivered(acknowledged, receiver);
    const attempt = t.agent.store.views.attempts(t.agent.store.views.list({ limit: 1 })[0]!.id)[0]!;
    expect(attempt.responseHead).toHaveLength(4096);
  });

  it('answers 200 to one attempt in three: all delivered within the four attempts', async () => {
    const tries = new Map<string, number>();
    const { t, receiver } = await setup((request) => {
      const id = String(request.headers['webhook-id']);
      tries.set(id, (tries.get(id) ?? 0) + 1);
      return tries.get(id)! % 3 === 0 ? { status: 200 } : { status: 503 };
    });
    const acknowledged = await captureAll(t, 'third', 9);
    await waitFor('all delivered', () => t.agent.store.views.counts().delivered === 9, 30_000);
    expectAllDelivered(acknowledged, receiver);
    expect(t.agent.store.views.counts().failed).toBe(0);
  });
});

describe('a long outage', () => {
  it('10,000 events captured while the endpoint is down all drain by themselves, in order, no retry used', async () => {
    const probe = await startReceiver();
    const port = probe.port;
    await probe.close();
    // The receiver shares this process with the agent, which opens up to max_in_flight TLS
    // connections at once when the endpoint is back: on a busy machine an answer can take
    // longer than the short test timeouts, which would count as a retry used (or hold the
    // endpoint again). The contract's own timeouts are far from that; this test is about the outage.
    const t = await startTestAgent({ connect_timeout_ms: 10_000, attempt_timeout_ms: 15_000 });
    running.push(t);
    const endpoint = t.addEndpoint(`https://127.0.0.1:${port}/hook`, { ca: probe.certificate.cert });
    await t.post(session('outage-first'));
    await waitFor('the endpoint held', () => t.agent.store.endpoints.get(endpoint.id)?.unreachableSince !== null, 5000);
    const { store } = t.agent;
    store.db.transaction(() => {
      for (let i = 0; i < 10_000; i++) {
        const body = Buffer.from(session(`outage-${i}`));
        store.queue.capture(
          { type: 'session', body, dedupeKey: `session:outage-${i}`, occurredAt: '', sessionId: `outage-${i}` },
          Date.now(),
          1000,
        );
      }
    })();
    expect(store.views.counts().waiting).toBe(10_001);
    const receiver = await startReceiver({ port });
    running.push({ stop: () => receiver.close() });
    const started = Date.now();
    await waitFor('the backlog drained', () => store.views.counts().delivered === 10_001, 240_000, 200);
    console.info(`drained 10,001 deliveries in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(store.views.counts()).toMatchObject({ queued: 0, waiting: 0, failed: 0 });
    expect(store.db.prepare('SELECT MAX(attempts_used) FROM deliveries').pluck().get()).toBe(0);
    // Started in capture order: with at most max_in_flight in flight, no delivery arrives more places early than that.
    const arrival = receiver.requests.map((r) => String(r.headers['webhook-id']));
    const order = [...arrival].sort();
    const displacement = Math.max(...arrival.map((id, i) => order.indexOf(id) - i).slice(0, 500));
    expect(displacement).toBeLessThanOrEqual(DEFAULT_SETTINGS.max_in_flight);
    expectAllDelivered(
      Array.from({ length: 10_000 }, (_, i) => `outage-${i}`),
      receiver,
    );
  }, 300_000);
});

describe('a full disk', () => {
  it('capture answers 503 with the reason and keeps nothing half-written; it carries on when space returns', async () => {
    const { t, receiver } = await setup(() => ({ status: 200 }));
    const { db } = t.agent.store;
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    let refused: { status: number; json: any } | null = null;
    for (let i = 0; i < 200 && !refused; i++) {
      const answer = await t.post(JSON.stringify({ ...JSON.parse(session(`full-${i}`)), padding: 'x'.repeat(4000) }));
      if (answer.status !== 202) refused = answer;
    }
    expect(refused).toEqual({ status: 503, json: { error: expect.stringContaining('the disk is full: the event was not stored') } });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const orphans = db
      .prepare('SELECT COUNT(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq)')
      .pluck()
      .get();
    expect(orphans).toBe(0);
    db.pragma('max_page_count = 1073741823');
    expect((await t.post(session('after-full'))).status).toBe(202);
    await waitFor('delivered after the disk has room', () => receiver.requests.some((r) => r.body.includes('after-full')), 10_000);
  });
});

describe('a damaged database at start', () => {
  it.each([
    ['truncated', (file: string) => truncateSync(file, Math.floor(statSync(file).size / 3))],
    ['overwritten', (file: string) => writeFileSync(file, Buffer.alloc(statSync(file).size, 0x41))],
  ])('%s: the agent refuses to run, says how to recover, and keeps the file', async (_what, damage) => {
    const dataDir = tempDir('damaged-');
    const store = openStore(join(dataDir, 'outbox.db'));
    store.db.transaction(() => {
      for (let i = 0; i < 3000; i++) {
        store.queue.capture(
          { type: 'session', body: Buffer.from(session(`d-${i}`)), dedupeKey: null, occurredAt: '', sessionId: `d-${i}` },
          Date.now(),
          1000,
        );
      }
    })();
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    store.close();
    const file = join(dataDir, 'outbox.db');
    copyFileSync(file, join(dataDir, 'original.db'));
    damage(file);
    const before = readFileSync(file);
    await expect(startAgent({ dataDir, port: 0, managedConfig: [] })).rejects.toThrow(
      /cannot be read .*left as it is for recovery; see "Recovering a damaged database"/,
    );
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});

describe('fuzzed ingest', () => {
  it('random and mutated payloads are accepted and delivered byte-exact, or refused with 4xx; nothing invalid is stored', async () => {
    const { t, receiver } = await setup(() => ({ status: 200 }));
    const examples = Object.values(contractExamples).map((text) => JSON.parse(text));
    const mutated = fc
      .tuple(
        fc.constantFrom(...examples),
        fc.array(fc.tuple(fc.constantFrom('type', 'event_id', 'session', 'extra', 'timestamp', 'share', 'survey'), fc.jsonValue()), {
          maxLength: 3,
        }),
      )
      .map(([base, changes]) => JSON.stringify({ ...base, ...Object.fromEntries(changes) }));
    const noise = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    const accepted = new Map<string, string>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated, noise), async (body) => {
        const answer = await t.post(body);
        expect([200, 202, 400]).toContain(answer.status);
        if (answer.status === 202) accepted.set(answer.json.id, body);
      }),
      { numRuns: 300, seed: 20261127 },
    );
    const bodies = t.agent.store.db.prepare('SELECT id, body FROM events').all() as { id: string; body: Buffer }[];
    for (const { body } of bodies) expect(validatePayload(JSON.parse(body.toString('utf8'))).ok).toBe(true);
    await waitFor('every accepted event delivered', () => t.agent.store.views.counts().delivered === bodies.length, 30_000);
    const received = new Set(receiver.requests.map((r) => r.body.toString('utf8')));
    for (const { body } of bodies) expect(received.has(body.toString('utf8'))).toBe(true);
    expect(accepted.size).toBeGreaterThan(0);
  });
});
