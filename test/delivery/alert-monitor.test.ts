// The alert monitor on a real outbox, with clocks the test moves: what it counts, what it
// leaves out, how it coalesces, and that where it stands survives a restart.
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ALERT_COALESCE_MS } from '../../src/core/alerts.js';
import type { EventType, TypeFilter } from '../../src/core/event-types.js';
import { decide, type Decision } from '../../src/core/policy.js';
import { generateSecret } from '../../src/core/signing.js';
import { AlertMonitor } from '../../src/delivery/alerts.js';
import type { AttemptRecord } from '../../src/store/queue.js';
import { openStore, type Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/temp.js';

const T0 = 1_800_000_000_000;
const WEEK = 7 * 86_400_000;
const OWNER = 'run:test';

/** A wall clock and a monotonic one, moved by the test; the wall clock can be set back. */
function clocks() {
  const c = { wall: T0, mono: 1000 };
  return {
    c,
    advance(ms: number) {
      c.wall += ms;
      c.mono += ms;
    },
  };
}

function setup(file = join(tempDir('alerts-'), 'outbox.db')) {
  const store = openStore(file);
  store.settings.write('event_id', 4711);
  store.settings.write('device_name', 'Booth 2');
  const clock = clocks();
  const woken: number[] = [];
  const monitor = (options: { coalesceMs?: number } = {}, s: Store = store) =>
    new AlertMonitor({
      store: s,
      log: pino({ level: 'silent' }),
      wake: () => woken.push(clock.c.wall),
      agentVersion: '9.9.9',
      now: () => clock.c.wall,
      monotonic: () => clock.c.mono,
      ...options,
    });
  const endpoint = (types: TypeFilter[] | null, url = 'https://crm.example.com/hooks/booth') =>
    store.endpoints.add({ url, secret: generateSecret(), types, strictOrder: false, ca: null }, clock.c.wall);
  let n = 0;
  const capture = (type: EventType = 'share', test = false) =>
    store.queue.capture(
      {
        type,
        body: Buffer.from(`{"n":${++n}}`),
        dedupeKey: null,
        occurredAt: new Date(clock.c.wall).toISOString(),
        sessionId: `s${n}`,
        test,
      },
      clock.c.wall,
      WEEK,
    );
  /** Claims every due delivery of the endpoint and settles it as the policy decided. */
  const settleAll = (endpointId: string, decision: Decision) => {
    const attempt: AttemptRecord = {
      startedAt: clock.c.wall,
      durationMs: 5,
      outcome: 'answered',
      statusCode: decision.status === 'delivered' ? 200 : 500,
      error: null,
      responseHead: null,
    };
    for (const claim of store.queue.claim(endpointId, OWNER, clock.c.wall, 60_000, 100, false)) {
      store.queue.settle(claim, OWNER, attempt, decision, clock.c.wall);
    }
  };
  const fail = (endpointId: string) =>
    settleAll(endpointId, {
      status: 'failed',
      reason: 'HTTP 500 from the endpoint; 4 attempts made, no retries left',
      disableEndpoint: false,
      usesAttempt: true,
      recoverAt: null,
    });
  const deliver = (endpointId: string) => settleAll(endpointId, { status: 'delivered', reason: 'delivered: HTTP 200' });
  /** The alerts captured into the outbox, as their bodies. */
  const alerts = () =>
    (store.db.prepare(`SELECT body FROM events WHERE alert = 1 ORDER BY seq`).pluck().all() as Buffer[]).map(
      (body) => JSON.parse(body.toString('utf8')) as Record<string, any>,
    );
  return { store, clock, monitor, endpoint, capture, fail, deliver, alerts, woken };
}

describe('alert monitor', () => {
  it('captures nothing while no enabled endpoint takes alerts', () => {
    const t = setup();
    const crm = t.endpoint(null);
    const m = t.monitor();
    t.capture();
    t.clock.advance(1000);
    t.fail(crm.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual([]);
    expect(t.alerts()).toEqual([]);
    const chat = t.endpoint(['agent.*'], 'https://hooks.slack.com/services/T/B/X');
    t.store.endpoints.setEnabled(chat.id, false, 'disabled by the operator', t.clock.c.wall);
    t.clock.advance(1000);
    expect(m.check()).toEqual([]);
    expect(t.alerts()).toEqual([]);
  });

  it('reports a guest delivery that failed, once, with what happened since, coalesced to one alert per 5 minutes', () => {
    const t = setup();
    const crm = t.endpoint(null);
    t.endpoint(['agent.*'], 'https://hooks.slack.com/services/T/B/X');
    const m = t.monitor();
    t.capture();
    t.capture();
    t.clock.advance(1000);
    t.fail(crm.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.delivery_failed']);
    expect(t.woken).toHaveLength(1);
    const [first] = t.alerts();
    expect(first).toMatchObject({
      type: 'agent.delivery_failed',
      event_id: 4711,
      booth: 'Booth 2',
      agent_version: '9.9.9',
      occurrences: 2,
      counts: { queued: 0, waiting: 0, delivered: 0, failed: 2 },
      oldest_waiting_ms: 0,
      endpoints: [
        {
          id: crm.id,
          url: 'https://crm.example.com/…',
          failed: 2,
          last_error: 'HTTP 500 from the endpoint; 4 attempts made, no retries left',
        },
      ],
      summary:
        'Booth 2 (event 4711): 2 deliveries failed to https://crm.example.com/… (last error: HTTP 500 from the endpoint; 4 attempts made, no retries left); ' +
        '0 delivered, 2 failed, 0 waiting',
    });
    // The same failures are not reported again; a new one waits out the 5 minutes.
    t.clock.advance(2000);
    expect(m.check()).toEqual([]);
    t.capture();
    t.fail(crm.id);
    t.clock.advance(ALERT_COALESCE_MS - 10_000);
    expect(m.check()).toEqual([]);
    t.capture();
    t.fail(crm.id);
    t.clock.advance(10_000);
    expect(m.check()).toEqual(['agent.delivery_failed']);
    expect(t.alerts().map((a) => [a.type, a.occurrences, a.counts.failed])).toEqual([
      ['agent.delivery_failed', 2, 2],
      ['agent.delivery_failed', 2, 4],
    ]);
  });

  it('leaves out Send Test deliveries and alerts', () => {
    const t = setup();
    const crm = t.endpoint(null);
    const chat = t.endpoint(['agent.*'], 'https://hooks.slack.com/services/T/B/X');
    const m = t.monitor({ coalesceMs: 1000 });
    t.capture('share', true);
    t.capture('agent.heartbeat');
    t.clock.advance(100);
    t.fail(crm.id);
    t.fail(chat.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual([]);
    expect(t.alerts()).toHaveLength(1);
  });

  it('reports each failure once on a recover schedule shorter than the 5 minutes: held, tried again and failed again meanwhile', () => {
    const t = setup();
    t.store.settings.write('recover_schedule', '1s,2s');
    const crm = t.endpoint(null);
    t.endpoint(['agent.*'], 'https://hooks.slack.com/services/T/B/X');
    const m = t.monitor();
    const settings = () => t.store.settings.read();
    const endpoint = { url: crm.url, autoRecover: 'on' as const };
    /** One attempt at each due delivery of the CRM, answered 500, settled as the policy decides. */
    const answer500 = () => {
      const now = t.clock.c.wall;
      for (const claim of t.store.queue.claim(crm.id, OWNER, now, 60_000, 100, false)) {
        const outcome = { kind: 'answered' as const, status: 500, location: null, retryAfter: null };
        const record = { startedAt: now, durationMs: 5, outcome: 'answered' as const, statusCode: 500, error: null, responseHead: null };
        t.store.queue.settle(claim, OWNER, record, decide(outcome, claim, now, endpoint, settings()), now);
      }
    };
    /** A second of the delivery loop: automatic retries that have come go back in the queue, then every due delivery is tried. */
    const second = () => {
      t.clock.advance(1000);
      t.store.queue.recoverDue(t.clock.c.wall, settings().max_retries, 2000);
      answer500();
    };
    const status = (eventId: string) =>
      t.store.db.prepare(`SELECT status, recoveries FROM deliveries WHERE event_seq = (SELECT seq FROM events WHERE id = ?)`).get(eventId);
    /** The contract's four attempts, 10 s apart: then failed, its first automatic retry a second later. */
    const failFirstRound = () => {
      answer500();
      for (let retry = 0; retry < settings().max_retries; retry++) {
        t.clock.advance(settings().retry_delay_ms);
        answer500();
      }
    };

    const first = t.capture();
    failFirstRound();
    expect(status(first.id)).toEqual({ status: 'failed', recoveries: 0 });
    t.clock.advance(100);
    expect(m.check()).toEqual(['agent.delivery_failed']);
    const reportedAt = t.clock.c.wall;

    // A second failure within the 5 minutes is held; its automatic retries come every
    // second or two, and fail, long before the alert may go.
    const second_ = t.capture();
    failFirstRound();
    expect(status(second_.id)).toEqual({ status: 'failed', recoveries: 0 });
    for (let n = 0; n < 10; n++) second();
    expect(status(second_.id)).toMatchObject({ status: 'failed', recoveries: expect.any(Number) });
    expect((status(second_.id) as { recoveries: number }).recoveries).toBeGreaterThan(1);
    expect(m.check()).toEqual([]);
    while (t.clock.c.wall < reportedAt + ALERT_COALESCE_MS) second();
    expect(m.check()).toEqual(['agent.delivery_failed']);
    // It alone: the first failure, failing again all along, was reported already.
    expect(t.alerts().map((a) => [a.type, a.occurrences])).toEqual([
      ['agent.delivery_failed', 1],
      ['agent.delivery_failed', 1],
    ]);

    // Failing again at every automatic retry, neither is reported again.
    const secondReportedAt = t.clock.c.wall;
    for (let n = 1; t.clock.c.wall < secondReportedAt + 2 * ALERT_COALESCE_MS; n++) {
      second();
      if (n % 10 === 0) expect(m.check()).toEqual([]);
    }

    // A third, held while its automatic retry has put it back in the queue, is reported as
    // it stands when the alert goes: failed, and being tried again.
    const third = t.capture();
    failFirstRound();
    t.clock.advance(1000);
    t.store.queue.recoverDue(t.clock.c.wall, settings().max_retries, 2000);
    expect(status(third.id)).toEqual({ status: 'queued', recoveries: 1 });
    t.clock.advance(100);
    expect(m.check()).toEqual(['agent.delivery_failed']);
    expect(t.alerts().at(-1)).toMatchObject({ occurrences: 1, endpoints: [{ id: crm.id, failed: 1 }] });
  });

  it('counts from the last alert in the outbox after a restart, and from when the alert endpoint was added before the first', () => {
    const t = setup();
    const crm = t.endpoint(null);
    t.capture();
    t.fail(crm.id);
    t.clock.advance(1000);
    t.endpoint(['agent.delivery_failed']);
    const m = t.monitor();
    t.clock.advance(1000);
    // The failure before any endpoint took alerts is not news to anyone.
    expect(m.check()).toEqual([]);
    t.capture();
    t.fail(crm.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.delivery_failed']);
    // A restart: the outbox says when the last alert was, so nothing is reported twice,
    // and the 5 minutes still hold.
    const file = t.store.db.name;
    t.store.close();
    const again = openStore(file);
    const restarted = t.monitor({}, again);
    t.clock.advance(60_000);
    expect(restarted.check()).toEqual([]);
    const id = again.endpoints.list().find((e) => e.types === null)!.id;
    again.queue.capture(
      { type: 'share', body: Buffer.from('{}'), dedupeKey: null, occurredAt: 'x', sessionId: 'later' },
      t.clock.c.wall,
      WEEK,
    );
    for (const claim of again.queue.claim(id, OWNER, t.clock.c.wall, 60_000, 10, false)) {
      again.queue.settle(
        claim,
        OWNER,
        { startedAt: t.clock.c.wall, durationMs: 1, outcome: 'answered', statusCode: 400, error: null, responseHead: null },
        { status: 'failed', reason: 'HTTP 400', disableEndpoint: false, usesAttempt: true, recoverAt: null },
        t.clock.c.wall,
      );
    }
    t.clock.advance(60_000);
    expect(restarted.check()).toEqual([]);
    t.clock.advance(ALERT_COALESCE_MS);
    expect(restarted.check()).toEqual(['agent.delivery_failed']);
    const bodies = (again.db.prepare(`SELECT body FROM events WHERE alert = 1 ORDER BY seq`).pluck().all() as Buffer[]).map((b) =>
      JSON.parse(b.toString('utf8')),
    );
    expect(bodies.map((b) => b.occurrences)).toEqual([1, 1]);
    again.close();
  });

  it('reports an endpoint taking booth payloads that is disabled, not an alert-only one', () => {
    const t = setup();
    const crm = t.endpoint(null);
    const other = t.endpoint(['agent.heartbeat'], 'https://other.example/alerts');
    t.endpoint(['agent.*'], 'https://hooks.slack.com/services/T/B/X');
    const m = t.monitor({ coalesceMs: 1000 });
    t.clock.advance(1000);
    t.store.endpoints.setEnabled(other.id, false, 'disabled by the operator', t.clock.c.wall);
    t.clock.advance(1000);
    expect(m.check()).toEqual([]);
    t.store.endpoints.setEnabled(crm.id, false, 'disabled by the operator', t.clock.c.wall);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.endpoint_disabled']);
    expect(t.alerts()[0]).toMatchObject({
      occurrences: 1,
      endpoints: [{ id: crm.id, url: 'https://crm.example.com/…', reason: 'disabled by the operator' }],
    });
    // Nothing waits for it, but it is still disabled: not all clear until it is enabled again.
    t.clock.advance(2000);
    expect(m.check()).toEqual([]);
    t.store.endpoints.setEnabled(crm.id, true, null, t.clock.c.wall);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.recovered']);
  });

  it('raises backlog_waiting once, then recovered when all is caught up', () => {
    const t = setup();
    t.store.settings.write('alert_waiting_after_ms', 60_000);
    const crm = t.endpoint(null);
    t.endpoint(['agent.*'], 'https://hooks.slack.com/services/T/B/X');
    const m = t.monitor({ coalesceMs: 1000 });
    t.capture();
    t.clock.advance(59_000);
    expect(m.check()).toEqual([]);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.backlog_waiting']);
    expect(t.alerts()[0]).toMatchObject({ oldest_waiting_ms: 60_000, waiting_after_ms: 60_000, endpoint_url: 'https://crm.example.com/…' });
    t.clock.advance(10 * 60_000);
    expect(m.check()).toEqual([]);
    t.deliver(crm.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.recovered']);
    const recovered = t.alerts()[1]!;
    expect(recovered).toMatchObject({ type: 'agent.recovered', counts: { queued: 0, waiting: 0, delivered: 1, failed: 0 } });
    expect(recovered.problem_since).toBe(new Date(T0 + 60_000).toISOString());
    t.clock.advance(60_000);
    expect(m.check()).toEqual([]);
  });

  it('counts the deliveries of an endpoint enabled again, with the time they were first queued', () => {
    const t = setup();
    t.store.settings.write('alert_waiting_after_ms', 60_000);
    const crm = t.endpoint(null);
    t.endpoint(['agent.backlog_waiting']);
    const m = t.monitor();
    t.capture();
    t.store.endpoints.setEnabled(crm.id, false, 'disabled by the operator', t.clock.c.wall);
    t.clock.advance(20 * 60_000);
    // Waiting for the operator, not a backlog.
    expect(m.check()).toEqual([]);
    t.store.endpoints.setEnabled(crm.id, true, null, t.clock.c.wall);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.backlog_waiting']);
    expect(t.alerts()[0]!.oldest_waiting_ms).toBe(20 * 60_000 + 1000);
  });

  it('still reports a failure after the clock is set back to before the last alert', () => {
    const t = setup();
    const crm = t.endpoint(null);
    t.endpoint(['agent.delivery_failed']);
    const m = t.monitor({ coalesceMs: 1000 });
    t.capture();
    t.fail(crm.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.delivery_failed']);
    t.clock.c.wall -= 3 * 3_600_000;
    t.clock.advance(5000);
    t.capture();
    t.fail(crm.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.delivery_failed']);
    expect(t.alerts().map((a) => a.occurrences)).toEqual([1, 1]);
  });

  it('still sees a backlog begin after the clock is set back', () => {
    const t = setup();
    t.store.settings.write('alert_waiting_after_ms', 60_000);
    t.endpoint(null);
    t.endpoint(['agent.backlog_waiting']);
    const m = t.monitor();
    t.clock.advance(1000);
    expect(m.check()).toEqual([]);
    t.clock.c.wall -= 3 * 3_600_000;
    t.capture();
    t.clock.advance(30_000);
    expect(m.check()).toEqual([]);
    t.clock.advance(30_000);
    expect(m.check()).toEqual(['agent.backlog_waiting']);
  });

  it('takes a delivery tried again by itself after failing for no backlog, and for not caught up while it is', () => {
    const t = setup();
    t.store.settings.write('alert_waiting_after_ms', 60_000);
    const crm = t.endpoint(null);
    t.endpoint(['agent.*'], 'https://hooks.slack.com/services/T/B/X');
    const m = t.monitor({ coalesceMs: 1000 });
    const event = t.capture();
    t.fail(crm.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.delivery_failed']);
    // Ten minutes later it goes back in the queue by itself, with the time it was first queued.
    t.clock.advance(10 * 60_000);
    t.store.db
      .prepare(
        `UPDATE deliveries SET status = 'queued', recoveries = 1, updated_at = ? WHERE event_seq = (SELECT seq FROM events WHERE id = ?)`,
      )
      .run(t.clock.c.wall, event.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual([]);
    t.deliver(crm.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.recovered']);
  });

  it('holds recovered while a failure since the last one is still failed', () => {
    const t = setup();
    const crm = t.endpoint(null);
    t.endpoint(['agent.*'], 'https://hooks.slack.com/services/T/B/X');
    const m = t.monitor({ coalesceMs: 1000 });
    t.capture();
    t.fail(crm.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.delivery_failed']);
    t.clock.advance(5000);
    expect(m.check()).toEqual([]);
    const [failed] = t.store.views.list({ status: 'failed', limit: 1 });
    expect(t.store.queue.retry(failed!.id, t.clock.c.wall)).toEqual({ ok: true });
    t.deliver(crm.id);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.recovered']);
  });

  it('sends heartbeats every interval, counted from the last in the outbox, never a flood when the clock is set back', () => {
    const t = setup();
    t.store.settings.write('heartbeat_interval_ms', 60_000);
    t.endpoint(['agent.heartbeat']);
    const m = t.monitor();
    t.clock.advance(59_000);
    expect(m.check()).toEqual([]);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.heartbeat']);
    expect(t.alerts()[0]).toMatchObject({
      uptime_ms: 60_000,
      summary: 'Booth 2 (event 4711): running (Booth Agent 9.9.9, up 60 s); 0 delivered, 0 failed, 0 waiting',
    });
    t.clock.advance(30_000);
    expect(m.check()).toEqual([]);
    // The kiosk syncs its clock, three hours back.
    t.clock.c.wall -= 3 * 3_600_000;
    t.clock.advance(29_000);
    expect(m.check()).toEqual([]);
    t.clock.advance(1000);
    expect(m.check()).toEqual(['agent.heartbeat']);
    // A restarted agent counts from the last heartbeat in the outbox, not from its start.
    const restarted = t.monitor();
    t.clock.advance(59_000);
    expect(restarted.check()).toEqual([]);
    t.clock.advance(1000);
    expect(restarted.check()).toEqual(['agent.heartbeat']);
    expect(t.alerts()).toHaveLength(3);
  });
});
