// The in-flight limit against a real HTTPS receiver that takes a fixed number of requests
// at once and refuses the rest with 429 and Retry-After: 1, as rate-limited receivers do.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/core/signing.js';
import type { PanelState } from '../../src/server/admin-types.js';
import { openStore } from '../../src/store/store.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { startReceiver, type Handler } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.stop();
});

/** A receiver's handler that takes `capacity` requests at once for `delayMs` each, and refuses the rest at once. */
function limitedReceiver(capacity: number, delayMs: number) {
  let busyUntil: number[] = [];
  const seen = {
    accepted: new Set<string>(),
    requests: 0,
    refused: 0,
    mostAtOnce: 0,
    refusedAt: new Map<string, number>(),
    lateRetries: 0,
  };
  const handler: Handler = (request) => {
    const now = Date.now();
    const id = String(request.headers['webhook-id']);
    seen.requests++;
    const refusedAt = seen.refusedAt.get(id);
    // Retry-After: 1 means no sooner than a second after the refusal.
    if (refusedAt !== undefined && now - refusedAt < 1000) seen.lateRetries++;
    busyUntil = busyUntil.filter((until) => until > now);
    if (busyUntil.length >= capacity) {
      seen.refused++;
      seen.refusedAt.set(id, now);
      return { status: 429, headers: { 'retry-after': '1' } };
    }
    busyUntil.push(now + delayMs);
    seen.accepted.add(id);
    seen.mostAtOnce = Math.max(seen.mostAtOnce, busyUntil.length);
    return { status: 200, delayMs };
  };
  return { handler, seen };
}

/** `n` session deliveries to every endpoint, captured in one transaction as a backlog. */
function backlog(t: TestAgent, n: number): void {
  const { store } = t.agent;
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const body = Buffer.from(
        JSON.stringify({
          type: 'session',
          session: { id: `b-${i}`, direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://photos.example.com/a', type: 'still' },
        }),
      );
      store.queue.capture({ type: 'session', body, dedupeKey: null, occurredAt: '', sessionId: `b-${i}` }, Date.now(), 1000);
    }
  })();
}

describe('the in-flight limit finds what the receiver takes', () => {
  it('a backlog of 400 to a receiver that takes 16 at once: more than 4 in flight, at most 5 % refused, Retry-After obeyed', async () => {
    const capacity = 16;
    const { handler, seen } = limitedReceiver(capacity, 200);
    const receiver = await startReceiver({ handler });
    running.push({ stop: () => receiver.close() });
    // A loaded machine can hold up a first TLS handshake for a second: not the receiver's doing.
    const t = await startTestAgent({ attempt_timeout_ms: 5000 });
    running.push(t);
    expect(t.agent.store.settings.read().max_in_flight).toBe(32);
    const endpoint = t.addEndpoint(receiver.url, { ca: receiver.certificate.cert });
    backlog(t, 400);
    await waitFor('the backlog delivered', () => t.agent.store.views.counts().delivered === 400, 60_000, 100);

    expect(seen.accepted.size).toBe(400);
    expect(seen.refused / seen.requests).toBeLessThanOrEqual(0.05);
    expect(seen.mostAtOnce).toBeGreaterThan(4);
    expect(seen.lateRetries).toBe(0);
    // Every refusal was a 429 with Retry-After: no retry was used for any of them.
    expect(t.agent.store.db.prepare('SELECT MAX(attempts_used) FROM deliveries').pluck().get()).toBe(0);

    const admin = t.agent.store.settings.token('admin_token');
    const state = (await (await fetch(`${t.base}/api/state`, { headers: { authorization: `Bearer ${admin}` } })).json()) as PanelState;
    expect(state.endpoints[0]!.inFlightLimit).toBeGreaterThan(4);

    // The limit it found is on the endpoint's row, where `status` and the panel read it
    // (and the next start begins from it); stopping writes its last value.
    await t.stop();
    const status = await runCli(['--data-dir', t.dataDir, 'status']);
    const limit = Number(new RegExp(`${endpoint.id} .* up to (\\d+) in flight`).exec(status.stdout)?.[1]);
    expect(limit).toBeGreaterThan(4);
    expect(limit).toBeLessThanOrEqual(capacity + 1);
  });

  it('a strict-order endpoint keeps to one at a time, and says so', async () => {
    let atOnce = 0;
    let most = 0;
    const receiver = await startReceiver({
      handler: () => {
        atOnce++;
        most = Math.max(most, atOnce);
        setTimeout(() => atOnce--, 20);
        return { status: 200, delayMs: 20 };
      },
    });
    running.push({ stop: () => receiver.close() });
    const t = await startTestAgent();
    running.push(t);
    const endpoint = t.addEndpoint(receiver.url, { ca: receiver.certificate.cert, strictOrder: true });
    backlog(t, 30);
    await waitFor('the backlog delivered', () => t.agent.store.views.counts().delivered === 30, 20_000);
    expect(most).toBe(1);
    expect(t.agent.store.endpoints.get(endpoint.id)?.inFlightLimit).toBe(1);
  });
});

describe("the limit on the endpoint's row", () => {
  it('is null until the loop has one, 1 in strict order, and forgotten with a new URL', () => {
    const store = openStore(join(tempDir('limit-'), 'outbox.db'));
    try {
      const { id } = store.endpoints.add(
        { url: 'https://hooks.example.com/a', secret: generateSecret(), types: null, strictOrder: false, ca: null },
        Date.now(),
      );
      expect(store.endpoints.get(id)?.inFlightLimit).toBeNull();
      store.endpoints.setInFlightLimit(id, 12);
      expect(store.endpoints.get(id)?.inFlightLimit).toBe(12);
      store.endpoints.update(id, { url: 'https://hooks.example.com/a', types: ['share'] });
      expect(store.endpoints.get(id)?.inFlightLimit).toBe(12);
      store.endpoints.update(id, { strictOrder: true });
      expect(store.endpoints.get(id)?.inFlightLimit).toBe(1);
      store.endpoints.update(id, { strictOrder: false });
      expect(store.endpoints.get(id)?.inFlightLimit).toBe(12);
      store.endpoints.update(id, { url: 'https://hooks.example.com/b' });
      expect(store.endpoints.get(id)?.inFlightLimit).toBeNull();
    } finally {
      store.close();
    }
  });
});
