// Alerts (docs/webhooks.md, "Alerts") from a running agent to real HTTPS receivers: what
// raises them, what never does, the heartbeat's schedule, and an alert that outlives a
// restart. The monitor looks every 2 s, so each wait allows several looks.
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent.js';
import { VERSION } from '../../src/version.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { contractExamples } from '../helpers/contract.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait.js';

const LOOK_MS = 2000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const open: { stop(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.stop();
});

async function receiver(answer: number | 'down' = 200): Promise<Receiver> {
  const r = await startReceiver({ handler: () => ({ status: typeof answer === 'number' ? answer : 200 }) });
  if (answer === 'down') await r.close();
  else open.push({ stop: () => r.close() });
  return r;
}

async function agent(settings: Parameters<typeof startTestAgent>[0] = {}): Promise<TestAgent> {
  const t = await startTestAgent(settings);
  open.push(t);
  return t;
}

const bodies = (r: Receiver) => r.requests.map((request) => JSON.parse(request.body.toString('utf8')) as Record<string, any>);
const ofType = (r: Receiver, type: string) => bodies(r).filter((body) => body.type === type);
/** The alerts captured into the outbox, whoever they went to. */
const captured = (t: TestAgent) =>
  t.agent.store.db.prepare(`SELECT type FROM events WHERE alert = 1 ORDER BY seq`).pluck().all() as string[];

describe('alerts', () => {
  it('a guest delivery that fails raises one agent.delivery_failed, and booth payloads never reach an agent.*-only endpoint', async () => {
    const crm = await receiver(500);
    const chat = await receiver(200);
    const t = await agent();
    t.addEndpoint(crm.url, { ca: crm.certificate.cert });
    const alerts = t.addEndpoint(chat.url, { ca: chat.certificate.cert, types: ['agent.*'] });

    expect((await t.post(contractExamples.share!)).status).toBe(202);
    await waitFor('the delivery to fail', () => t.agent.store.views.counts().failed === 1);
    await waitFor('the alert', () => ofType(chat, 'agent.delivery_failed').length > 0, 10_000);
    const [alert] = ofType(chat, 'agent.delivery_failed');
    expect(alert).toMatchObject({
      event_id: 1,
      booth: hostname(),
      agent_version: VERSION,
      occurrences: 1,
      counts: { queued: 0, waiting: 0, delivered: 0, failed: 1 },
      oldest_waiting_ms: 0,
      endpoints: [{ url: `https://127.0.0.1:${crm.port}/…`, failed: 1, last_error: expect.stringContaining('HTTP 500') }],
    });
    expect(alert!.summary).toBe(
      `${hostname()} (event 1): 1 delivery failed to https://127.0.0.1:${crm.port}/… ` +
        `(last error: ${alert!.endpoints[0].last_error}); 0 delivered, 1 failed, 0 waiting`,
    );
    // Signed like any delivery, with its own webhook-id.
    expect(chat.requests[0]!.headers['webhook-id']).toMatch(/^msg_/);
    expect(chat.requests[0]!.headers['webhook-signature']).toMatch(/^v1,/);

    // More booth payloads, more looks: still the one alert, and no payload at the alert endpoint.
    expect((await t.post(contractExamples.session!)).status).toBe(202);
    await pause(2 * LOOK_MS + 500);
    expect(bodies(chat).map((body) => body.type)).toEqual(['agent.delivery_failed']);
    expect(t.agent.store.views.undeliveredCount(alerts.id)).toBe(0);
    expect(crm.requests.map((r) => JSON.parse(r.body.toString('utf8')).type)).toContain('session');
  }, 30_000);

  it('a chat-format alert reaches a Slack-like incoming webhook as one line of text when a delivery fails', async () => {
    const crm = await receiver(500);
    // As Slack's incoming webhooks do: a JSON object with a text string, or 400 invalid_payload.
    const slack = await startReceiver({
      handler: (request) => {
        const body = JSON.parse(request.body.toString('utf8')) as unknown;
        const ok =
          typeof body === 'object' &&
          body !== null &&
          Object.keys(body).join() === 'text' &&
          typeof (body as { text: unknown }).text === 'string';
        return ok ? { status: 200, body: 'ok' } : { status: 400, body: 'invalid_payload' };
      },
    });
    open.push({ stop: () => slack.close() });
    const t = await agent({ device_name: 'Booth 2' });
    t.addEndpoint(crm.url, { ca: crm.certificate.cert });
    t.addEndpoint(slack.url, { ca: slack.certificate.cert, types: ['agent.*'], format: 'chat' });

    expect((await t.post(contractExamples.share!)).status).toBe(202);
    await waitFor('the message', () => slack.requests[0], 15_000);
    const { text } = JSON.parse(slack.requests[0]!.body.toString('utf8')) as { text: string };
    expect(text).toMatch(/^Booth 2 \(event 1\): 1 delivery failed to https:\/\/127\.0\.0\.1:\d+\/… \(last error: HTTP 500/);
    expect(text).not.toContain('\n');
    // The guest's address, in the share that failed, stays out of the channel.
    expect(text).not.toContain(JSON.parse(contractExamples.share!).share.value);
    await waitFor(
      'the alert delivered',
      () => t.agent.store.views.list({ type: 'agent.delivery_failed', limit: 1 })[0]?.status === 'delivered',
    );

    // The panel's list finds alert deliveries by their type; an unknown type is refused by name.
    const admin = { authorization: `Bearer ${t.agent.store.settings.token('admin_token')}` };
    const page = (await (await fetch(`${t.base}/api/deliveries?type=agent.delivery_failed`, { headers: admin })).json()) as {
      items: { type: string; endpointUrl: string }[];
    };
    expect(page.items.map((d) => [d.type, d.endpointUrl])).toEqual([['agent.delivery_failed', slack.url]]);
    const refused = await fetch(`${t.base}/api/deliveries?type=agent.lunch`, { headers: admin });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('must be a payload type or an agent.* alert');
  }, 30_000);

  it("an alert endpoint's own failures raise no alert", async () => {
    const chat = await receiver(500);
    const t = await agent({ heartbeat_interval_ms: 1000 });
    t.addEndpoint(chat.url, { ca: chat.certificate.cert, types: ['agent.*'] });
    await waitFor('a heartbeat to fail', () => t.agent.store.views.counts().failed > 0, 10_000);
    await pause(2 * LOOK_MS + 500);
    expect(new Set(captured(t))).toEqual(new Set(['agent.heartbeat']));
  }, 30_000);

  it('sends a heartbeat every heartbeat_interval_ms', async () => {
    const chat = await receiver(200);
    const t = await agent({ heartbeat_interval_ms: 1000 });
    const startedAt = Date.now();
    t.addEndpoint(chat.url, { ca: chat.certificate.cert, types: ['agent.heartbeat'] });
    await waitFor('four heartbeats', () => ofType(chat, 'agent.heartbeat').length >= 4, 15_000);
    const times = ofType(chat, 'agent.heartbeat').map((body) => Date.parse(body.timestamp));
    expect(times[0]! - startedAt).toBeGreaterThanOrEqual(1000 - 50);
    const gaps = times.slice(1).map((time, i) => time - times[i]!);
    // Never sooner than the interval; on time rather than on the monitor's 2 s look.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1000);
    expect([...gaps].sort((a, b) => a - b)[1]).toBeLessThan(1500);
    expect(ofType(chat, 'agent.heartbeat')[0]).toMatchObject({ uptime_ms: expect.any(Number), counts: { delivered: 0 } });
  }, 30_000);

  it('raises backlog_waiting when a delivery waits too long, then recovered once it is delivered', async () => {
    const crm = await receiver('down');
    const chat = await receiver(200);
    const t = await agent({ alert_waiting_after_ms: 1000 });
    t.addEndpoint(crm.url, { ca: crm.certificate.cert });
    t.addEndpoint(chat.url, { ca: chat.certificate.cert, types: ['agent.backlog_waiting', 'agent.recovered'] });
    expect((await t.post(contractExamples.share!)).status).toBe(202);
    await waitFor('the backlog alert', () => ofType(chat, 'agent.backlog_waiting').length > 0, 10_000);
    expect(ofType(chat, 'agent.backlog_waiting')[0]).toMatchObject({
      counts: { waiting: 1, delivered: 0 },
      oldest_waiting_ms: expect.any(Number),
      waiting_after_ms: 1000,
      endpoint_url: `https://127.0.0.1:${crm.port}/…`,
    });
    expect(ofType(chat, 'agent.backlog_waiting')[0]!.oldest_waiting_ms).toBeGreaterThanOrEqual(1000);
    expect(ofType(chat, 'agent.recovered')).toEqual([]);

    const back = await startReceiver({ port: crm.port });
    open.push({ stop: () => back.close() });
    await waitFor('the recovered alert', () => ofType(chat, 'agent.recovered').length > 0, 15_000);
    expect(back.requests).toHaveLength(1);
    expect(ofType(chat, 'agent.recovered')[0]).toMatchObject({
      counts: { queued: 0, waiting: 0, delivered: 1, failed: 0 },
      oldest_waiting_ms: 0,
    });
    await pause(LOOK_MS + 500);
    expect(bodies(chat).map((body) => body.type)).toEqual(['agent.backlog_waiting', 'agent.recovered']);
  }, 40_000);

  it('the operator disabling an endpoint from the command line raises endpoint_disabled', async () => {
    const crm = await receiver(200);
    const chat = await receiver(200);
    const t = await agent();
    const target = t.addEndpoint(crm.url, { ca: crm.certificate.cert });
    t.addEndpoint(chat.url, { ca: chat.certificate.cert, types: ['agent.endpoint_disabled'] });
    const disabled = await runCli(['--data-dir', t.dataDir, 'endpoint', 'disable', target.id]);
    expect(disabled.code).toBe(0);
    await waitFor('the alert', () => ofType(chat, 'agent.endpoint_disabled').length > 0, 10_000);
    expect(ofType(chat, 'agent.endpoint_disabled')[0]).toMatchObject({
      occurrences: 1,
      endpoints: [{ id: target.id, url: `https://127.0.0.1:${crm.port}/…`, reason: 'disabled by the operator' }],
    });
  }, 30_000);

  it('an alert captured while its endpoint cannot be reached is delivered after a restart, and not raised twice', async () => {
    const crm = await receiver(500);
    const chat = await receiver('down');
    const t = await agent();
    t.addEndpoint(crm.url, { ca: crm.certificate.cert });
    t.addEndpoint(chat.url, { ca: chat.certificate.cert, types: ['agent.*'] });
    expect((await t.post(contractExamples.share!)).status).toBe(202);
    await waitFor('the alert to be captured', () => captured(t).includes('agent.delivery_failed'), 10_000);
    const webhookId = t.agent.store.db
      .prepare(`SELECT d.id FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE e.alert = 1`)
      .pluck()
      .get() as string;
    await t.stop();

    const back = await startReceiver({ port: chat.port });
    open.push({ stop: () => back.close() });
    const restarted = await startAgent({ dataDir: t.dataDir, port: 0, stopGraceMs: 500, managedConfig: [] });
    open.push(restarted);
    await waitFor('the alert to arrive', () => back.requests.length > 0, 10_000);
    expect(back.requests[0]!.headers['webhook-id']).toBe(webhookId);
    expect(JSON.parse(back.requests[0]!.body.toString('utf8'))).toMatchObject({ type: 'agent.delivery_failed', occurrences: 1 });
    await pause(LOOK_MS + 500);
    expect(back.requests.map((r) => JSON.parse(r.body.toString('utf8')).type)).toEqual(['agent.delivery_failed']);
  }, 40_000);
});
