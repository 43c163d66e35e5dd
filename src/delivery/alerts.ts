// The alert monitor: looks at the outbox every few seconds and raises the agent's own events
// (core/alerts.ts decides which, and what they say). It reads the outbox's state rather than
// being told of changes, so what any process did is seen: the delivery loop's failures, the
// expiry sweep, `booth-agent endpoint disable` run from the command line. An alert is
// captured through the outbox like a guest's event, for the endpoints that subscribe to it,
// so it is signed, retried, and delivered after a restart; and where the last alert of each
// kind stands in the outbox is where the next one counts from, across restarts too.
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ALERT_COALESCE_MS, alertBody, alertsDue, nextHeartbeatInMs, type AlertFacts, type AlertSituation } from '../core/alerts.js';
import { AGENT_EVENT_TYPES, subscribes, type AgentEventType } from '../core/event-types.js';
import { AlertWatch } from '../store/alert-watch.js';
import type { Store } from '../store/store.js';

const POLL_MS = 2000;
/** Later than any time a row can have: "and still disabled now". */
const NEVER = Number.MAX_SAFE_INTEGER;

export interface AlertMonitorDeps {
  store: Store;
  log: Logger;
  /** Tells the delivery loop that an alert waits to be sent. */
  wake(): void;
  agentVersion: string;
  now?: () => number;
  /** A clock the operator cannot set back, for how long ago each alert was. */
  monotonic?: () => number;
  pollMs?: number;
  /** At most one alert of a kind in this long (a test shortens it). */
  coalesceMs?: number;
  /** The booth's name when device_name is not set. */
  hostname?: () => string;
}

/** The last alert of a kind: its place in capture order, and when it was captured by each clock. */
interface Raised {
  order: number;
  capturedAt: number;
  /** On the monotonic clock. */
  at: number;
}

/** What one look found, and what each alert it may raise reports. */
interface Look {
  situation: AlertSituation;
  facts: (type: AgentEventType) => AlertFacts;
  /** Age of the oldest guests' delivery still to make; read only when an alert is raised. */
  oldestWaitingMs: () => number;
}

export class AlertMonitor {
  private readonly watch: AlertWatch;
  private readonly last: Partial<Record<AgentEventType, Raised>> = {};
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /**
   * No guests' delivery still to make was queued before this (null: not known). Deliveries
   * join them queued at the time they do, so no backlog can begin before this plus
   * alert_waiting_after_ms, and until then the outbox is not asked. An endpoint enabled
   * again (its deliveries come back with their old times) or the clock set back forgets it.
   */
  private pendingFloor: number | null = null;
  private enabled = '';
  private lastLookAt = -Infinity;
  /** The last capture with media refused for disk space, not yet reported (it is nowhere in the outbox). */
  private diskRefusal: { freeMb: number; minFreeMb: number } | null = null;

  constructor(private readonly deps: AlertMonitorDeps) {
    this.watch = new AlertWatch(deps.store.db);
    this.now = deps.now ?? Date.now;
    this.monotonic = deps.monotonic ?? (() => performance.now());
    const now = this.now();
    this.startedAt = this.monotonic();
    // An alert stamped later than now was captured before the clock was set back: it counts
    // as just raised, never as raised in the future.
    for (const type of AGENT_EVENT_TYPES) {
      const latest = this.watch.latest(type);
      if (latest)
        this.last[type] = { order: latest.seq, capturedAt: latest.capturedAt, at: this.startedAt - Math.max(0, now - latest.capturedAt) };
    }
  }

  start(): void {
    this.running = true;
    this.schedule(this.deps.pollMs ?? POLL_MS);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** A capture with media was refused for want of disk space: agent.disk_low at the next look. */
  diskLow(disk: { freeMb: number; minFreeMb: number }): void {
    this.diskRefusal = disk;
  }

  /** Looks once, captures the alerts due, and returns their types. */
  check(): AgentEventType[] {
    const now = this.now();
    const mono = this.monotonic();
    const look = this.look(now, mono);
    if (!look) return [];
    const raised = alertsDue(look.situation, this.deps.coalesceMs ?? ALERT_COALESCE_MS);
    if (raised.length === 0) return [];
    const settings = this.deps.store.settings.read();
    const figures = this.deps.store.views.closeoutFigures();
    const context = {
      now,
      eventId: settings.event_id,
      booth: settings.device_name?.trim() || (this.deps.hostname ?? hostname)(),
      agentVersion: this.deps.agentVersion,
      counts: figures.counts,
      oldestWaitingMs: look.oldestWaitingMs(),
    };
    for (const type of raised) {
      const body = alertBody(look.facts(type), context);
      const captured = this.deps.store.queue.capture(
        { type, body: Buffer.from(JSON.stringify(body), 'utf8'), dedupeKey: null, occurredAt: String(body.timestamp), sessionId: null },
        now,
        0,
      );
      this.last[type] = { order: this.watch.seqOf(captured.id), capturedAt: now, at: mono };
      if (type === 'agent.disk_low') this.diskRefusal = null;
      this.deps.log.info({ alert: type, event: captured.id, deliveries: captured.deliveries, summary: body.summary }, 'alert raised');
    }
    this.deps.wake();
    return raised;
  }

  /** Reads what the alerts are decided on; null when no enabled endpoint takes any alert. */
  private look(now: number, mono: number): Look | null {
    const subscribers = this.watch.subscribers();
    const takers = (type: AgentEventType) => subscribers.filter((s) => subscribes(s.types, type));
    const subscribed = new Set(AGENT_EVENT_TYPES.filter((type) => takers(type).length > 0));
    if (subscribed.size === 0) {
      // Nobody watches: what was learnt of the outbox may be out of date when someone does.
      this.pendingFloor = null;
      this.diskRefusal = null;
      return null;
    }
    const settings = this.deps.store.settings.read();
    // Where a kind counts from: its last alert (when the clock has since been set back to
    // before it, that moment as the clock reads now); before the first, when the first
    // endpoint that takes it was added.
    const since = (type: AgentEventType) => {
      const last = this.last[type];
      if (!last) return Math.min(...takers(type).map((s) => s.createdAt));
      return last.capturedAt <= now ? last.capturedAt : now - (mono - last.at);
    };
    const failures = subscribed.has('agent.delivery_failed') ? this.watch.failedBetween(since('agent.delivery_failed'), now) : [];
    const disabled = subscribed.has('agent.endpoint_disabled') ? this.watch.disabledBetween(since('agent.endpoint_disabled'), now) : [];
    const uploads = subscribed.has('agent.upload_failed')
      ? this.watch.uploadsFailedBetween(since('agent.upload_failed'), now)
      : { occurrences: 0, reason: null };
    const diskRefusal = subscribed.has('agent.disk_low') ? this.diskRefusal : null;
    const counts = this.deps.store.views.closeoutFigures().counts;
    const anyPending = counts.queued + counts.waiting > 0;
    // It walks every delivery still to make: read when an alert is raised or the floor moves.
    let found: { queuedAt: number; url: string } | null | undefined;
    const oldest = () => (found === undefined ? (found = anyPending ? this.watch.oldestPending() : null) : found);
    const enabled = this.watch.enabledEndpoints();
    if (enabled !== this.enabled || now < this.lastLookAt) this.pendingFloor = null;
    this.enabled = enabled;
    this.lastLookAt = now;
    /** Whether a guests' delivery queued at or before `cutoff` is still to make. */
    const pendingSince = (cutoff: number) => {
      if (this.pendingFloor !== null && cutoff < this.pendingFloor) return false;
      if (this.pendingFloor !== null && this.watch.pendingSince(cutoff)) return true;
      // Not known yet, or the oldest went: one walk finds the oldest now.
      this.pendingFloor = oldest()?.queuedAt ?? now;
      return cutoff >= this.pendingFloor;
    };
    const waitingAfterMs = settings.alert_waiting_after_ms;
    const backlog = pendingSince(now - waitingAfterMs);
    const lastBacklog = this.last['agent.backlog_waiting'];
    const backlogOngoing = lastBacklog !== undefined && !subscribed.has('agent.recovered') && pendingSince(since('agent.backlog_waiting'));
    const caughtUp = () => {
      if (backlog) return false;
      const from = since('agent.recovered');
      if (this.watch.failedSince(from) || this.watch.disabledBetween(from, NEVER).length > 0) return false;
      return !anyPending || !this.watch.unsettled();
    };
    const situation: AlertSituation = {
      last: Object.fromEntries(Object.entries(this.last).map(([type, raised]) => [type, { order: raised.order, ageMs: mono - raised.at }])),
      subscribed,
      failed: failures.reduce((sum, f) => sum + f.failed, 0),
      disabled: disabled.length,
      backlog,
      backlogOngoing,
      caughtUp: subscribed.has('agent.recovered') && caughtUp(),
      heartbeatIntervalMs: settings.heartbeat_interval_ms,
      uploadsFailed: uploads.occurrences,
      diskLow: diskRefusal !== null,
      uptimeMs: mono - this.startedAt,
    };
    const facts = (type: AgentEventType): AlertFacts => {
      switch (type) {
        case 'agent.delivery_failed':
          return { type, endpoints: failures };
        case 'agent.endpoint_disabled':
          return { type, endpoints: disabled };
        case 'agent.backlog_waiting':
          return { type, waitingAfterMs, endpointUrl: oldest()?.url ?? null };
        case 'agent.recovered':
          return { type, problemSince: this.watch.problemSince(this.last['agent.recovered']?.order ?? 0) };
        case 'agent.heartbeat':
          return { type, uptimeMs: Math.round(situation.uptimeMs) };
        case 'agent.upload_failed':
          return { type, ...uploads };
        case 'agent.disk_low':
          return { type, ...(diskRefusal ?? { freeMb: 0, minFreeMb: settings.media_min_free_mb }) };
      }
    };
    return { situation, facts, oldestWaitingMs: () => Math.max(0, now - (oldest()?.queuedAt ?? now)) };
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => this.tick(), delayMs);
    this.timer.unref();
  }

  private tick(): void {
    const pollMs = this.deps.pollMs ?? POLL_MS;
    let next = pollMs;
    try {
      this.check();
      // A heartbeat due before the next look is sent on time rather than up to a look late.
      const heartbeat = this.heartbeatInMs();
      if (heartbeat !== null) next = Math.min(next, heartbeat);
    } catch (error) {
      this.deps.log.error({ err: error }, 'alerts could not be checked; looking again shortly');
    }
    // A timer may fire a fraction of a millisecond early; the heartbeat must be due by then.
    this.schedule(Math.ceil(next) + 1);
  }

  private heartbeatInMs(): number | null {
    const interval = this.deps.store.settings.read().heartbeat_interval_ms;
    const subscribed = new Set(this.watch.subscribers().flatMap((s) => AGENT_EVENT_TYPES.filter((type) => subscribes(s.types, type))));
    const last = this.last['agent.heartbeat'];
    const mono = this.monotonic();
    return nextHeartbeatInMs({
      last: last ? { 'agent.heartbeat': { order: last.order, ageMs: mono - last.at } } : {},
      subscribed,
      heartbeatIntervalMs: interval,
      uptimeMs: mono - this.startedAt,
    });
  }
}
