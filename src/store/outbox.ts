// The outbox: events as captured, one delivery per event and subscribed endpoint, and
// every attempt. All state changes of a delivery go through here, each in one transaction.
//
// Deliveries are claimed with a lease (owner + expiry) rather than an "in flight" flag:
// a sender that crashes leaves a lease that simply runs out, and two senders can never
// hold the same delivery at once because a claim reads and leases in one IMMEDIATE
// transaction, which holds SQLite's write lock from its first statement.
import type { Database, Statement } from 'better-sqlite3';
import { ulidFactory } from '../core/ids.js';
import type { Decision } from '../core/policy.js';
import type { PayloadType } from '../core/payload.js';

export type DeliveryStatus = 'queued' | 'waiting' | 'delivered' | 'failed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['queued', 'waiting', 'delivered', 'failed'];

export interface NewEvent {
  type: PayloadType;
  body: Buffer;
  /** The payload's session.id, for the operator's search. */
  sessionId: string;
  dedupeKey: string | null;
  occurredAt: string;
  /** A Send Test event: delivered to `onlyEndpoint` alone. */
  test?: boolean;
  onlyEndpoint?: string;
}

export interface Captured {
  id: string;
  deliveries: number;
  duplicate: boolean;
  /** The new deliveries' ids (none for a duplicate). */
  deliveryIds: string[];
}

export interface Claim {
  seq: number;
  /** The delivery's public id, which is also its `webhook-id`. */
  id: string;
  endpointId: string;
  eventId: string;
  test: boolean;
  attemptsUsed: number;
  queuedAt: number;
  body: Buffer;
}

export interface AttemptRecord {
  startedAt: number;
  durationMs: number;
  outcome: 'answered' | 'no-response' | 'unreachable';
  statusCode: number | null;
  error: string | null;
  responseHead: Buffer | null;
}

export interface AttemptView extends AttemptRecord {
  reason: string;
}

export interface DeliveryView {
  /** Pass as `before` to get the page after this row. */
  cursor: number;
  id: string;
  status: DeliveryStatus;
  eventId: string;
  type: string;
  test: boolean;
  endpointId: string;
  endpointUrl: string;
  attemptsUsed: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  capturedAt: number;
  deliveredAt: number | null;
  sessionId: string | null;
}

export interface DeliveryFilter {
  status?: DeliveryStatus | undefined;
  type?: PayloadType | undefined;
  sessionId?: string | undefined;
  before?: number | undefined;
  limit: number;
}

/** How the deliveries of one hour's events went, for the day chart. */
export interface HourStats {
  from: number;
  delivered: number;
  retried: number;
  failed: number;
  waiting: number;
}

export interface StatusCounts {
  queued: number;
  waiting: number;
  delivered: number;
  failed: number;
}

const newUlid = ulidFactory();

interface DeliveryRow {
  seq: number;
  id: string;
  status: DeliveryStatus;
  event_id: string;
  type: string;
  test: number;
  endpoint_id: string;
  endpoint_url: string;
  attempts_used: number;
  next_attempt_at: number;
  last_error: string | null;
  captured_at: number;
  delivered_at: number | null;
  session_id: string | null;
}

const VIEW_COLUMNS = `
  d.seq, d.id, d.status, e.id AS event_id, e.type, e.test, d.endpoint_id, p.url AS endpoint_url, d.attempts_used,
  d.next_attempt_at, d.last_error, e.captured_at, d.delivered_at, e.session_id`;

/** The page query for one combination of filters, written so each can use its index. */
function pageQuery(filter: DeliveryFilter): string {
  const where = ['d.seq < @before'];
  if (filter.status) where.push('d.status = @status');
  if (filter.type) where.push('e.type = @type');
  if (filter.sessionId) where.push('e.session_id = @sessionId');
  const from = filter.sessionId
    ? 'events e CROSS JOIN deliveries d ON d.event_seq = e.seq'
    : 'deliveries d JOIN events e ON e.seq = d.event_seq';
  return `SELECT ${VIEW_COLUMNS} FROM ${from} JOIN endpoints p ON p.id = d.endpoint_id
    WHERE ${where.join(' AND ')} ORDER BY d.seq DESC LIMIT @limit`;
}

const CLAIM_COLUMNS = `
  d.seq, d.id, d.endpoint_id AS endpointId, e.id AS eventId, e.test, d.attempts_used AS attemptsUsed,
  d.queued_at AS queuedAt, e.body`;

/** Due (or set due by a clock that has since jumped back), and not leased by anyone now. */
const CLAIMABLE = `
  (d.next_attempt_at <= @now OR d.next_attempt_at > @now + @maxWait)
  AND (d.lease_owner IS NULL OR d.lease_expires_at <= @now OR d.lease_expires_at > @until)`;

function prepareStatements(db: Database) {
  const prepare = (sql: string) => db.prepare(sql);
  return {
    findDuplicate: prepare(`
      SELECT e.id, (SELECT COUNT(*) FROM deliveries d WHERE d.event_seq = e.seq) AS deliveries
      FROM events e WHERE e.dedupe_key = ? AND e.captured_at > ? ORDER BY e.seq DESC LIMIT 1`),
    insertEvent: prepare(`
      INSERT INTO events (id, type, body, dedupe_key, test, occurred_at, captured_at, session_id)
      VALUES (@id, @type, @body, @dedupeKey, @test, @occurredAt, @now, @sessionId)`),
    subscribed: prepare(`
      SELECT id, unreachable_since FROM endpoints
      WHERE enabled = 1 AND (types IS NULL OR EXISTS (SELECT 1 FROM json_each(endpoints.types) WHERE value = ?))
      ORDER BY created_at, id`),
    oneEndpoint: prepare(`SELECT id, unreachable_since FROM endpoints WHERE id = ?`),
    insertDelivery: prepare(`
      INSERT INTO deliveries (id, event_seq, endpoint_id, status, queued_at, next_attempt_at, updated_at)
      VALUES (@id, @eventSeq, @endpointId, @status, @now, @now, @now)`),
    // Claiming is a SELECT of what is due and an UPDATE of each row by its key, in one
    // IMMEDIATE transaction: measured in the running agent, half the cost of one
    // UPDATE … WHERE seq IN (SELECT …) RETURNING, and the rows come with their bodies.
    // The delivery loop's queries name their index: with statistics (an ANALYZE, a
    // PRAGMA optimize) SQLite would scan the whole table for an outbox with one endpoint.
    dueSome: prepare(`
      SELECT ${CLAIM_COLUMNS} FROM deliveries d INDEXED BY deliveries_by_endpoint JOIN events e ON e.seq = d.event_seq
      WHERE d.endpoint_id = @endpointId AND d.status = 'queued' AND ${CLAIMABLE}
      ORDER BY d.seq LIMIT @limit`),
    dueHead: prepare(`
      SELECT ${CLAIM_COLUMNS} FROM deliveries d JOIN events e ON e.seq = d.event_seq
      WHERE d.seq = (
        SELECT seq FROM deliveries INDEXED BY deliveries_by_endpoint
        WHERE endpoint_id = @endpointId AND status = 'queued' ORDER BY seq LIMIT 1)
        AND ${CLAIMABLE}`),
    lease: prepare(`UPDATE deliveries SET lease_owner = @owner, lease_expires_at = @until, updated_at = @now WHERE seq = @seq`),
    claimById: prepare(`
      UPDATE deliveries SET lease_owner = @owner, lease_expires_at = @until, updated_at = @now
      WHERE id = @id AND status IN ('queued', 'waiting') AND (lease_owner IS NULL OR lease_expires_at <= @now OR lease_expires_at > @until)
      RETURNING seq`),
    claimed: prepare(`SELECT ${CLAIM_COLUMNS} FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE d.seq = ?`),
    insertAttempt: prepare(`
      INSERT INTO attempts (delivery_seq, started_at, duration_ms, outcome, status_code, error, response_head, reason)
      VALUES (@seq, @startedAt, @durationMs, @outcome, @statusCode, @error, @responseHead, @reason)`),
    clockSkew: prepare(`UPDATE endpoints SET clock_skew_ms = @skew WHERE id = @id AND clock_skew_ms IS NOT @skew`),
    settle: prepare(`
      UPDATE deliveries SET status = @status, attempts_used = attempts_used + @used, next_attempt_at = @next,
        last_error = @lastError, delivered_at = @deliveredAt, lease_owner = NULL, lease_expires_at = NULL,
        updated_at = @now
      WHERE seq = @seq AND lease_owner = @owner`),
    holdEndpoint: prepare(`UPDATE endpoints SET unreachable_since = COALESCE(unreachable_since, ?) WHERE id = ?`),
    holdQueued: prepare(`
      UPDATE deliveries SET status = 'waiting', updated_at = @now WHERE endpoint_id = @endpointId AND status = 'queued'`),
    disableEndpoint: prepare(`UPDATE endpoints SET enabled = 0, disabled_reason = ? WHERE id = ?`),
    resumeEndpoint: prepare(`UPDATE endpoints SET unreachable_since = NULL WHERE id = ?`),
    resumeWaiting: prepare(`
      UPDATE deliveries SET status = 'queued', next_attempt_at = MAX(next_attempt_at, @now), updated_at = @now
      WHERE endpoint_id = @endpointId AND status = 'waiting'`),
    release: prepare(`UPDATE deliveries SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?`),
    releaseOne: prepare(`UPDATE deliveries SET lease_owner = NULL, lease_expires_at = NULL WHERE seq = ? AND lease_owner = ?`),
    releaseOrphans: prepare(`
      UPDATE deliveries SET lease_owner = NULL, lease_expires_at = NULL
      WHERE lease_owner LIKE ? AND lease_owner <> ?`),
    expire: prepare(`
      UPDATE deliveries SET status = 'failed', last_error = @reason, updated_at = @now
      WHERE status IN ('queued', 'waiting') AND queued_at <= @cutoff
        AND (lease_owner IS NULL OR lease_expires_at <= @now)
      RETURNING id`),
    nextDue: prepare(`
      SELECT next_attempt_at FROM deliveries INDEXED BY deliveries_due
      WHERE endpoint_id = ? AND status = 'queued' AND lease_owner IS NULL
      ORDER BY next_attempt_at LIMIT 1`),
    headDue: prepare(`
      SELECT next_attempt_at, lease_owner FROM deliveries INDEXED BY deliveries_by_endpoint
      WHERE endpoint_id = ? AND status = 'queued' ORDER BY seq LIMIT 1`),
    syncEach: prepare(`PRAGMA synchronous = FULL`),
    syncLater: prepare(`PRAGMA synchronous = NORMAL`),
    retryOne: prepare(`
      UPDATE deliveries SET
        status = CASE WHEN (SELECT unreachable_since FROM endpoints WHERE id = endpoint_id) IS NULL THEN 'queued' ELSE 'waiting' END,
        attempts_used = 0, queued_at = @now, next_attempt_at = @now, updated_at = @now
      WHERE id = @id AND status = 'failed'`),
    retryAll: prepare(`
      UPDATE deliveries SET
        status = CASE WHEN (SELECT unreachable_since FROM endpoints WHERE id = endpoint_id) IS NULL THEN 'queued' ELSE 'waiting' END,
        attempts_used = 0, queued_at = @now, next_attempt_at = @now, updated_at = @now
      WHERE status = 'failed'`),
    statusOf: prepare(`SELECT status FROM deliveries WHERE id = ?`),
    one: prepare(`
      SELECT ${VIEW_COLUMNS} FROM deliveries d JOIN events e ON e.seq = d.event_seq JOIN endpoints p ON p.id = d.endpoint_id
      WHERE d.id = ?`),
    attemptsOf: prepare(`
      SELECT a.started_at AS startedAt, a.duration_ms AS durationMs, a.outcome, a.status_code AS statusCode,
             a.error, a.response_head AS responseHead, a.reason
      FROM attempts a JOIN deliveries d ON d.seq = a.delivery_seq WHERE d.id = ? ORDER BY a.id`),
    prune: prepare(`
      DELETE FROM events WHERE seq IN (
        SELECT e.seq FROM events e
        WHERE e.captured_at < @cutoff
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status <> 'delivered')
        LIMIT @batch)`),
    pruneDslr: prepare(`DELETE FROM dslr_sessions WHERE ended_at IS NOT NULL AND ended_at < ?`),
    undelivered: prepare(`SELECT COUNT(*) AS n FROM deliveries WHERE endpoint_id = ? AND status <> 'delivered'`),
    counts: prepare(`SELECT status, n FROM delivery_counts`),
    lastDelivered: prepare(`SELECT MAX(delivered_at) AS at FROM deliveries WHERE delivered_at IS NOT NULL`),
    dayStats: prepare(`
      SELECT CAST((e.captured_at - @since) / 3600000 AS INTEGER) AS hour,
        CASE
          WHEN d.status = 'failed' THEN 'failed'
          WHEN d.waited = 1 THEN 'waiting'
          WHEN (SELECT COUNT(*) FROM attempts a WHERE a.delivery_seq = d.seq) > 1 THEN 'retried'
          WHEN d.status = 'delivered' THEN 'delivered'
          ELSE 'retried' END AS outcome,
        COUNT(*) AS n
      FROM events e JOIN deliveries d ON d.event_seq = e.seq
      WHERE e.captured_at >= @since AND e.captured_at < @until AND (d.status <> 'queued' OR d.attempts_used > 0 OR d.waited = 1)
      GROUP BY hour, outcome`),
    eventOf: prepare(`
      SELECT e.body, e.session_id AS sessionId, e.occurred_at AS occurredAt FROM deliveries d
      JOIN events e ON e.seq = d.event_seq WHERE d.id = ?`),
  };
}

export class Outbox {
  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly pages = new Map<string, Statement>();
  /** Runs `work` in one BEGIN IMMEDIATE transaction (a savepoint inside another one). */
  private readonly atomically: <T>(work: () => T) => T;

  constructor(private readonly db: Database) {
    this.s = prepareStatements(db);
    // One wrapper for every transaction: db.transaction() builds a new one on each call,
    // which costs more than the short transactions of the delivery loop themselves.
    const transaction = db.transaction((work: () => unknown) => work());
    this.atomically = <T>(work: () => T) => transaction.immediate(work) as T;
  }

  /**
   * Stores one validated event and its deliveries in a single transaction; the capture may
   * be acknowledged once this returns. A repeat of a recent dedupe key creates nothing.
   */
  capture(event: NewEvent, now: number, dedupeWindowMs: number): Captured {
    return this.atomically((): Captured => {
      if (event.dedupeKey !== null) {
        const existing = this.s.findDuplicate.get(event.dedupeKey, now - dedupeWindowMs) as
          | { id: string; deliveries: number }
          | undefined;
        if (existing) return { ...existing, duplicate: true, deliveryIds: [] };
      }
      const id = `evt_${newUlid(now)}`;
      const { lastInsertRowid } = this.s.insertEvent.run({
        id,
        type: event.type,
        body: event.body,
        dedupeKey: event.dedupeKey,
        test: event.test ? 1 : 0,
        occurredAt: event.occurredAt,
        sessionId: event.sessionId,
        now,
      });
      const targets = (
        event.onlyEndpoint === undefined
          ? this.s.subscribed.all(event.type)
          : this.s.oneEndpoint.all(event.onlyEndpoint)
      ) as { id: string; unreachable_since: number | null }[];
      const deliveryIds = targets.map(() => `msg_${newUlid(now)}`);
      targets.forEach((endpoint, i) => {
        this.s.insertDelivery.run({
          id: deliveryIds[i],
          eventSeq: lastInsertRowid,
          endpointId: endpoint.id,
          status: endpoint.unreachable_since === null ? 'queued' : 'waiting',
          now,
        });
      });
      return { id, deliveries: targets.length, duplicate: false, deliveryIds };
    });
  }

  /**
   * Leases up to `limit` due deliveries of one endpoint, oldest first. With `strictOrder`
   * only the endpoint's oldest queued delivery can be taken, and only when it is due.
   * The lease is not synced to disk on its own (see `unsynced`): a lease lost to a power
   * cut only means the delivery is free to be claimed again, which it is anyway by then.
   *
   * The clock can jump back (a kiosk syncing its time after days offline). A wait that now
   * lies further ahead than any wait the schedule makes (`maxWaitMs`), or a lease further
   * ahead than a lease lasts, was set by the clock before the jump and counts as over,
   * rather than holding a delivery for hours.
   */
  claim(
    endpointId: string,
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
    strictOrder: boolean,
    maxWaitMs = Number.MAX_SAFE_INTEGER / 2,
  ): Claim[] {
    if (limit <= 0) return [];
    return this.unsynced(() =>
      this.atomically((): Claim[] => {
        const params = { endpointId, owner, now, until: now + leaseMs, limit, maxWait: maxWaitMs };
        const rows = (strictOrder ? this.s.dueHead : this.s.dueSome).all(params) as ClaimRow[];
        for (const row of rows) this.s.lease.run({ owner, until: params.until, now, seq: row.seq });
        return rows.map(toClaim);
      }),
    );
  }

  /** Leases one delivery by id, even while its endpoint is held (Send Test tries at once). */
  claimById(deliveryId: string, owner: string, now: number, leaseMs: number): Claim | null {
    const row = this.s.claimById.get({ id: deliveryId, owner, now, until: now + leaseMs }) as { seq: number } | undefined;
    return row ? this.claimed(row.seq) : null;
  }

  private claimed(seq: number): Claim {
    return toClaim(this.s.claimed.get(seq) as ClaimRow);
  }

  /**
   * Records an attempt and applies the policy's decision, releasing the lease.
   *
   * This commit is not synced to disk on its own (see `unsynced`): if the power goes
   * before the next synced commit, the attempt is made again after the restart, with the
   * same webhook-id, which the contract allows. A capture is never acknowledged without
   * its own sync.
   */
  settle(claim: Claim, owner: string, attempt: AttemptRecord, decision: Decision, now: number, clockSkewMs: number | null = null): void {
    this.unsynced(() => this.settleNow(claim, owner, attempt, decision, now, clockSkewMs));
  }

  /**
   * Runs one transaction whose commit is not synced to disk on its own: in WAL mode with
   * synchronous=NORMAL it is durable against a crash of the process, and the next FULL
   * commit (every capture) syncs it along. For the delivery loop's bookkeeping, where a
   * lost commit only means an attempt is made again with the same webhook-id.
   */
  private unsynced<T>(transaction: () => T): T {
    if (this.db.inTransaction) return transaction();
    this.s.syncLater.run();
    try {
      return transaction();
    } finally {
      this.s.syncEach.run();
    }
  }

  private settleNow(claim: Claim, owner: string, attempt: AttemptRecord, decision: Decision, now: number, clockSkewMs: number | null): void {
    this.atomically(() => {
      this.s.insertAttempt.run({ seq: claim.seq, ...attempt, reason: decision.reason });
      if (clockSkewMs !== null) this.s.clockSkew.run({ skew: clockSkewMs, id: claim.endpointId });
      this.s.settle.run({
        seq: claim.seq,
        owner,
        status: decision.status,
        used: 'usesAttempt' in decision && decision.usesAttempt ? 1 : 0,
        next: decision.status === 'queued' ? decision.nextAttemptAt : now,
        lastError: decision.status === 'delivered' ? null : decision.reason,
        deliveredAt: decision.status === 'delivered' ? now : null,
        now,
      });
      if (decision.status === 'waiting') this.holdEndpoint(claim.endpointId, now);
      if (decision.status === 'failed' && decision.disableEndpoint) {
        this.s.disableEndpoint.run(decision.reason, claim.endpointId);
      }
    });
  }

  /** Whether a transaction is open (SQLite rolls some failures back entirely, a full disk among them). */
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /**
   * Runs the delivery loop's writes of one turn (attempts recorded, deliveries claimed) as
   * one unsynced commit (see `unsynced`).
   */
  inOneCommit<T>(work: () => T): T {
    return this.unsynced(() => this.atomically(work));
  }

  /** The endpoint cannot be reached: all its queued deliveries wait with it, in order. */
  private holdEndpoint(endpointId: string, now: number): void {
    this.s.holdEndpoint.run(now, endpointId);
    this.s.holdQueued.run({ endpointId, now });
  }

  /** The endpoint can be reached again: its waiting deliveries go back in the queue. */
  resumeEndpoint(endpointId: string, now: number): number {
    return this.atomically(() => {
      this.s.resumeEndpoint.run(endpointId);
      return this.s.resumeWaiting.run({ endpointId, now }).changes;
    });
  }

  /** Gives back claims that were not sent after all (the endpoint was held, delivery paused). */
  release(owner: string, seqs: readonly number[]): void {
    for (const seq of seqs) this.s.releaseOne.run(seq, owner);
  }

  releaseLeases(owner: string): void {
    this.s.release.run(owner);
  }

  /**
   * Leases held by an earlier `run` of this data folder belong to a process that is gone
   * (only one `run` holds the folder at a time), so they are released at start.
   */
  releaseOrphanedLeases(ownerPrefix: string, currentOwner: string): number {
    return this.s.releaseOrphans.run(`${ownerPrefix}%`, currentOwner).changes;
  }

  /** Fails deliveries queued longer than the expiry; returns their ids. */
  expireOverdue(now: number, expireAfterMs: number, reason: string): string[] {
    const rows = this.s.expire.all({ now, cutoff: now - expireAfterMs, reason }) as { id: string }[];
    return rows.map((row) => row.id);
  }

  /**
   * When the endpoint's next delivery that is not in flight becomes due, or null. With
   * `strictOrder` only its oldest queued delivery counts, as only that one can be claimed.
   */
  nextDueAt(endpointId: string, strictOrder: boolean): number | null {
    if (strictOrder) {
      const head = this.s.headDue.get(endpointId) as { next_attempt_at: number; lease_owner: string | null } | undefined;
      return head && head.lease_owner === null ? head.next_attempt_at : null;
    }
    return (this.s.nextDue.pluck().get(endpointId) as number | undefined) ?? null;
  }

  /** Manual retry: a failed delivery goes back in the queue with a fresh set of attempts. */
  retry(deliveryId: string, now: number): { ok: true } | { ok: false; reason: string } {
    const row = this.s.statusOf.get(deliveryId) as { status: DeliveryStatus } | undefined;
    if (!row) return { ok: false, reason: `there is no delivery ${deliveryId}` };
    if (row.status !== 'failed') {
      return { ok: false, reason: `delivery ${deliveryId} is ${row.status}; only failed deliveries can be retried` };
    }
    this.s.retryOne.run({ id: deliveryId, now });
    return { ok: true };
  }

  retryAllFailed(now: number): number {
    return this.s.retryAll.run({ now }).changes;
  }

  /**
   * One page of deliveries, newest first. Keyset pagination: `before` is the `cursor` of
   * the last row of the previous page, so page 1,000 costs what page 1 costs.
   */
  list(filter: DeliveryFilter): DeliveryView[] {
    const key = `${filter.status ? 's' : ''}${filter.type ? 't' : ''}${filter.sessionId ? 'q' : ''}`;
    let statement = this.pages.get(key);
    if (!statement) {
      statement = this.db.prepare(pageQuery(filter));
      this.pages.set(key, statement);
    }
    const rows = statement.all({
      status: filter.status ?? null,
      type: filter.type ?? null,
      sessionId: filter.sessionId ?? null,
      before: filter.before ?? Number.MAX_SAFE_INTEGER,
      limit: filter.limit,
    }) as DeliveryRow[];
    return rows.map(toView);
  }

  /** The captured body and what it is about, for the delivery's detail view. */
  eventOf(deliveryId: string): { body: Buffer; sessionId: string | null; occurredAt: string } | null {
    return (this.s.eventOf.get(deliveryId) as { body: Buffer; sessionId: string | null; occurredAt: string } | undefined) ?? null;
  }

  /**
   * Deliveries of the events captured in each of the `hours` hours up to `until`, by how
   * they went: failed; waited for the network (an outage's hours); delivered after a retry
   * (or retrying now); delivered at the first attempt. Deliveries not tried yet are left out.
   */
  dayStats(until: number, hours = 24): HourStats[] {
    const since = until - hours * 3_600_000;
    const buckets: HourStats[] = Array.from({ length: hours }, (_, i) => ({
      from: since + i * 3_600_000,
      delivered: 0,
      retried: 0,
      failed: 0,
      waiting: 0,
    }));
    const rows = this.s.dayStats.all({ since, until }) as { hour: number; outcome: keyof Omit<HourStats, 'from'>; n: number }[];
    for (const row of rows) {
      const bucket = buckets[row.hour];
      if (bucket) bucket[row.outcome] += row.n;
    }
    return buckets;
  }

  get(deliveryId: string): (DeliveryView & { attempts: AttemptView[] }) | null {
    const row = this.s.one.get(deliveryId) as DeliveryRow | undefined;
    if (!row) return null;
    return { ...toView(row), attempts: this.s.attemptsOf.all(deliveryId) as AttemptView[] };
  }

  attempts(deliveryId: string): AttemptView[] {
    return this.s.attemptsOf.all(deliveryId) as AttemptView[];
  }

  counts(): StatusCounts {
    const counts: StatusCounts = { queued: 0, waiting: 0, delivered: 0, failed: 0 };
    for (const row of this.s.counts.all() as { status: DeliveryStatus; n: number }[]) counts[row.status] = row.n;
    return counts;
  }

  /**
   * Removes events older than `cutoff` whose every delivery was delivered, with their
   * deliveries and attempts, in small transactions so capture never waits long. Events with
   * a failed, queued or waiting delivery are kept: they still need someone.
   */
  pruneDelivered(cutoff: number, batch = 500): number {
    let removed = 0;
    for (;;) {
      const { changes } = this.s.prune.run({ cutoff, batch });
      removed += changes;
      if (changes < batch) break;
    }
    this.s.pruneDslr.run(cutoff);
    return removed;
  }

  undeliveredCount(endpointId: string): number {
    return (this.s.undelivered.get(endpointId) as { n: number }).n;
  }

  lastDeliveredAt(): number | null {
    return (this.s.lastDelivered.get() as { at: number | null }).at;
  }
}

type ClaimRow = Omit<Claim, 'test'> & { test: number };

function toClaim(row: ClaimRow): Claim {
  return { ...row, test: row.test === 1 };
}

function toView(row: DeliveryRow): DeliveryView {
  return {
    cursor: row.seq,
    id: row.id,
    status: row.status,
    eventId: row.event_id,
    type: row.type,
    test: row.test === 1,
    endpointId: row.endpoint_id,
    endpointUrl: row.endpoint_url,
    attemptsUsed: row.attempts_used,
    nextAttemptAt: row.status === 'queued' ? row.next_attempt_at : null,
    lastError: row.last_error,
    capturedAt: row.captured_at,
    deliveredAt: row.delivered_at,
    sessionId: row.session_id,
  };
}
