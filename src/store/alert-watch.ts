// What the alert monitor (delivery/alerts.ts) reads of the outbox, every few seconds, in
// queries that each use an index and read only what changed since the last alert. The
// guests' deliveries are those of booth payloads: Send Test deliveries and alerts are left
// out everywhere, so an alert endpoint's own failures raise no alert.
import type { Database } from 'better-sqlite3';
import { PROBLEM_KINDS, type DisabledEndpoint, type FailedAt } from '../core/alerts.js';
import { takesBoothPayloads, type AgentEventType, type TypeFilter } from '../core/event-types.js';

/** An enabled endpoint that takes at least one kind of alert. */
export interface AlertSubscriber {
  types: TypeFilter[];
  createdAt: number;
}

/** A delivery of a guest's event (not Send Test, not an alert) to an endpoint that is enabled. */
const GUESTS_OF_ENABLED = `
  d.endpoint_id IN (SELECT id FROM endpoints WHERE enabled = 1)
  AND d.event_seq NOT IN (
    SELECT seq FROM events INDEXED BY events_test WHERE test = 1
    UNION ALL SELECT seq FROM events INDEXED BY events_alert WHERE alert = 1)`;

export class AlertWatch {
  private readonly s;

  constructor(db: Database) {
    this.s = {
      subscribers: db.prepare(`SELECT types, created_at AS createdAt FROM endpoints WHERE enabled = 1 AND types IS NOT NULL`),
      // Run once at start: the index holds each type's alerts in time order, and capture
      // order settles which came last even if the clock was set back in between.
      latest: db.prepare(`
        SELECT seq, captured_at AS capturedAt FROM events INDEXED BY events_alert
        WHERE alert = 1 AND type = ? ORDER BY seq DESC LIMIT 1`),
      seqOf: db.prepare(`SELECT seq FROM events WHERE id = ?`).pluck(),
      problemSince: db
        .prepare(
          `
        SELECT MIN(captured_at) FROM events INDEXED BY events_alert
        WHERE alert = 1 AND type IN (${PROBLEM_KINDS.map((type) => `'${type}'`).join(', ')}) AND seq > ?`,
        )
        .pluck(),
      // By when a delivery first failed in its round: each failure is counted by the first
      // alert after it, whether it is failed now or being tried again by itself (a short
      // recover_schedule can put it back in the queue, or fail it again, before that alert
      // is due), and by no later one. One delivered meanwhile has no failed_at: nothing to report.
      failedBetween: db.prepare(`
        SELECT d.endpoint_id AS endpointId, p.url, COUNT(*) AS failed, d.last_error AS lastError, MAX(d.updated_at) AS lastAt
        FROM deliveries d INDEXED BY deliveries_failed_at JOIN events e ON e.seq = d.event_seq JOIN endpoints p ON p.id = d.endpoint_id
        WHERE d.failed_at >= @since AND d.failed_at < @until AND e.alert = 0 AND e.test = 0
        GROUP BY d.endpoint_id ORDER BY failed DESC, lastAt DESC`),
      failedSince: db.prepare(`
        SELECT 1 FROM deliveries d INDEXED BY deliveries_failed JOIN events e ON e.seq = d.event_seq
        WHERE d.status = 'failed' AND d.updated_at >= ? AND e.alert = 0 AND e.test = 0 LIMIT 1`),
      disabledBetween: db.prepare(`
        SELECT id, url, types, disabled_reason AS reason FROM endpoints
        WHERE enabled = 0 AND disabled_at >= @since AND disabled_at < @until ORDER BY disabled_at, id`),
      // The deliveries still to make are walked through the index by status, joined to
      // nothing: Send Test events and alerts are few, and found by their own indexes. One
      // tried again by itself after failing keeps the time it was first queued, and is not
      // a backlog: it was reported as failed.
      pendingSince: db.prepare(`
        SELECT 1 FROM deliveries d INDEXED BY deliveries_by_status
        WHERE d.status IN ('queued', 'waiting') AND d.recoveries = 0 AND d.queued_at <= ? AND ${GUESTS_OF_ENABLED} LIMIT 1`),
      oldestPending: db.prepare(`
        SELECT MIN(d.queued_at) AS queuedAt, p.url FROM deliveries d INDEXED BY deliveries_by_status JOIN endpoints p ON p.id = d.endpoint_id
        WHERE d.status IN ('queued', 'waiting') AND d.recoveries = 0 AND ${GUESTS_OF_ENABLED}`),
      unsettled: db.prepare(`
        SELECT 1 FROM deliveries d INDEXED BY deliveries_by_status
        WHERE (d.status = 'waiting' OR (d.status = 'queued' AND d.recoveries > 0)) AND ${GUESTS_OF_ENABLED} LIMIT 1`),
      uploadsFailedBetween: db.prepare(`
        SELECT COUNT(*) AS occurrences, (SELECT last_error FROM media WHERE status = 'failed' ORDER BY failed_at DESC LIMIT 1) AS reason
        FROM media WHERE status = 'failed' AND failed_at >= @since AND failed_at < @until`),
      enabled: db.prepare(`SELECT group_concat(id) FROM (SELECT id FROM endpoints WHERE enabled = 1 ORDER BY id)`).pluck(),
    };
  }

  subscribers(): AlertSubscriber[] {
    return (this.s.subscribers.all() as { types: string; createdAt: number }[]).map((row) => ({
      types: JSON.parse(row.types) as TypeFilter[],
      createdAt: row.createdAt,
    }));
  }

  /** The last alert of `type` in the outbox, by capture order. */
  latest(type: AgentEventType): { seq: number; capturedAt: number } | null {
    return (this.s.latest.get(type) as { seq: number; capturedAt: number } | undefined) ?? null;
  }

  /** An event's place in capture order. */
  seqOf(eventId: string): number {
    return this.s.seqOf.get(eventId) as number;
  }

  /** When the first problem alert after the event `seq` (the last agent.recovered) was captured, or null. */
  problemSince(seq: number): number | null {
    return (this.s.problemSince.get(seq) as number | null) ?? null;
  }

  /**
   * Guests' deliveries that first failed (in their round) in [since, until) and are not
   * delivered, by endpoint, most first.
   */
  failedBetween(since: number, until: number): FailedAt[] {
    return (this.s.failedBetween.all({ since, until }) as (FailedAt & { lastAt: number })[]).map(({ lastAt: _lastAt, ...row }) => row);
  }

  /** Whether a guests' delivery failed (or failed again) at or after `since` and is still failed. */
  failedSince(since: number): boolean {
    return this.s.failedSince.get(since) !== undefined;
  }

  /** Endpoints taking booth payloads disabled in [since, until) and still disabled. */
  disabledBetween(since: number, until: number): DisabledEndpoint[] {
    const rows = this.s.disabledBetween.all({ since, until }) as { id: string; url: string; types: string | null; reason: string | null }[];
    return rows
      .filter((row) => takesBoothPayloads(row.types === null ? null : (JSON.parse(row.types) as TypeFilter[])))
      .map((row) => ({ endpointId: row.id, url: row.url, reason: row.reason }));
  }

  /**
   * Whether a guests' delivery to an enabled endpoint, queued at or before `cutoff`, is still
   * queued or waiting (one tried again by itself after failing apart). Quick when there is one:
   * the oldest come first.
   */
  pendingSince(cutoff: number): boolean {
    return this.s.pendingSince.get(cutoff) !== undefined;
  }

  /**
   * The oldest of those deliveries (when it was queued, and where to), or null. It reads every
   * one of them.
   */
  oldestPending(): { queuedAt: number; url: string } | null {
    const row = this.s.oldestPending.get() as { queuedAt: number | null; url: string | null };
    return row.queuedAt === null ? null : { queuedAt: row.queuedAt, url: row.url ?? '' };
  }

  /** Whether a guests' delivery waits for an enabled endpoint that cannot be reached, or is being tried again after failing. */
  unsettled(): boolean {
    return this.s.unsettled.get() !== undefined;
  }

  /** Sessions' files whose upload failed for good in [since, until) and are still failed, with the latest reason. */
  uploadsFailedBetween(since: number, until: number): { occurrences: number; reason: string | null } {
    return this.s.uploadsFailedBetween.get({ since, until }) as { occurrences: number; reason: string | null };
  }

  /** The enabled endpoints, as one string that changes when they do. */
  enabledEndpoints(): string {
    return (this.s.enabled.get() as string | null) ?? '';
  }
}
