import { describe, expect, it } from 'vitest';
import {
  ALERT_COALESCE_MS,
  alertBody,
  alertsDue,
  backlogReported,
  nextHeartbeatInMs,
  shortUrl,
  type AlertContext,
  type AlertSituation,
} from '../../src/core/alerts.js';
import { AGENT_EVENT_TYPES } from '../../src/core/event-types.js';

const MIN = 60_000;
const ALL = new Set(AGENT_EVENT_TYPES);

/** Nothing happened, everything subscribed, the agent up for a minute. */
const quiet = (changes: Partial<AlertSituation> = {}): AlertSituation => ({
  last: {},
  subscribed: ALL,
  failed: 0,
  disabled: 0,
  backlog: false,
  backlogOngoing: false,
  caughtUp: true,
  heartbeatIntervalMs: 0,
  uploadsFailed: 0,
  diskLow: false,
  uptimeMs: MIN,
  ...changes,
});

describe('alertsDue: coalescing', () => {
  it('raises nothing when nothing happened', () => {
    expect(alertsDue(quiet())).toEqual([]);
  });

  it('raises the first failure alert at once, then at most one per kind every 5 minutes', () => {
    expect(alertsDue(quiet({ failed: 3 }))).toEqual(['agent.delivery_failed']);
    const last = { 'agent.delivery_failed': { order: 10, ageMs: ALERT_COALESCE_MS - 1 } };
    expect(alertsDue(quiet({ failed: 2, last }))).toEqual([]);
    expect(alertsDue(quiet({ failed: 2, last: { 'agent.delivery_failed': { order: 10, ageMs: ALERT_COALESCE_MS } } }))).toEqual([
      'agent.delivery_failed',
    ]);
  });

  it('holds each kind on its own', () => {
    const last = { 'agent.delivery_failed': { order: 10, ageMs: MIN } };
    expect(alertsDue(quiet({ failed: 1, disabled: 1, last }))).toEqual(['agent.endpoint_disabled']);
  });

  it('takes the interval as an option, so a test can shorten it', () => {
    const last = { 'agent.delivery_failed': { order: 10, ageMs: 1000 } };
    expect(alertsDue(quiet({ failed: 1, last }), 500)).toEqual(['agent.delivery_failed']);
    expect(alertsDue(quiet({ failed: 1, last }), 5000)).toEqual([]);
  });

  it('raises only the kinds some endpoint subscribes to', () => {
    const situation = quiet({ failed: 1, disabled: 1, subscribed: new Set(['agent.endpoint_disabled'] as const) });
    expect(alertsDue(situation)).toEqual(['agent.endpoint_disabled']);
    expect(alertsDue(quiet({ failed: 1, subscribed: new Set() }))).toEqual([]);
  });
});

describe('alertsDue: uploads and the disk', () => {
  it('raises agent.upload_failed and agent.disk_low at once, then coalesced, and never agent.recovered for them', () => {
    expect(alertsDue(quiet({ uploadsFailed: 2, diskLow: true }))).toEqual(['agent.upload_failed', 'agent.disk_low']);
    const last = { 'agent.upload_failed': { order: 1, ageMs: 1000 }, 'agent.disk_low': { order: 2, ageMs: 1000 } };
    expect(alertsDue(quiet({ uploadsFailed: 1, diskLow: true, last }))).toEqual([]);
    expect(alertsDue(quiet({ last }))).toEqual([]);
  });
});

describe('alertsDue: backlog_waiting', () => {
  it('is raised when a delivery has waited longer than alert_waiting_after_ms', () => {
    expect(alertsDue(quiet({ backlog: false }))).toEqual([]);
    expect(alertsDue(quiet({ backlog: true }))).toEqual(['agent.backlog_waiting']);
  });

  it('is not repeated until agent.recovered, however long the backlog lasts', () => {
    const last = { 'agent.backlog_waiting': { order: 5, ageMs: 3 * 60 * MIN } };
    expect(alertsDue(quiet({ backlog: true, backlogOngoing: true, caughtUp: false, last }))).toEqual([]);
    expect(alertsDue(quiet({ backlog: true, backlogOngoing: false, caughtUp: false, last }))).toEqual([]);
    const recovered = { ...last, 'agent.recovered': { order: 6, ageMs: 2 * 60 * MIN } };
    expect(alertsDue(quiet({ backlog: true, caughtUp: false, last: recovered }))).toEqual(['agent.backlog_waiting']);
  });

  it('where nobody takes agent.recovered, is raised again only for a backlog that began after it', () => {
    const subscribed = new Set(['agent.backlog_waiting'] as const);
    const last = { 'agent.backlog_waiting': { order: 5, ageMs: 60 * MIN } };
    expect(backlogReported({ last, subscribed, backlogOngoing: true })).toBe(true);
    expect(alertsDue(quiet({ subscribed, backlog: true, backlogOngoing: true, last }))).toEqual([]);
    expect(backlogReported({ last, subscribed, backlogOngoing: false })).toBe(false);
    expect(alertsDue(quiet({ subscribed, backlog: true, backlogOngoing: false, last }))).toEqual(['agent.backlog_waiting']);
  });
});

describe('alertsDue: recovered', () => {
  const failed = { 'agent.delivery_failed': { order: 10, ageMs: MIN } };

  it('follows a problem alert once all is caught up, and only then', () => {
    expect(alertsDue(quiet({ last: failed, caughtUp: false }))).toEqual([]);
    expect(alertsDue(quiet({ last: failed, caughtUp: true }))).toEqual(['agent.recovered']);
  });

  it('is never raised with no problem reported since the last one', () => {
    expect(alertsDue(quiet())).toEqual([]);
    const answered = { ...failed, 'agent.recovered': { order: 11, ageMs: 30_000 } };
    expect(alertsDue(quiet({ last: answered }))).toEqual([]);
  });

  it('follows each kind of problem', () => {
    for (const kind of ['agent.endpoint_disabled', 'agent.backlog_waiting'] as const) {
      expect(alertsDue(quiet({ last: { [kind]: { order: 3, ageMs: MIN } } }))).toEqual(['agent.recovered']);
    }
  });

  it('waits while a problem is still to be reported, held by the coalescing', () => {
    expect(alertsDue(quiet({ last: failed, disabled: 1, caughtUp: true, subscribed: new Set(['agent.recovered'] as const) }))).toEqual([]);
  });

  it('is coalesced like the others', () => {
    const again = { 'agent.delivery_failed': { order: 12, ageMs: MIN }, 'agent.recovered': { order: 11, ageMs: 2 * MIN } };
    expect(alertsDue(quiet({ last: again }))).toEqual([]);
    expect(alertsDue(quiet({ last: { ...again, 'agent.recovered': { order: 11, ageMs: ALERT_COALESCE_MS } } }))).toEqual([
      'agent.recovered',
    ]);
  });
});

describe('alertsDue: heartbeat', () => {
  it('comes one interval after the start when the outbox has none, then one interval after the last', () => {
    const hourly = { heartbeatIntervalMs: 60 * MIN };
    expect(alertsDue(quiet({ ...hourly, uptimeMs: 59 * MIN }))).toEqual([]);
    expect(alertsDue(quiet({ ...hourly, uptimeMs: 60 * MIN }))).toEqual(['agent.heartbeat']);
    const last = { 'agent.heartbeat': { order: 1, ageMs: 30 * MIN } };
    expect(alertsDue(quiet({ ...hourly, uptimeMs: 5 * 60 * MIN, last }))).toEqual([]);
    expect(alertsDue(quiet({ ...hourly, uptimeMs: MIN, last: { 'agent.heartbeat': { order: 1, ageMs: 3 * 60 * MIN } } }))).toEqual([
      'agent.heartbeat',
    ]);
  });

  it('keeps its own interval, shorter than the coalescing', () => {
    expect(alertsDue(quiet({ heartbeatIntervalMs: 1000, last: { 'agent.heartbeat': { order: 1, ageMs: 1000 } } }))).toEqual([
      'agent.heartbeat',
    ]);
  });

  it('is off at 0, and when nobody takes it', () => {
    expect(alertsDue(quiet({ heartbeatIntervalMs: 0, uptimeMs: 1e9 }))).toEqual([]);
    expect(alertsDue(quiet({ heartbeatIntervalMs: 1000, uptimeMs: 1e9, subscribed: new Set(['agent.recovered'] as const) }))).toEqual([]);
  });

  it('says when the next is due', () => {
    expect(nextHeartbeatInMs(quiet({ heartbeatIntervalMs: 1000, uptimeMs: 300 }))).toBe(700);
    expect(nextHeartbeatInMs(quiet({ heartbeatIntervalMs: 1000, last: { 'agent.heartbeat': { order: 1, ageMs: 5000 } } }))).toBe(0);
    expect(nextHeartbeatInMs(quiet({ heartbeatIntervalMs: 0 }))).toBeNull();
  });
});

describe('alertBody', () => {
  const context: AlertContext = {
    now: Date.parse('2025-01-15T14:30:00.000Z'),
    eventId: 4711,
    booth: 'Booth 2',
    agentVersion: '0.1.0',
    counts: { queued: 0, waiting: 2, delivered: 41, failed: 3 },
    oldestWaitingMs: 95_000,
  };
  const crm = {
    endpointId: 'ep_1',
    url: 'https://crm.example.com/hooks/booth?token=abc',
    failed: 3,
    lastError: 'HTTP 500 from the endpoint',
  };

  it('carries what every alert has, then its own fields', () => {
    const body = alertBody({ type: 'agent.delivery_failed', endpoints: [crm] }, context);
    expect(body).toEqual({
      type: 'agent.delivery_failed',
      event_id: 4711,
      timestamp: '2025-01-15T14:30:00.000Z',
      booth: 'Booth 2',
      agent_version: '0.1.0',
      summary:
        'Booth 2 (event 4711): 3 deliveries failed to https://crm.example.com/… (last error: HTTP 500 from the endpoint); ' +
        '41 delivered, 3 failed, 2 waiting',
      counts: { queued: 0, waiting: 2, delivered: 41, failed: 3 },
      oldest_waiting_ms: 95_000,
      occurrences: 3,
      endpoints: [{ id: 'ep_1', url: 'https://crm.example.com/…', failed: 3, last_error: 'HTTP 500 from the endpoint' }],
    });
  });

  it('never shows an endpoint path, which can be its secret', () => {
    const body = JSON.stringify(alertBody({ type: 'agent.delivery_failed', endpoints: [crm] }, context));
    expect(body).not.toContain('token');
    expect(body).not.toContain('/hooks');
    expect(shortUrl('https://hooks.slack.com/services/T000/B000/XXXX')).toBe('https://hooks.slack.com/…');
    expect(shortUrl('https://127.0.0.1:8443/')).toBe('https://127.0.0.1:8443');
  });

  it('counts every failure of several endpoints', () => {
    const other = { endpointId: 'ep_2', url: 'https://sheet.example.org/exec', failed: 1, lastError: null };
    const body = alertBody({ type: 'agent.delivery_failed', endpoints: [crm, other] }, context);
    expect(body.occurrences).toBe(4);
    expect(body.summary).toBe(
      'Booth 2 (event 4711): 4 deliveries failed: 3 to https://crm.example.com/…, 1 to https://sheet.example.org/…; ' +
        '41 delivered, 3 failed, 2 waiting',
    );
  });

  it('has a one-line summary for each kind', () => {
    const bodies = [
      alertBody(
        { type: 'agent.endpoint_disabled', endpoints: [{ endpointId: 'ep_1', url: crm.url, reason: 'disabled by the operator' }] },
        context,
      ),
      alertBody({ type: 'agent.backlog_waiting', waitingAfterMs: 60_000, endpointUrl: crm.url }, context),
      alertBody({ type: 'agent.recovered', problemSince: context.now - 23 * MIN }, context),
      alertBody({ type: 'agent.heartbeat', uptimeMs: 3 * 3_600_000 }, context),
      alertBody({ type: 'agent.upload_failed', occurrences: 2, reason: 'the storage has no such bucket: check the bucket name' }, context),
      alertBody({ type: 'agent.disk_low', freeMb: 700, minFreeMb: 1024 }, context),
    ];
    expect(bodies.map((b) => b.summary)).toEqual([
      'Booth 2 (event 4711): endpoint https://crm.example.com/… was disabled (disabled by the operator); 41 delivered, 3 failed, 2 waiting',
      'Booth 2 (event 4711): deliveries have waited longer than 60 s: the oldest for 95 s, to https://crm.example.com/…; 41 delivered, 3 failed, 2 waiting',
      'Booth 2 (event 4711): all caught up after 23 min; 41 delivered, 3 failed, 2 waiting',
      'Booth 2 (event 4711): running (Booth Agent 0.1.0, up 3 h); 41 delivered, 3 failed, 2 waiting',
      'Booth 2 (event 4711): 2 photos or videos could not be uploaded: the storage has no such bucket: check the bucket name; their webhooks wait until the storage is fixed and the uploads retried; 41 delivered, 3 failed, 2 waiting',
      'Booth 2 (event 4711): a photo or video was refused: 700 MB free on the disk, media_min_free_mb is 1024 MB; 41 delivered, 3 failed, 2 waiting',
    ]);
    expect(bodies.slice(4).map((b) => [b.occurrences, b.reason, b.free_mb, b.min_free_mb])).toEqual([
      [2, 'the storage has no such bucket: check the bucket name', undefined, undefined],
      [undefined, undefined, 700, 1024],
    ]);
    expect(bodies.slice(0, 4).map((b) => [b.type, b.occurrences, b.waiting_after_ms, b.problem_since, b.uptime_ms])).toEqual([
      ['agent.endpoint_disabled', 1, undefined, undefined, undefined],
      ['agent.backlog_waiting', undefined, 60_000, undefined, undefined],
      ['agent.recovered', undefined, undefined, '2025-01-15T14:07:00.000Z', undefined],
      ['agent.heartbeat', undefined, undefined, undefined, 10_800_000],
    ]);
  });

  it('names the booth alone when no event is configured, on one line whatever the name holds', () => {
    const body = alertBody({ type: 'agent.heartbeat', uptimeMs: 1000 }, { ...context, eventId: null, booth: 'Front\ndesk  booth' });
    expect(body.event_id).toBeNull();
    expect(body.summary).toMatch(/^Front desk booth: running/);
    expect(body.summary).not.toMatch(/\n/);
  });
});
