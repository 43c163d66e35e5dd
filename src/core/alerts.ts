// The agent's own events, the alerts (docs/webhooks.md, "Alerts"): when each is due and what
// it says. Pure: the monitor (delivery/alerts.ts) reads the outbox's state, asks here what to
// raise, and captures the bodies built here through the outbox like any event, so an alert
// is signed, retried and kept across restarts like a guest's.
import type { AgentEventType } from './event-types.js';
import { formatDuration } from './policy.js';
import type { StatusCounts } from './read-model.js';

/** At most one alert of a kind in this long; heartbeats keep their own interval instead. */
export const ALERT_COALESCE_MS = 5 * 60_000;

/** The kinds a later agent.recovered answers. */
export const PROBLEM_KINDS = ['agent.delivery_failed', 'agent.endpoint_disabled', 'agent.backlog_waiting'] as const;

/** The last alert of a kind in the outbox: its place in capture order, and how long ago it was captured. */
export interface LastAlert {
  order: number;
  ageMs: number;
}

/** What the monitor found in the outbox, for one look. */
export interface AlertSituation {
  /** The last alert of each kind; a kind never raised is absent. */
  last: Partial<Record<AgentEventType, LastAlert>>;
  /** The kinds at least one enabled endpoint subscribes to: no other is raised. */
  subscribed: ReadonlySet<AgentEventType>;
  /**
   * Guests' deliveries that first failed (since their capture or the operator's retry) after
   * the last agent.delivery_failed and are not delivered, failed now or being tried again by itself.
   */
  failed: number;
  /** Endpoints taking booth payloads that were disabled since the last agent.endpoint_disabled. */
  disabled: number;
  /** A guests' delivery has been queued or waiting longer than alert_waiting_after_ms. */
  backlog: boolean;
  /** A guests' delivery queued or waiting now already was when the last agent.backlog_waiting was raised. */
  backlogOngoing: boolean;
  /**
   * Everything the problem alerts since the last agent.recovered were about is over: no
   * guests' delivery waiting or queued longer than alert_waiting_after_ms, none failed since
   * then still failed, no endpoint disabled since then still disabled (monitor's `caughtUp`).
   */
  caughtUp: boolean;
  heartbeatIntervalMs: number;
  /** Sessions' files whose upload failed for good since the last agent.upload_failed. */
  uploadsFailed: number;
  /** A capture with media was refused for disk space since the last agent.disk_low. */
  diskLow: boolean;
  /** How long the agent has run: with no heartbeat in the outbox, the first comes one interval after the start. */
  uptimeMs: number;
}

/** The alert of `kind` came after the last agent.recovered (or there was none). */
function unanswered(last: AlertSituation['last'], kind: AgentEventType): boolean {
  const alert = last[kind];
  const recovered = last['agent.recovered'];
  return alert !== undefined && (recovered === undefined || alert.order > recovered.order);
}

/**
 * The backlog reported by the last agent.backlog_waiting still stands: no agent.recovered
 * came since. Where no endpoint takes agent.recovered, nothing ever says the backlog ended,
 * so it stands while the delivery waiting longest was already waiting when it was raised;
 * a backlog that cleared and built up again is a new one.
 */
export function backlogReported(s: Pick<AlertSituation, 'last' | 'subscribed' | 'backlogOngoing'>): boolean {
  return unanswered(s.last, 'agent.backlog_waiting') && (s.subscribed.has('agent.recovered') || s.backlogOngoing);
}

/**
 * The alerts to raise now. Each kind at most once per `coalesceMs` (the first at once), with
 * what happened meanwhile counted in it; heartbeats every interval; agent.recovered only once
 * nothing is left to report and something was reported since the last one.
 */
export function alertsDue(s: AlertSituation, coalesceMs: number = ALERT_COALESCE_MS): AgentEventType[] {
  const may = (kind: AgentEventType) => {
    const last = s.last[kind];
    return s.subscribed.has(kind) && (last === undefined || last.ageMs >= coalesceMs);
  };
  const backlog = s.backlog && !backlogReported(s);
  const due: AgentEventType[] = [];
  if (s.failed > 0 && may('agent.delivery_failed')) due.push('agent.delivery_failed');
  if (s.disabled > 0 && may('agent.endpoint_disabled')) due.push('agent.endpoint_disabled');
  if (backlog && may('agent.backlog_waiting')) due.push('agent.backlog_waiting');
  if (s.uploadsFailed > 0 && may('agent.upload_failed')) due.push('agent.upload_failed');
  if (s.diskLow && may('agent.disk_low')) due.push('agent.disk_low');
  const reported = PROBLEM_KINDS.some((kind) => unanswered(s.last, kind));
  // A problem still to be reported (held by the coalescing, say) comes before any all-clear.
  const toReport = s.failed > 0 || s.disabled > 0 || backlog;
  if (reported && s.caughtUp && !toReport && may('agent.recovered')) due.push('agent.recovered');
  const beat = s.last['agent.heartbeat']?.ageMs ?? s.uptimeMs;
  if (s.heartbeatIntervalMs > 0 && s.subscribed.has('agent.heartbeat') && beat >= s.heartbeatIntervalMs) due.push('agent.heartbeat');
  return due;
}

/** When the next heartbeat is due, in ms from now (null: off or nobody takes them). */
export function nextHeartbeatInMs(s: Pick<AlertSituation, 'last' | 'subscribed' | 'heartbeatIntervalMs' | 'uptimeMs'>): number | null {
  if (s.heartbeatIntervalMs === 0 || !s.subscribed.has('agent.heartbeat')) return null;
  return Math.max(0, s.heartbeatIntervalMs - (s.last['agent.heartbeat']?.ageMs ?? s.uptimeMs));
}

/** What every alert says about the booth, beside its own facts. */
export interface AlertContext {
  now: number;
  /** The configured event (settings.event_id), or null. */
  eventId: number | null;
  /** settings.device_name, else the machine's name. */
  booth: string;
  agentVersion: string;
  /** The guests' deliveries by status (Send Test deliveries and alerts left out). */
  counts: StatusCounts;
  /** Age of the oldest guests' delivery queued or waiting; 0 when none is. */
  oldestWaitingMs: number;
}

export interface FailedAt {
  endpointId: string;
  url: string;
  failed: number;
  lastError: string | null;
}

export interface DisabledEndpoint {
  endpointId: string;
  url: string;
  reason: string | null;
}

/** What each kind reports, besides the context. */
export type AlertFacts =
  | { type: 'agent.delivery_failed'; endpoints: readonly FailedAt[] }
  | { type: 'agent.endpoint_disabled'; endpoints: readonly DisabledEndpoint[] }
  | { type: 'agent.backlog_waiting'; waitingAfterMs: number; endpointUrl: string | null }
  | { type: 'agent.recovered'; problemSince: number | null }
  | { type: 'agent.heartbeat'; uptimeMs: number }
  | { type: 'agent.upload_failed'; occurrences: number; reason: string | null }
  | { type: 'agent.disk_low'; freeMb: number; minFreeMb: number };

/**
 * An endpoint's address as alerts show it: its origin, and "/…" for the rest. The path of a
 * Zapier, Make or chat webhook is its secret, and an alert often goes to a chat channel.
 */
export function shortUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname === '/' && parsed.search === '' ? parsed.origin : `${parsed.origin}/…`;
  } catch {
    return 'an endpoint';
  }
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The alert's body: the fields every alert has, its own, and a one-line summary for people. */
export function alertBody(facts: AlertFacts, ctx: AlertContext): Record<string, unknown> {
  const own = ownFields(facts);
  const { queued, waiting, delivered, failed } = ctx.counts;
  const tally = `${delivered} delivered, ${failed} failed, ${queued + waiting} waiting`;
  const where = ctx.eventId === null ? ctx.booth : `${ctx.booth} (event ${ctx.eventId})`;
  const summary = `${where}: ${describe(facts, ctx)}; ${tally}`.replace(/\s+/g, ' ').trim();
  return {
    type: facts.type,
    event_id: ctx.eventId,
    timestamp: new Date(ctx.now).toISOString(),
    booth: ctx.booth,
    agent_version: ctx.agentVersion,
    summary,
    counts: { queued, waiting, delivered, failed },
    oldest_waiting_ms: ctx.oldestWaitingMs,
    ...own,
  };
}

function ownFields(facts: AlertFacts): Record<string, unknown> {
  switch (facts.type) {
    case 'agent.delivery_failed':
      return {
        occurrences: facts.endpoints.reduce((sum, e) => sum + e.failed, 0),
        endpoints: facts.endpoints.map((e) => ({ id: e.endpointId, url: shortUrl(e.url), failed: e.failed, last_error: e.lastError })),
      };
    case 'agent.endpoint_disabled':
      return {
        occurrences: facts.endpoints.length,
        endpoints: facts.endpoints.map((e) => ({ id: e.endpointId, url: shortUrl(e.url), reason: e.reason })),
      };
    case 'agent.backlog_waiting':
      return { waiting_after_ms: facts.waitingAfterMs, endpoint_url: facts.endpointUrl === null ? null : shortUrl(facts.endpointUrl) };
    case 'agent.recovered':
      return { problem_since: facts.problemSince === null ? null : new Date(facts.problemSince).toISOString() };
    case 'agent.heartbeat':
      return { uptime_ms: facts.uptimeMs };
    case 'agent.upload_failed':
      return { occurrences: facts.occurrences, reason: facts.reason };
    case 'agent.disk_low':
      return { free_mb: facts.freeMb, min_free_mb: facts.minFreeMb };
  }
}

function describe(facts: AlertFacts, ctx: AlertContext): string {
  switch (facts.type) {
    case 'agent.delivery_failed': {
      const total = facts.endpoints.reduce((sum, e) => sum + e.failed, 0);
      const [only] = facts.endpoints;
      if (facts.endpoints.length === 1 && only) {
        return `${plural(total, 'delivery', 'deliveries')} failed to ${shortUrl(only.url)}${only.lastError ? ` (last error: ${only.lastError})` : ''}`;
      }
      return `${plural(total, 'delivery', 'deliveries')} failed: ${facts.endpoints.map((e) => `${e.failed} to ${shortUrl(e.url)}`).join(', ')}`;
    }
    case 'agent.endpoint_disabled': {
      const why = (e: DisabledEndpoint) => (e.reason ? ` (${e.reason})` : '');
      const [only] = facts.endpoints;
      if (facts.endpoints.length === 1 && only) return `endpoint ${shortUrl(only.url)} was disabled${why(only)}`;
      return `${facts.endpoints.length} endpoints were disabled: ${facts.endpoints.map((e) => `${shortUrl(e.url)}${why(e)}`).join(', ')}`;
    }
    case 'agent.backlog_waiting':
      return (
        `deliveries have waited longer than ${formatDuration(facts.waitingAfterMs)}: the oldest for ${formatDuration(ctx.oldestWaitingMs)}` +
        (facts.endpointUrl === null ? '' : `, to ${shortUrl(facts.endpointUrl)}`)
      );
    case 'agent.recovered':
      return facts.problemSince === null
        ? 'all caught up'
        : `all caught up after ${formatDuration(Math.max(0, ctx.now - facts.problemSince))}`;
    case 'agent.heartbeat':
      return `running (Booth Agent ${ctx.agentVersion}, up ${formatDuration(facts.uptimeMs)})`;
    case 'agent.upload_failed':
      return `${plural(facts.occurrences, 'photo or video', 'photos or videos')} could not be uploaded${facts.reason ? `: ${facts.reason}` : ''}; their webhooks wait until the storage is fixed and the uploads retried`;
    case 'agent.disk_low':
      return `a photo or video was refused: ${facts.freeMb} MB free on the disk, media_min_free_mb is ${facts.minFreeMb} MB`;
  }
}
