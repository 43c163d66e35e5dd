// Capture → outbox → signed delivery to a real HTTPS receiver on 127.0.0.1.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { PAYLOAD_TYPES } from '../../src/core/payload.js';
import { generateSecret } from '../../src/core/signing.js';
import { Dispatcher } from '../../src/delivery/dispatcher.js';
import { Sender } from '../../src/delivery/sender.js';
import { openStore } from '../../src/store/store.js';
import { VERSION } from '../../src/version.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { contractExamples } from '../helpers/contract.js';
import { startReceiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.stop();
});

async function setup(settings = {}, receiverOptions: Parameters<typeof startReceiver>[0] = {}) {
  const receiver = await startReceiver(receiverOptions);
  running.push({ stop: () => receiver.close() });
  const t = await startTestAgent(settings);
  running.push(t);
  const endpoint = t.addEndpoint(receiver.url, { ca: receiver.certificate.cert });
  return { receiver, t, endpoint };
}

/** A session payload with a unique id, as text. */
const session = (id: string) =>
  JSON.stringify({
    type: 'session',
    session: { id, direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://photos.example.com/a', type: 'gif' },
  });

const onlyDelivery = (t: TestAgent) => t.agent.store.views.list({ limit: 1 })[0]!;

describe('every contract example, byte-exact and signed', () => {
  it.each(PAYLOAD_TYPES)("%s reaches the receiver with the booth's bytes, verifiable both ways", async (type) => {
    const { receiver, t, endpoint } = await setup();
    // The contract's text as written, with multibyte text and an unknown field added by hand.
    const original = contractExamples[type]!.replace('"event_id": 1,', '"event_id": 1,\n  "note": "Zoë’s café ☕ 写真 🎉",');
    const body = original.replace(/\}\s*$/, ',\n  "timestamp": "2025-01-15T14:30:00+00:00"\n}\n');
    const answer = await t.post(body);
    expect(answer).toEqual({ status: 202, json: { id: expect.stringMatching(/^evt_/), deliveries: 1 } });

    const [received] = await waitFor('the delivery', () => receiver.requests.length > 0 && receiver.requests);
    expect(received!.body.equals(Buffer.from(body, 'utf8'))).toBe(true);

    const headers = received!.headers;
    expect(headers['content-type']).toBe('application/json');
    expect(headers['user-agent']).toBe(`BoothAgent/${VERSION}`);
    expect(headers['x-booth-agent-test']).toBeUndefined();
    const expected = createHmac('sha256', endpoint.secret).update(received!.body).digest();
    expect(timingSafeEqual(Buffer.from(String(headers['x-signature']), 'hex'), expected)).toBe(true);
    const verified = new Webhook(endpoint.secret.slice('whsec_'.length)).verify(received!.body.toString('utf8'), {
      'webhook-id': String(headers['webhook-id']),
      'webhook-timestamp': String(headers['webhook-timestamp']),
      'webhook-signature': String(headers['webhook-signature']),
    });
    expect(verified).toEqual(JSON.parse(body));
    expect(headers['webhook-id']).toBe(onlyDelivery(t).id);
    await waitFor('delivered', () => onlyDelivery(t).status === 'delivered');
  });

  it('appends event_id and timestamp when the booth leaves them out, and changes nothing else', async () => {
    const { receiver, t } = await setup({ event_id: 77 });
    const original =
      '{ "type":"share" ,"session":{"id":"s1","direct_url":"https://a.example/1.jpg","site_url":"https://a.example/1","type":"still","big":12345678901234567890,"f":1.50},"share":{"id":"sh1","type":"sms","value":"+33 6 12 34 56 78"},"data_capture":{"sections":[]} }';
    const before = Date.now();
    expect((await t.post(original)).status).toBe(202);
    const [received] = await waitFor('the delivery', () => receiver.requests.length > 0 && receiver.requests);
    const text = received!.body.toString('utf8');
    const match = /^(.*),"event_id":77,"timestamp":"([^"]+)"(\})$/s.exec(text);
    expect(match).not.toBeNull();
    expect(match![1]! + match![3]!).toBe(original);
    const stamped = Date.parse(match![2]!);
    expect(stamped).toBeGreaterThanOrEqual(before - 1000);
    expect(stamped).toBeLessThanOrEqual(Date.now());
  });
});

describe('retry schedule against a real receiver', () => {
  it('500: four attempts, each after the retry delay, then failed', async () => {
    const { receiver, t } = await setup({}, { handler: () => ({ status: 500, body: 'boom: database down' }) });
    await t.post(session('r500'));
    await waitFor('failed', () => onlyDelivery(t).status === 'failed');
    expect(receiver.requests).toHaveLength(4);
    const gaps = receiver.requests.slice(1).map((r, i) => r.at - receiver.requests[i]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(140);
    const ids = new Set(receiver.requests.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    // Each attempt is signed afresh, with the time of that attempt.
    const endpointSecret = t.agent.store.endpoints.list()[0]!.secret.slice('whsec_'.length);
    for (const r of receiver.requests) {
      expect(Math.abs(Number(r.headers['webhook-timestamp']) - r.at / 1000)).toBeLessThan(2);
      const signed = {
        'webhook-id': String(r.headers['webhook-id']),
        'webhook-timestamp': String(r.headers['webhook-timestamp']),
        'webhook-signature': String(r.headers['webhook-signature']),
      };
      expect(() => new Webhook(endpointSecret).verify(r.body.toString('utf8'), signed)).not.toThrow();
    }
    const detail = t.agent.store.views.get(onlyDelivery(t).id)!;
    expect(detail.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500, 500]);
    expect(detail.attempts[0]!.responseHead?.toString()).toBe('boom: database down');
    expect(detail.attempts[0]!.reason).toContain('HTTP 500 from the endpoint; retry 1 of 3');
    expect(detail.lastError).toContain('4 attempts made, no retries left');
  });

  it('302: not followed, the Location named, failed after four attempts', async () => {
    const { receiver, t } = await setup({}, { handler: () => ({ status: 302, headers: { location: 'https://127.0.0.1:1/elsewhere' } }) });
    await t.post(session('r302'));
    await waitFor('failed', () => onlyDelivery(t).status === 'failed');
    expect(receiver.requests).toHaveLength(4);
    expect(receiver.requests.every((r) => r.path === '/hook')).toBe(true);
    expect(onlyDelivery(t).lastError).toContain('HTTP 302 redirect to https://127.0.0.1:1/elsewhere');
  });

  it('410: failed at once and the endpoint disabled', async () => {
    const { receiver, t, endpoint } = await setup({}, { handler: () => ({ status: 410 }) });
    await t.post(session('r410a'));
    await waitFor('failed', () => onlyDelivery(t).status === 'failed');
    expect(receiver.requests).toHaveLength(1);
    expect(t.agent.store.endpoints.get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410') });
    expect((await t.post(session('r410b'))).json.deliveries).toBe(0);
  });

  it('429 with Retry-After: waits as told and uses no retry', async () => {
    const { receiver, t } = await setup(
      {},
      {
        handler: (_r, i) => (i < 2 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }),
      },
    );
    await t.post(session('r429'));
    await waitFor('delivered', () => onlyDelivery(t).status === 'delivered', 10_000);
    expect(receiver.requests).toHaveLength(3);
    expect(receiver.requests[1]!.at - receiver.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(receiver.requests[2]!.at - receiver.requests[1]!.at).toBeGreaterThanOrEqual(950);
    const detail = t.agent.store.views.get(onlyDelivery(t).id)!;
    expect(detail.attemptsUsed).toBe(0);
    expect(detail.attempts[0]!.reason).toContain('asked to wait 1 s (Retry-After); no retry used');
  });

  it('a receiver that never answers: each attempt times out and counts, then failed', async () => {
    const { receiver, t } = await setup({ attempt_timeout_ms: 400 }, { handler: () => 'hang' });
    await t.post(session('hang'));
    await waitFor('failed', () => onlyDelivery(t).status === 'failed', 15_000);
    expect(receiver.requests).toHaveLength(4);
    const detail = t.agent.store.views.get(onlyDelivery(t).id)!;
    expect(detail.attempts.map((a) => a.outcome)).toEqual(['no-response', 'no-response', 'no-response', 'no-response']);
    expect(detail.attempts[0]!.reason).toContain('no answer within 400 ms');
    for (const a of detail.attempts) expect(a.durationMs).toBeGreaterThanOrEqual(380);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('an unreachable endpoint', () => {
  it('holds deliveries as waiting without using retries, then drains by itself when a receiver appears', async () => {
    const port = await freePort();
    const t = await startTestAgent();
    running.push(t);
    const { certificate } = await startReceiver().then(async (r) => (await r.close(), r));
    const endpoint = t.addEndpoint(`https://127.0.0.1:${port}/hook`, { ca: certificate.cert });
    for (let n = 0; n < 6; n++) expect((await t.post(session(`off${n}`))).status).toBe(202);
    await waitFor('all waiting', () => t.agent.store.views.counts().waiting === 6);
    expect(t.agent.store.endpoints.get(endpoint.id)?.unreachableSince).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const views = t.agent.store.views.list({ limit: 10 });
    expect(views.every((d) => d.status === 'waiting' && d.attemptsUsed === 0)).toBe(true);
    const attempts = views.flatMap((d) => t.agent.store.views.attempts(d.id));
    expect(attempts.every((a) => a.outcome === 'unreachable' && a.reason.includes('connection refused'))).toBe(true);
    // Checks are handshakes, not attempts: a few attempts at most, not one per check.
    expect(attempts.length).toBeLessThanOrEqual(6);

    const receiver = await startReceiver({ port });
    running.push({ stop: () => receiver.close() });
    await waitFor('drained', () => t.agent.store.views.counts().delivered === 6, 10_000);
    const sessions = receiver.requests.map((r) => JSON.parse(r.body.toString()).session.id).sort();
    expect(sessions).toEqual(['off0', 'off1', 'off2', 'off3', 'off4', 'off5']);
    expect(t.agent.store.views.list({ limit: 10 }).every((d) => d.attemptsUsed === 0)).toBe(true);
    expect(t.agent.store.endpoints.get(endpoint.id)?.unreachableSince).toBeNull();
  });

  it('a strict-order endpoint drains in capture order', async () => {
    const port = await freePort();
    const t = await startTestAgent();
    running.push(t);
    const { certificate } = await startReceiver().then(async (r) => (await r.close(), r));
    t.addEndpoint(`https://127.0.0.1:${port}/hook`, { ca: certificate.cert, strictOrder: true });
    for (let n = 0; n < 8; n++) await t.post(session(`order${n}`));
    await waitFor('all waiting', () => t.agent.store.views.counts().waiting === 8);
    const receiver = await startReceiver({ port });
    running.push({ stop: () => receiver.close() });
    await waitFor('drained', () => t.agent.store.views.counts().delivered === 8, 10_000);
    expect(receiver.requests.map((r) => JSON.parse(r.body.toString()).session.id)).toEqual(
      Array.from({ length: 8 }, (_, n) => `order${n}`),
    );
  });

  it('one endpoint hanging never slows another', async () => {
    const slow = await startReceiver({ handler: () => 'hang' });
    const fast = await startReceiver();
    running.push({ stop: () => slow.close() }, { stop: () => fast.close() });
    const t = await startTestAgent({ attempt_timeout_ms: 5000 });
    running.push(t);
    t.addEndpoint(slow.url, { ca: slow.certificate.cert });
    const healthy = t.addEndpoint(fast.url, { ca: fast.certificate.cert });
    const started = Date.now();
    for (let n = 0; n < 12; n++) await t.post(session(`both${n}`));
    // Received is not yet recorded: the answer still has to come back and be committed.
    const recorded = () => t.agent.store.views.list({ limit: 100 }).filter((d) => d.endpointId === healthy.id && d.status === 'delivered');
    await waitFor('the healthy endpoint to have everything, recorded', () => fast.requests.length === 12 && recorded().length === 12, 4000);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(slow.requests.length).toBeGreaterThan(0);
  });
});

describe('deliveries claimed ahead of a free slot', () => {
  const leased = (t: TestAgent) => t.agent.store.db.prepare('SELECT COUNT(*) FROM deliveries WHERE lease_owner IS NOT NULL').pluck().get();

  it('pausing mid-drain sends nothing beyond the attempts in flight, and gives the claims back', async () => {
    const { receiver, t } = await setup({ max_in_flight: 4 }, { handler: () => ({ status: 200, delayMs: 40 }) });
    for (let n = 0; n < 40; n++) expect((await t.post(session(`pause${n}`))).status).toBe(202);
    await waitFor('a few delivered', () => receiver.requests.length >= 6);
    t.agent.store.settings.write('paused', true);
    t.agent.dispatcher.wake();
    const atPause = receiver.requests.length;
    await waitFor('nothing in flight or claimed', () => leased(t) === 0, 3000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Only what was already on the wire when the pause came may arrive after it.
    expect(receiver.requests.length).toBeLessThanOrEqual(atPause + 4);
    const { delivered, queued } = t.agent.store.views.counts();
    expect(delivered).toBe(receiver.requests.length);
    expect(queued).toBe(40 - delivered);
    expect(queued).toBeGreaterThan(0);

    t.agent.store.settings.write('paused', false);
    t.agent.dispatcher.wake();
    await waitFor('all delivered', () => t.agent.store.views.counts().delivered === 40, 10_000);
    const ids = receiver.requests.map((r) => String(r.headers['webhook-id']));
    expect(new Set(ids).size).toBe(40);
    expect(receiver.requests.map((r) => JSON.parse(r.body.toString()).session.id).sort()).toEqual(
      Array.from({ length: 40 }, (_, n) => `pause${n}`).sort(),
    );
  });

  it('an endpoint lost mid-drain: the rest wait, claimed by no one, and drain once it is back', async () => {
    const first = await startReceiver({ handler: () => ({ status: 200, delayMs: 20 }) });
    const t = await startTestAgent({ max_in_flight: 4 });
    running.push(t);
    const endpoint = t.addEndpoint(first.url, { ca: first.certificate.cert });
    for (let n = 0; n < 40; n++) expect((await t.post(session(`lost${n}`))).status).toBe(202);
    await waitFor('a few delivered', () => first.requests.length >= 6);
    await first.close();
    await waitFor('the endpoint held', () => t.agent.store.endpoints.get(endpoint.id)?.unreachableSince !== null);
    await waitFor('nothing claimed while it is away', () => leased(t) === 0);
    const { delivered, waiting } = t.agent.store.views.counts();
    expect(delivered + waiting).toBe(40);
    expect(waiting).toBeGreaterThan(0);

    const second = await startReceiver({ port: first.port });
    running.push({ stop: () => second.close() });
    await waitFor('all delivered', () => t.agent.store.views.counts().delivered === 40, 10_000);
    expect(leased(t)).toBe(0);
    const ids = new Set([...first.requests, ...second.requests].map((r) => String(r.headers['webhook-id'])));
    expect(ids.size).toBe(40);
    // A request cut by the closing receiver may have used an attempt; waiting used none.
    expect(t.agent.store.views.list({ limit: 100 }).every((d) => d.attemptsUsed <= 1)).toBe(true);
  });

  it('an endpoint removed while its attempt is in flight costs the other endpoint nothing', async () => {
    // The kept endpoint answers its first request at `at`, the rest later; the removed one
    // answers just after `at`, so its attempts are recorded in a turn along with the kept
    // one's first, which must not be lost with them.
    let at = Infinity;
    const until = (time: number) => Math.max(0, time - Date.now());
    const gone = await startReceiver({ handler: () => ({ status: 200, delayMs: until(at + 50) }) });
    const kept = await startReceiver({ handler: (_request, index) => ({ status: 200, delayMs: until(index === 0 ? at : at + 400) }) });
    running.push({ stop: () => gone.close() }, { stop: () => kept.close() });
    const t = await startTestAgent({ max_in_flight: 4, attempt_timeout_ms: 5000 });
    running.push(t);
    const removed = t.addEndpoint(gone.url, { ca: gone.certificate.cert });
    t.addEndpoint(kept.url, { ca: kept.certificate.cert });
    at = Date.now() + 1500;
    for (let n = 0; n < 12; n++) await t.post(session(`both${n}`));
    await waitFor('attempts in flight to the endpoint about to go', () => gone.requests.length > 0);
    expect(Date.now()).toBeLessThan(at);
    expect(t.agent.store.endpoints.remove(removed.id)).toBe(true);
    await waitFor('everything delivered to the other', () => t.agent.store.views.counts().delivered === 12, 10_000);
    expect(new Set(kept.requests.map((r) => String(r.headers['webhook-id']))).size).toBe(kept.requests.length);
    expect(leased(t)).toBe(0);
  });

  it('a claim that waited until its lease could run out during its attempt is claimed afresh before it is sent', async () => {
    // One in flight at a time, so the other two wait behind the first, leased; the clock
    // the loop reads is moved on while the first is out.
    let clock = Date.now();
    const leaseMs = 60_000;
    const attemptTimeoutMs = 5_000;
    const store = openStore(join(tempDir('lease-'), 'outbox.db'));
    running.push({ stop: async () => store.close() });
    store.settings.writeAll({ max_in_flight: 1, lease_ms: leaseMs, attempt_timeout_ms: attemptTimeoutMs });
    const leaseLeft: number[] = [];
    const receiver = await startReceiver({
      handler: (request, index) => {
        const id = String(request.headers['webhook-id']);
        leaseLeft.push((store.db.prepare('SELECT lease_expires_at FROM deliveries WHERE id = ?').pluck().get(id) as number) - clock);
        return { status: 200, delayMs: index === 0 ? 300 : 0 };
      },
    });
    running.push({ stop: () => receiver.close() });
    store.endpoints.add(
      { url: receiver.url, secret: generateSecret(), types: null, strictOrder: false, ca: receiver.certificate.cert },
      clock,
    );
    for (let n = 0; n < 3; n++) {
      store.queue.capture(
        { type: 'session', body: Buffer.from(session(`late${n}`)), dedupeKey: null, occurredAt: '', sessionId: null },
        clock,
        1000,
      );
    }
    const sender = new Sender({ userAgent: 'test', connectTimeoutMs: 5000, attemptTimeoutMs });
    const dispatcher = new Dispatcher({
      queue: store.queue,
      endpoints: store.endpoints,
      settings: () => store.settings.read(),
      sender,
      log: pino({ level: 'silent' }),
      owner: 'run:lease-test',
      now: () => clock,
    });
    running.push({ stop: () => dispatcher.stop(1000).then(() => sender.close()) });
    dispatcher.start();
    await waitFor('the first attempt out, the others claimed behind it', () => receiver.requests.length === 1);
    expect(store.db.prepare('SELECT COUNT(*) FROM deliveries WHERE lease_owner IS NOT NULL').pluck().get()).toBe(3);
    // Less of the lease is left than an attempt may take: sent now, the delivery could be claimed again mid-attempt.
    clock += leaseMs - attemptTimeoutMs;
    await waitFor('all delivered', () => store.views.counts().delivered === 3, 10_000);
    expect(new Set(receiver.requests.map((r) => String(r.headers['webhook-id']))).size).toBe(3);
    expect(leaseLeft.slice(1).every((left) => left >= leaseMs - 1000)).toBe(true);
  });

  it('nothing stays claimed once the agent has stopped', async () => {
    const { receiver, t } = await setup({ max_in_flight: 4 }, { handler: () => ({ status: 200, delayMs: 30 }) });
    for (let n = 0; n < 30; n++) await t.post(session(`stop${n}`));
    await waitFor('some delivered', () => receiver.requests.length >= 4);
    const file = t.agent.store.db.name;
    await t.stop();
    const store = openStore(file);
    try {
      expect(store.db.prepare('SELECT COUNT(*) FROM deliveries WHERE lease_owner IS NOT NULL').pluck().get()).toBe(0);
      const counts = store.views.counts();
      expect(counts.delivered + counts.queued).toBe(30);
      // Every attempt that was answered is on record.
      expect(counts.delivered).toBe(new Set(receiver.requests.map((r) => String(r.headers['webhook-id']))).size);
    } finally {
      store.close();
    }
  });
});
