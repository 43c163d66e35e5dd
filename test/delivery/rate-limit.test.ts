// An endpoint's rate (`--max-per-minute N`): at most N attempts start in any minute, Send
// Test's among them, across a restart, while an endpoint without a rate is not slowed.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { editEndpoint, sendTestEvent } from '../../src/operations/endpoints.js';
import { openStore } from '../../src/store/store.js';
import { configure, FAST, startTestAgent, type TestAgent } from '../helpers/agent.js';
import { spawnAgent, type AgentProcess } from '../helpers/cli.js';
import { endpointTo, startReceiver, type Receiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.stop();
});

async function receiver(): Promise<Receiver> {
  const started = await startReceiver();
  running.push({ stop: () => started.close() });
  return started;
}

const session = (id: string) =>
  JSON.stringify({
    type: 'session',
    session: { id, direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://photos.example.com/a', type: 'gif' },
  });

const sessions = (r: Receiver) => r.requests.map((request) => JSON.parse(request.body.toString()).session.id as string);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const leased = (t: TestAgent, endpointId: string) =>
  t.agent.store.db.prepare('SELECT COUNT(*) FROM deliveries WHERE endpoint_id = ? AND lease_owner IS NOT NULL').pluck().get(endpointId);

describe('a rate for each endpoint', () => {
  it('counts Send Test, holds a strict-order endpoint too, leaves others alone, and a new rate applies at once', async () => {
    const [limited, strict, free] = [await receiver(), await receiver(), await receiver()];
    const t = await startTestAgent();
    running.push(t);
    const a = t.addEndpoint(limited.url, { ca: limited.certificate.cert, maxPerMinute: 2 });
    const b = t.addEndpoint(strict.url, { ca: strict.certificate.cert, maxPerMinute: 2, strictOrder: true });
    t.addEndpoint(free.url, { ca: free.certificate.cert });

    // Send Test goes at once, and takes one of the minute's two starts.
    expect((await sendTestEvent(t.agent.operations, a.id, 'session')).status).toBe('delivered');
    for (let n = 0; n < 5; n++) expect((await t.post(session(`rate${n}`))).status).toBe(202);
    await waitFor('the endpoint without a rate to have everything', () => free.requests.length === 5, 5000);
    await waitFor('both rates used up', () => limited.requests.length === 2 && strict.requests.length === 2, 5000);
    // The loop turns at least once a second: a few turns, and nothing more goes.
    await sleep(1500);
    expect(limited.requests.length).toBe(2);
    expect(strict.requests.length).toBe(2);
    // Held back by the rate, not claimed and left to sit.
    expect(leased(t, a.id)).toBe(0);
    expect(leased(t, b.id)).toBe(0);
    expect(t.agent.store.views.counts().queued).toBe(4 + 3);

    editEndpoint(t.agent.operations, a.id, { maxPerMinute: null });
    editEndpoint(t.agent.operations, b.id, { maxPerMinute: 5 });
    await waitFor('the rest', () => limited.requests.length === 6 && strict.requests.length === 5, 5000);
    expect(sessions(strict)).toEqual(['rate0', 'rate1', 'rate2', 'rate3', 'rate4']);
    expect(sessions(limited).slice(1).sort()).toEqual(['rate0', 'rate1', 'rate2', 'rate3', 'rate4']);
  });
});

describe('a rate across a restart (real processes)', () => {
  const children: AgentProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.child.kill('SIGKILL');
  });

  it('3 a minute: each start is committed before its request leaves; a SIGKILL with one in flight and a restart send nothing more before the minute is over, then 3 more', async () => {
    const target = await receiver();
    const dataDir = tempDir('rate-');
    // The contract's 15 s for an answer: a loaded machine must not turn a slow one into a retry.
    configure(dataDir, { ...FAST, attempt_timeout_ms: 15_000 });
    const store = openStore(join(dataDir, 'outbox.db'));
    store.endpoints.add({ ...endpointTo(target), maxPerMinute: 3 }, Date.now());
    const token = store.settings.token('ingest_token');
    store.close();

    // As each request arrives, another connection looks in the outbox for its start.
    const reader = new BetterSqlite3(join(dataDir, 'outbox.db'), { readonly: true });
    running.push({ stop: async () => void reader.close() });
    const startOf = reader
      .prepare(`SELECT s.started_at FROM attempt_starts s JOIN deliveries d ON d.seq = s.delivery_seq WHERE d.id = ?`)
      .pluck();
    const startsSeen: (number | undefined)[] = [];
    target.handle((request, index) => {
      startsSeen.push(startOf.get(request.headers['webhook-id']) as number | undefined);
      // The third is never answered: it is in flight when the agent is killed.
      return index === 2 ? 'hang' : { status: 200 };
    });

    const first = await spawnAgent(dataDir);
    children.push(first);
    for (let n = 0; n < 8; n++) {
      const response = await fetch(`http://127.0.0.1:${first.port}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: session(`r${n}`),
      });
      expect(response.status).toBe(202);
    }
    await waitFor('the first three', () => target.requests.length >= 3, 10_000);
    // Two answered and recorded, the third in flight: the window after the restart is read
    // from both records.
    const recorded = reader.prepare(`SELECT COUNT(*) FROM attempts`).pluck();
    await waitFor('the two answered attempts recorded', () => recorded.get() === 2, 10_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const start = target.requests[0]!.at;
    expect(target.requests).toHaveLength(3);
    // Each start was committed, with the time its request was signed with, before it left.
    expect(startsSeen.map((at) => (at === undefined ? at : String(Math.floor(at / 1000))))).toEqual(
      target.requests.map((request) => request.headers['webhook-timestamp']),
    );

    const second = await spawnAgent(dataDir);
    children.push(second);
    await sleep(start + 57_000 - Date.now());
    expect(target.requests.length).toBe(3);

    await waitFor('the next three', () => target.requests.length >= 6, start + 75_000 - Date.now(), 50);
    // The minute counts from when the first attempt started, a moment before it arrived.
    const gap = target.requests[3]!.at - start;
    expect(gap).toBeGreaterThanOrEqual(59_000);
    console.info(`rate test: the 4th request arrived ${(gap / 1000).toFixed(2)} s after the 1st, across a SIGKILL`);
    await sleep(2000);
    expect(target.requests.length).toBe(6);
    const hung = sessions(target)[2]!;
    expect(sessions(target).slice(0, 3).sort()).toEqual(['r0', 'r1', 'r2']);
    // The attempt cut short is made again, with its webhook-id, among the next three.
    expect(sessions(target).slice(3).sort()).toEqual([hung, 'r3', 'r4'].sort());
    const hungId = target.requests[2]!.headers['webhook-id'];
    expect(target.requests.slice(3).filter((request) => request.headers['webhook-id'] === hungId)).toHaveLength(1);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 100_000);
});
