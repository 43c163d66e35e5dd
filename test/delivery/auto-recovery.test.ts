// Automatic recovery (docs/webhooks.md, "Automatic recovery") against real HTTPS receivers,
// with the schedule shortened to 2s,4s: a receiver that is down for 20 s gets every lead
// afterwards with no one touching the booth, and a receiver that refuses a delivery is not
// asked again by itself.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { contractExamples } from '../helpers/contract.js';
import { startReceiver, type Handler, type Received } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait.js';

const SCHEDULE = { recover_schedule: '2s,4s' };
const DOWN_MS = 20_000;

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.stop();
});

async function receiverFor(t: TestAgent, handler: Handler, autoRecover: 'on' | 'all' = 'on') {
  const receiver = await startReceiver({ handler });
  running.push({ stop: () => receiver.close() });
  const endpoint = t.addEndpoint(receiver.url, { ca: receiver.certificate.cert, autoRecover });
  return { receiver, endpoint };
}

async function agent(): Promise<TestAgent> {
  const t = await startTestAgent(SCHEDULE);
  running.push(t);
  return t;
}

/** Leads of every kind, each one its own (the contract's examples with their ids changed). */
const leads = [
  ...[1, 2, 3].map((n) => contractExamples.session!.replaceAll('abc123xyz', `session-${n}`)),
  ...[1, 2, 3].map((n) => contractExamples.share!.replaceAll('share789', `share-${n}`)),
  contractExamples.survey!,
  contractExamples.competition_win!,
];

function byWebhookId(requests: Received[]): Map<string, Received[]> {
  const groups = new Map<string, Received[]>();
  for (const request of requests) {
    const id = String(request.headers['webhook-id']);
    groups.set(id, [...(groups.get(id) ?? []), request]);
  }
  return groups;
}

describe('automatic recovery', () => {
  it(
    'a receiver down for 20 s (503, no Retry-After) then back gets every lead, with no one touching the booth',
    { timeout: 60_000 },
    async () => {
      const t = await agent();
      const backAt = Date.now() + DOWN_MS;
      const { receiver } = await receiverFor(t, () =>
        Date.now() < backAt ? { status: 503, body: 'down for maintenance' } : { status: 200 },
      );
      for (const lead of leads) expect((await t.post(lead)).status).toBe(202);

      // Each is failed after the contract's attempts, with its next automatic retry planned.
      const planned = new Set<string>();
      await waitFor('every delivery failed with an automatic retry planned', () => {
        for (const d of t.agent.store.views.list({ status: 'failed', limit: 50 })) if (d.recoverAt !== null) planned.add(d.id);
        return planned.size === leads.length;
      });

      await waitFor(
        'every lead delivered',
        () => t.agent.store.views.list({ status: 'delivered', limit: 50 }).length === leads.length,
        DOWN_MS + 20_000,
        100,
      );
      const groups = byWebhookId(receiver.requests);
      expect([...groups.keys()].sort()).toEqual([...planned].sort());
      for (const [id, requests] of groups) {
        // The contract's 4 attempts, then one attempt at each automatic retry until the
        // receiver was back: the same webhook-id and bytes every time, and nothing after the 200.
        expect(requests.length, id).toBeGreaterThanOrEqual(4 + 3);
        expect(new Set(requests.map((r) => r.body.toString('hex'))).size).toBe(1);
        const gaps = requests.slice(4).map((r, i) => r.at - requests[i + 3]!.at);
        expect(gaps[0]).toBeGreaterThanOrEqual(2000);
        for (const gap of gaps.slice(1)) expect(gap).toBeGreaterThanOrEqual(4000);
        const { attempts, status } = t.agent.store.views.get(id)!;
        expect(status).toBe('delivered');
        expect(attempts.map((a) => a.statusCode)).toEqual([...requests.slice(0, -1).map(() => 503), 200]);
        expect(attempts[3]!.reason).toBe('HTTP 503 from the endpoint; 4 attempts made, no retries left; next automatic retry in 2 s');
        expect(attempts[4]!.reason).toBe('HTTP 503 from the endpoint; automatic retry 1 failed; next automatic retry in 4 s');
      }
      expect(new Set(receiver.requests.map((r) => r.body.toString())).size).toBe(leads.length);
    },
  );

  it('a refusal (400) stays failed after the contract attempts; with --auto-recover all it is tried again', async () => {
    const t = await agent();
    const refuse = () => ({ status: 400, body: '{"error":"unknown field"}' });
    const on = await receiverFor(t, refuse);
    const all = await receiverFor(t, refuse, 'all');
    expect((await t.post(contractExamples.share!)).status).toBe(202);

    const deliveryTo = (endpointId: string) => t.agent.store.views.list({ limit: 10 }).find((d) => d.endpointId === endpointId)!;
    await waitFor('the refused delivery failed', () => deliveryTo(on.endpoint.id).status === 'failed');
    expect(deliveryTo(on.endpoint.id)).toMatchObject({ recoverAt: null });
    expect(deliveryTo(on.endpoint.id).lastError).toBe(
      'HTTP 400 from the endpoint; 4 attempts made, no retries left; ' +
        'not retried automatically: the receiver refused it (HTTP 400); --auto-recover all retries refusals too',
    );

    // By the time the "all" receiver has had its automatic retry, the other would have had its own.
    await waitFor('the automatic retry of the "all" endpoint', () => all.receiver.requests.length >= 5, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(on.receiver.requests).toHaveLength(4);
    expect(new Set(on.receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(deliveryTo(on.endpoint.id)).toMatchObject({ status: 'failed', recoverAt: null });
  });

  it('booth-agent deliveries says when the next automatic retry comes', async () => {
    const t = await startTestAgent({ recover_schedule: '1h' });
    running.push(t);
    const refused = await receiverFor(t, () => ({ status: 400 }));
    const down = await receiverFor(t, () => ({ status: 500 }));
    expect((await t.post(contractExamples.session!)).status).toBe(202);
    const deliveryTo = (endpointId: string) => t.agent.store.views.list({ limit: 10 }).find((d) => d.endpointId === endpointId)!;
    await waitFor(
      'both failed',
      () => deliveryTo(refused.endpoint.id).status === 'failed' && deliveryTo(down.endpoint.id).status === 'failed',
    );
    const recoverAt = deliveryTo(down.endpoint.id).recoverAt!;
    expect(recoverAt).toBeGreaterThan(Date.now() + 3_500_000);

    const cli = await runCli(['deliveries', '--data-dir', t.dataDir]);
    expect(cli.code).toBe(0);
    const blockOf = (url: string) => cli.stdout.split(/\n(?=msg_)/).find((block) => block.includes(`→ ${url}`))!;
    expect(blockOf(down.receiver.url)).toContain(`\n    next automatic retry at ${localTime(recoverAt)}\n`);
    expect(blockOf(refused.receiver.url)).not.toContain('next automatic retry');
    const json = JSON.parse((await runCli(['deliveries', '--json', '--data-dir', t.dataDir])).stdout) as {
      id: string;
      recoverAt: number | null;
    }[];
    expect(json.map((d) => d.recoverAt).sort()).toEqual([recoverAt, null]);

    // Only the refusal needs the operator: status and the panel's summary say so.
    const status = await runCli(['status', '--data-dir', t.dataDir]);
    expect(status.stdout).toContain(`2 failed (1 retrying by themselves, next at ${localTime(recoverAt)})`);
    expect(t.agent.store.views.recovering()).toEqual({ count: 1, nextAt: recoverAt });
  });
});

function localTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
