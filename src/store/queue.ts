// The delivery queue: what the sender needs of the outbox. Events go in with one delivery
// per subscribed endpoint, deliveries are claimed, settled with their attempt, released,
// expired, held while their endpoint cannot be reached and resumed when it can, and put
// back by the operator's retry. Every state change of a delivery is one transaction here.
//
// Deliveries are claimed with a lease (owner + expiry) rather than an "in flight" flag:
// a sender that crashes leaves a lease that simply runs out, and two senders can never
// hold the same delivery at once because a claim reads and leases in one IMMEDIATE
// transaction, which holds SQLite's write lock from its first statement.
import type { Database } from 'better-sqlite3';
import type { GuestPageKeys } from '../core/media.js';
import type { TakenFile } from '../media/intake.js';
import { ALL_AGENT_EVENTS, isAgentEventType, type EventType, type TypeFilter } from '../core/event-types.js';
import { ulidFactory } from '../core/ids.js';
import type { Decision, DeliveryStatus } from '../core/policy.js';
import { RATE_WINDOW_MS } from '../core/rate-window.js';
import type { AttemptSummary, ReplayResult } from '../core/read-model.js';
import { CHUNK_SEQS, inChunks } from './chunks.js';
import { selectionSql, type EventSelection } from './event-selection.js';

export interface NewEvent {
  /** A booth payload, or one of the agent's own events (an alert). */
  type: EventType;
  body: Buffer;
  /** The payload's session.id, for the operator's search; an alert has none. */
  sessionId: string | null;
  dedupeKey: string | null;
  occurredAt: string;
  /** A Send Test event: delivered to `onlyEndpoint` alone. */
  test?: boolean;
  onlyEndpoint?: string;
  /** A session's file the agent took in: recorded with the event, whose deliveries wait for its upload. */
  media?: NewMedia;
}

/** A file taken in for a session event (media/intake.ts), with where it is to go. */
export interface NewMedia extends TakenFile {
  key: string;
  url: string;
  /** Sent earlier with PUT /v1/sessions/{id}/media/{name}: its row exists, and the event names it. */
  received: boolean;
  /** The guest's page uploaded after the file, with its link; null: none is made. */
  page: (GuestPageKeys & { siteUrl: string }) | null;
  /** A video's poster, taken in like the file (sent with PUT, or copied from a path). */
  poster: { file: TakenFile; received: boolean } | null;
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
  /** Automatic retries made of it since it was queued. */
  recoveries: number;
  body: Buffer;
  /** When its lease runs out: after that another claim may take it. */
  leaseExpiresAt: number;
}

/** A failed delivery put back by its automatic retry, which is its `recoveries`-th. */
export interface Recovered {
  id: string;
  status: 'queued' | 'waiting';
  recoveries: number;
}

/** An attempt as recorded; its reason comes from the policy's decision. */
export interface AttemptRecord extends Omit<AttemptSummary, 'reason'> {
  responseHead: Buffer | null;
}

/**
 * One attempt could not be recorded, and only it: its savepoint was rolled back while the
 * transaction around it stands (its delivery was removed with its endpoint meanwhile, say).
 * A failure that undoes the whole transaction (a full disk) is thrown as it is.
 */
export class AttemptNotRecordedError extends Error {
  constructor(
    readonly deliveryId: string,
    cause: unknown,
  ) {
    super(`the attempt of ${deliveryId} could not be recorded: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'AttemptNotRecordedError';
  }
}

/** An attempt as an endpoint's rate counts it. */
export interface RecordedStart {
  /** The delivery's seq. */
  delivery: number;
  startedAt: number;
}

const newUlid = ulidFactory();
/** How long after its end an attempt may still be recorded, with room to spare. */
const RECORD_MARGIN_MS = 60_000;

const CLAIM_COLUMNS = `
  d.seq, d.id, d.endpoint_id AS endpointId, e.id AS eventId, e.test, d.attempts_used AS attemptsUsed,
  d.queued_at AS queuedAt, d.recoveries, e.body`;

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
      INSERT INTO events (id, type, body, dedupe_key, test, alert, occurred_at, captured_at, session_id)
      VALUES (@id, @type, @body, @dedupeKey, @test, @alert, @occurredAt, @now, @sessionId)`),
    // As core/event-types.ts `subscribes`: no types means every booth payload and no alert.
    subscribed: prepare(`
      SELECT id, unreachable_since FROM endpoints
      WHERE enabled = 1 AND (
        (types IS NULL AND NOT @alert)
        OR EXISTS (SELECT 1 FROM json_each(endpoints.types) WHERE value = @type OR (@alert AND value = '${ALL_AGENT_EVENTS}')))
      ORDER BY created_at, id`),
    oneEndpoint: prepare(`SELECT id, unreachable_since FROM endpoints WHERE id = ?`),
    insertDelivery: prepare(`
      INSERT INTO deliveries (id, event_seq, endpoint_id, status, queued_at, next_attempt_at, updated_at, media_id)
      VALUES (@id, @eventSeq, @endpointId, @status, @now, @now, @now, @mediaId)`),
    insertMedia: prepare(`
      INSERT INTO media (id, session_id, event_id, name, local_path, size, sha256, content_type, key, url, status, next_attempt_at,
        created_at, page_key, site_url, preview_key, poster_path, gallery_key)
      VALUES (@id, @sessionId, @eventId, @name, @localPath, @size, @sha256, @contentType, @key, @url, 'waiting', @now, @now,
        @pageKey, @siteUrl, @previewKey, @posterPath, @galleryKey)`),
    nameReceived: prepare(`
      UPDATE media SET event_id = @eventId, key = @key, url = @url, next_attempt_at = @now, page_key = @pageKey, site_url = @siteUrl,
        preview_key = @previewKey, poster_path = @posterPath, gallery_key = @galleryKey
      WHERE id = @id AND event_id IS NULL`),
    // A poster copied from a path is kept as a file received for its session (a row no event
    // names), so the keep days and an erase remove its copy as they remove any other.
    insertPoster: prepare(`
      INSERT INTO media (id, session_id, name, local_path, size, sha256, content_type, status, next_attempt_at, created_at)
      VALUES (@id, @sessionId, @name, @localPath, @size, @sha256, @contentType, 'waiting', @now, @now)`),
    // A share of a session whose file is not uploaded yet waits for it, as the session does.
    pendingMedia: prepare(`
      SELECT id FROM media INDEXED BY media_by_session
      WHERE session_id = ? AND event_id IS NOT NULL AND status <> 'uploaded' AND erased_at IS NULL
      ORDER BY seq DESC LIMIT 1`).pluck(),
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
    insertStart: prepare(`INSERT OR IGNORE INTO attempt_starts (delivery_seq, started_at) VALUES (?, ?)`),
    // The starts of attempts cut short (a crash, a shutdown's grace run out) once their minute is over.
    pruneStarts: prepare(`DELETE FROM attempt_starts WHERE started_at <= ?`),
    dropStart: prepare(`DELETE FROM attempt_starts WHERE delivery_seq = ? AND started_at = ?`),
    clockSkew: prepare(`UPDATE endpoints SET clock_skew_ms = @skew WHERE id = @id AND clock_skew_ms IS NOT @skew`),
    // A retry decided while the endpoint was held meanwhile (another attempt found it
    // unreachable) waits with the endpoint, as the rest of its queue does.
    settle: prepare(`
      UPDATE deliveries SET
        status = CASE WHEN @status = 'queued' AND (SELECT unreachable_since FROM endpoints WHERE id = endpoint_id) IS NOT NULL
          THEN 'waiting' ELSE @status END,
        attempts_used = attempts_used + @used, next_attempt_at = @next,
        last_error = @lastError, delivered_at = @deliveredAt, recover_at = @recoverAt, lease_owner = NULL, lease_expires_at = NULL,
        failed_at = CASE @status WHEN 'failed' THEN COALESCE(failed_at, @now) WHEN 'delivered' THEN NULL ELSE failed_at END,
        updated_at = @now
      WHERE seq = @seq AND lease_owner = @owner`),
    holdEndpoint: prepare(`UPDATE endpoints SET unreachable_since = COALESCE(unreachable_since, ?) WHERE id = ?`),
    holdQueued: prepare(`
      UPDATE deliveries SET status = 'waiting', updated_at = @now WHERE endpoint_id = @endpointId AND status = 'queued'`),
    disableEndpoint: prepare(`UPDATE endpoints SET enabled = 0, disabled_reason = ?, disabled_at = ? WHERE id = ?`),
    resumeEndpoint: prepare(`UPDATE endpoints SET unreachable_since = NULL WHERE id = ?`),
    resumeWaiting: prepare(`
      UPDATE deliveries SET status = 'queued', next_attempt_at = MAX(next_attempt_at, @now), updated_at = @now
      WHERE endpoint_id = @endpointId AND status = 'waiting' AND media_id IS NULL`),
    release: prepare(`
      UPDATE deliveries INDEXED BY deliveries_leased SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?`),
    releaseOne: prepare(`UPDATE deliveries SET lease_owner = NULL, lease_expires_at = NULL WHERE seq = ? AND lease_owner = ?`),
    releaseOrphans: prepare(`
      UPDATE deliveries INDEXED BY deliveries_leased SET lease_owner = NULL, lease_expires_at = NULL
      WHERE lease_owner LIKE ? AND lease_owner <> ?`),
    expire: prepare(`
      UPDATE deliveries SET status = 'failed', last_error = @reason, recover_at = NULL, failed_at = COALESCE(failed_at, @now),
        updated_at = @now
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
    // A failed delivery due for its automatic retry goes back in the queue for one attempt
    // (attempts_used at the contract's limit, so that a failed attempt fails at once and
    // takes the next step), or waits with its endpoint while that cannot be reached. Its
    // queued_at stays: the expiry counts from when it was first queued. The delivery loop
    // looks for these only when the earliest recover_at comes, through their own index.
    recoverDue: prepare(`
      UPDATE deliveries INDEXED BY deliveries_recover SET
        status = CASE WHEN (SELECT unreachable_since FROM endpoints WHERE id = endpoint_id) IS NULL THEN 'queued' ELSE 'waiting' END,
        attempts_used = @maxRetries, next_attempt_at = @now, recoveries = recoveries + 1, recover_at = NULL, updated_at = @now
      WHERE (recover_at <= @now OR recover_at > @now + @maxWait) AND status = 'failed'
        AND (SELECT auto_recover FROM endpoints WHERE id = endpoint_id) <> 'off'
      RETURNING id, status, recoveries`),
    // The operator turned automatic retries off for the endpoint since these failed.
    recoverOff: prepare(`
      UPDATE deliveries INDEXED BY deliveries_recover SET recover_at = NULL
      WHERE (recover_at <= @now OR recover_at > @now + @maxWait)
        AND (SELECT auto_recover FROM endpoints WHERE id = endpoint_id) = 'off'`),
    nextRecover: prepare(`
      SELECT recover_at FROM deliveries INDEXED BY deliveries_recover WHERE recover_at IS NOT NULL ORDER BY recover_at LIMIT 1`).pluck(),
    syncEach: prepare(`PRAGMA synchronous = FULL`),
    syncLater: prepare(`PRAGMA synchronous = NORMAL`),
    retryOne: prepare(`
      UPDATE deliveries SET
        status = CASE WHEN (SELECT unreachable_since FROM endpoints WHERE id = endpoint_id) IS NULL THEN 'queued' ELSE 'waiting' END,
        attempts_used = 0, queued_at = @now, next_attempt_at = @now, recoveries = 0, recover_at = NULL, failed_at = NULL,
        updated_at = @now
      WHERE id = @id AND status = 'failed'`),
    retryAll: prepare(`
      UPDATE deliveries SET
        status = CASE WHEN (SELECT unreachable_since FROM endpoints WHERE id = endpoint_id) IS NULL THEN 'queued' ELSE 'waiting' END,
        attempts_used = 0, queued_at = @now, next_attempt_at = @now, recoveries = 0, recover_at = NULL, failed_at = NULL,
        updated_at = @now
      WHERE status = 'failed'`),
    statusOf: prepare(`SELECT status FROM deliveries WHERE id = ?`),
    lastAttempt: prepare(`SELECT COALESCE(MAX(id), 0) FROM attempts`),
    // Walks back from the newest attempt to the first that ended before the cutoff.
    lastAttemptEndedBefore: prepare(`
      SELECT COALESCE((SELECT id FROM attempts WHERE started_at + duration_ms < ? ORDER BY id DESC LIMIT 1), 0)`),
    // CROSS JOIN keeps attempts the outer loop, read by id: the other way round would walk
    // every delivery the endpoint ever had.
    attemptStarts: prepare(`
      SELECT a.delivery_seq AS delivery, a.started_at AS startedAt
      FROM attempts a CROSS JOIN deliveries d ON d.seq = a.delivery_seq
      WHERE a.id > @after AND a.id <= @last AND d.endpoint_id = @endpointId AND a.started_at > @since
      ORDER BY a.id`),
    unrecordedStarts: prepare(`
      SELECT s.delivery_seq AS delivery, s.started_at AS startedAt
      FROM attempt_starts s CROSS JOIN deliveries d ON d.seq = s.delivery_seq
      WHERE d.endpoint_id = @endpointId AND s.started_at > @since`),
  };
}

export class DeliveryQueue {
  private readonly s: ReturnType<typeof prepareStatements>;
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
    return this.atomically(() => this.captureBare(event, now, dedupeWindowMs));
  }

  /**
   * capture() inside a transaction the caller holds, without a savepoint of its own: if it
   * throws, part of the event may be written, and the caller must roll the whole
   * transaction back (the JSON API's group commit does, store/group-commit.ts).
   */
  captureBare(event: NewEvent, now: number, dedupeWindowMs: number): Captured {
    if (!this.db.inTransaction) throw new Error('captureBare runs inside a transaction the caller rolls back on failure');
    if (event.dedupeKey !== null) {
      const existing = this.s.findDuplicate.get(event.dedupeKey, now - dedupeWindowMs) as { id: string; deliveries: number } | undefined;
      if (existing) return { ...existing, duplicate: true, deliveryIds: [] };
    }
    const id = `evt_${newUlid(now)}`;
    const { lastInsertRowid } = this.s.insertEvent.run({
      id,
      type: event.type,
      body: event.body,
      dedupeKey: event.dedupeKey,
      test: event.test ? 1 : 0,
      alert: isAgentEventType(event.type) ? 1 : 0,
      occurredAt: event.occurredAt,
      sessionId: event.sessionId,
      now,
    });
    const waitFor = this.recordMedia(event, id, now);
    const targets = (
      event.onlyEndpoint === undefined
        ? this.s.subscribed.all({ type: event.type, alert: isAgentEventType(event.type) ? 1 : 0 })
        : this.s.oneEndpoint.all(event.onlyEndpoint)
    ) as { id: string; unreachable_since: number | null }[];
    const deliveryIds = targets.map(() => `msg_${newUlid(now)}`);
    targets.forEach((endpoint, i) => {
      this.s.insertDelivery.run({
        id: deliveryIds[i],
        eventSeq: lastInsertRowid,
        endpointId: endpoint.id,
        status: endpoint.unreachable_since === null && waitFor === null ? 'queued' : 'waiting',
        now,
        mediaId: waitFor,
      });
    });
    return { id, deliveries: targets.length, duplicate: false, deliveryIds };
  }

  /**
   * Records the session's file with its event, and says which file the event's deliveries wait
   * for: the event's own, or for a share, its session's file while that is not uploaded yet.
   */
  private recordMedia(event: NewEvent, eventId: string, now: number): string | null {
    const media = event.media;
    if (media === undefined) {
      return event.type === 'share' && event.sessionId !== null
        ? ((this.s.pendingMedia.get(event.sessionId) as string | undefined) ?? null)
        : null;
    }
    const { received, page, poster, ...file } = media;
    const guestPage = {
      pageKey: page?.pageKey ?? null,
      siteUrl: page?.siteUrl ?? null,
      previewKey: page?.previewKey ?? null,
      galleryKey: page?.galleryKey ?? null,
      posterPath: poster?.file.localPath ?? null,
    };
    if (poster !== null && !poster.received) this.s.insertPoster.run({ ...poster.file, sessionId: event.sessionId, now });
    if (received) {
      if (this.s.nameReceived.run({ id: media.id, eventId, key: media.key, url: media.url, now, ...guestPage }).changes !== 1) {
        throw new Error(`the file ${media.id} was named by another event meanwhile`);
      }
    } else {
      this.s.insertMedia.run({ ...file, ...guestPage, sessionId: event.sessionId, eventId, now });
    }
    return media.id;
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
        return rows.map((row) => toClaim(row, params.until));
      }),
    );
  }

  /** The event captured under `dedupeKey` within the window, if any: a repeat needs no copy of its file. */
  duplicateOf(dedupeKey: string, now: number, dedupeWindowMs: number): Omit<Captured, 'duplicate' | 'deliveryIds'> | null {
    return (this.s.findDuplicate.get(dedupeKey, now - dedupeWindowMs) as { id: string; deliveries: number } | undefined) ?? null;
  }

  /** Leases one delivery by id, even while its endpoint is held (Send Test tries at once). */
  claimById(deliveryId: string, owner: string, now: number, leaseMs: number): Claim | null {
    const until = now + leaseMs;
    const row = this.s.claimById.get({ id: deliveryId, owner, now, until }) as { seq: number } | undefined;
    return row ? toClaim(this.s.claimed.get(row.seq) as ClaimRow, until) : null;
  }

  /**
   * Records that an attempt of the delivery `seq` to an endpoint with a rate starts at
   * `startedAt`, in a commit of its own synced to the disk, before its request goes out:
   * the attempt itself is recorded only once it has ended, without a sync of its own, and
   * the rate must count it after a crash or a power cut all the same. The starts of attempts
   * cut short are forgotten here once their minute is over.
   */
  recordStart(seq: number, startedAt: number): void {
    if (this.db.inTransaction) throw new Error('an attempt start is committed, and synced, on its own');
    this.atomically(() => {
      this.s.pruneStarts.run(startedAt - RATE_WINDOW_MS);
      this.s.insertStart.run(seq, startedAt);
    });
  }

  /**
   * Records an attempt and applies the policy's decision, releasing the lease.
   *
   * This commit is not synced to disk on its own (see `unsynced`): if the power goes
   * before the next synced commit, the attempt is made again after the restart, with the
   * same webhook-id, which the contract allows. A capture is never acknowledged without
   * its own sync.
   *
   * Inside a larger transaction (a turn of the delivery loop), a settle that fails on its
   * own is rolled back alone and raises AttemptNotRecordedError; the turn goes on.
   */
  settle(claim: Claim, owner: string, attempt: AttemptRecord, decision: Decision, now: number, clockSkewMs: number | null = null): void {
    const nested = this.db.inTransaction;
    try {
      this.unsynced(() => this.settleNow(claim, owner, attempt, decision, now, clockSkewMs));
    } catch (error) {
      if (nested && this.db.inTransaction) throw new AttemptNotRecordedError(claim.id, error);
      throw error;
    }
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

  private settleNow(
    claim: Claim,
    owner: string,
    attempt: AttemptRecord,
    decision: Decision,
    now: number,
    clockSkewMs: number | null,
  ): void {
    this.atomically(() => {
      this.s.insertAttempt.run({ seq: claim.seq, ...attempt, reason: decision.reason });
      this.s.dropStart.run(claim.seq, attempt.startedAt);
      if (clockSkewMs !== null) this.s.clockSkew.run({ skew: clockSkewMs, id: claim.endpointId });
      this.s.settle.run({
        seq: claim.seq,
        owner,
        status: decision.status,
        used: 'usesAttempt' in decision && decision.usesAttempt ? 1 : 0,
        next: decision.status === 'queued' ? decision.nextAttemptAt : now,
        lastError: decision.status === 'delivered' ? null : decision.reason,
        deliveredAt: decision.status === 'delivered' ? now : null,
        recoverAt: decision.status === 'failed' ? decision.recoverAt : null,
        now,
      });
      if (decision.status === 'waiting') this.holdEndpoint(claim.endpointId, now);
      if (decision.status === 'failed' && decision.disableEndpoint) {
        this.s.disableEndpoint.run(decision.reason, now, claim.endpointId);
      }
    });
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
   * Automatic recovery (docs/webhooks.md, "Automatic recovery"): the failed deliveries whose
   * next automatic retry has come go back in the queue, for one attempt each. A time further
   * ahead than the longest wait of the schedule (`maxWaitMs`) was set by a clock that has
   * since jumped back, and counts as come (as does one planned by a longer schedule that the
   * operator has since shortened). Returns what was recovered, to what status.
   */
  recoverDue(now: number, maxRetries: number, maxWaitMs: number): Recovered[] {
    return this.atomically(() => {
      const params = { now, maxRetries, maxWait: maxWaitMs };
      this.s.recoverOff.run(params);
      return this.s.recoverDue.all(params) as Recovered[];
    });
  }

  /** The earliest automatic retry of any failed delivery, or null. */
  nextRecoverAt(): number | null {
    return (this.s.nextRecover.get() as number | undefined) ?? null;
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

  /**
   * The start times of one endpoint's recorded attempts of the last minute, for its rate
   * (core/rate-window.ts), and the newest attempt's id, to read on from: the attempts
   * recorded after attempt `afterId`, or with `afterId` null, all of them, and the starts of
   * those not recorded (in flight, or cut short by a crash; see `recordStart`).
   *
   * Reading all of them needs no index of its own. An attempt is recorded once it has
   * ended (the delivery loop records at its next turn, within a second), so attempts
   * follow each other in the table by when they ended, give or take that second. Walking
   * back from the newest, the first attempt found that ended well before the minute
   * (RECORD_MARGIN_MS before it) was recorded before the minute began, and so was every
   * attempt before it in the table. The cost is the attempts of about the last two
   * minutes, of every endpoint, whatever the size of the outbox; a clock set back makes
   * the walk longer, once.
   */
  attemptStarts(endpointId: string, afterId: number | null, now: number): { lastId: number; starts: RecordedStart[] } {
    const last = this.s.lastAttempt.pluck().get() as number;
    const after = afterId ?? (this.s.lastAttemptEndedBefore.pluck().get(now - RATE_WINDOW_MS - RECORD_MARGIN_MS) as number);
    const since = now - RATE_WINDOW_MS;
    const starts = this.s.attemptStarts.all({ after, last, endpointId, since }) as RecordedStart[];
    if (afterId === null) starts.push(...(this.s.unrecordedStarts.all({ endpointId, since }) as RecordedStart[]));
    return { lastId: last, starts };
  }

  /**
   * Manual retry: a failed delivery goes back in the queue with a fresh set of attempts.
   * Anything else is left as it is, and its status (null: no such delivery) returned.
   */
  retry(deliveryId: string, now: number): { ok: true } | { ok: false; status: DeliveryStatus | null } {
    const row = this.s.statusOf.get(deliveryId) as { status: DeliveryStatus } | undefined;
    if (row?.status !== 'failed') return { ok: false, status: row?.status ?? null };
    this.s.retryOne.run({ id: deliveryId, now });
    return { ok: true };
  }

  retryAllFailed(now: number): number {
    return this.s.retryAll.run({ now }).changes;
  }

  /**
   * The operator's replay: every selected event of a type the endpoint subscribes to that
   * it never had gets a new delivery (a new webhook-id), in capture order; with `again`,
   * those already delivered to it go back in the queue with a fresh set of attempts and
   * their own webhook-ids, so the receiver can drop what it has seen. Deliveries queued,
   * waiting or failed are left as they are, and every event is counted.
   *
   * The selection is the events captured when the replay starts (those captured after get
   * their deliveries as they are captured). It runs in chunks of their `seq` (chunks.ts),
   * each one transaction that counts and queues its events, so an interrupted replay
   * leaves whole chunks done and the rest untouched: run again, it queues the rest. A new
   * delivery is queued or waiting as the endpoint is when its chunk runs. Null: the
   * endpoint was removed meanwhile, and its deliveries with it.
   */
  async replay(
    endpointId: string,
    selection: EventSelection,
    subscribed: readonly TypeFilter[] | null,
    again: boolean,
    now: number,
  ): Promise<Omit<ReplayResult, 'endpointId'> | null> {
    const result = {
      queued: 0,
      resent: 0,
      waiting: false,
      skipped: { delivered: 0, onItsWay: 0, failed: 0, notSubscribed: 0 },
    };
    const sql = selectionSql(this.db, selection);
    if (!sql) {
      const endpoint = this.s.oneEndpoint.get(endpointId) as { unreachable_since: number | null } | undefined;
      return endpoint ? { ...result, waiting: endpoint.unreachable_since !== null } : null;
    }
    const takes = '(@subscribed IS NULL OR e.type IN (SELECT value FROM json_each(@subscribed)))';
    const chunk = `${sql.where} AND e.seq BETWEEN @from AND @to`;
    const tally = this.db.prepare(
      `SELECT CASE WHEN ${takes} THEN COALESCE(d.status, 'none') ELSE 'not-subscribed' END AS kind, COUNT(*) AS n
       FROM events e LEFT JOIN deliveries d ON d.event_seq = e.seq AND d.endpoint_id = @endpointId
       WHERE ${chunk} GROUP BY kind`,
    );
    const missing = this.db
      .prepare(
        `SELECT e.seq FROM events e WHERE ${chunk} AND ${takes}
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.endpoint_id = @endpointId)
         ORDER BY e.seq`,
      )
      .pluck();
    const resend = this.db.prepare(
      `UPDATE deliveries SET status = @status, attempts_used = 0, queued_at = @now, next_attempt_at = @now,
         recoveries = 0, recover_at = NULL, delivered_at = NULL, last_error = NULL, updated_at = @now
       WHERE endpoint_id = @endpointId AND status = 'delivered'
         AND event_seq IN (SELECT e.seq FROM events e WHERE ${chunk} AND ${takes})`,
    );
    const params = { ...sql.params, endpointId, subscribed: subscribed === null ? null : JSON.stringify(subscribed), now };
    const last = sql.seqs.hi;
    let from = sql.seqs.lo;
    let removed = false;
    await inChunks(() =>
      this.atomically(() => {
        const endpoint = this.s.oneEndpoint.get(endpointId) as { unreachable_since: number | null } | undefined;
        if (!endpoint) {
          removed = true;
          return false;
        }
        const status = endpoint.unreachable_since === null ? 'queued' : 'waiting';
        result.waiting = status === 'waiting';
        const range = { ...params, status, from, to: Math.min(last, from + CHUNK_SEQS - 1) };
        for (const { kind, n } of tally.all(range) as { kind: DeliveryStatus | 'none' | 'not-subscribed'; n: number }[]) {
          if (kind === 'not-subscribed') result.skipped.notSubscribed += n;
          else if (kind === 'delivered') result.skipped.delivered += n;
          else if (kind === 'failed') result.skipped.failed += n;
          else if (kind !== 'none') result.skipped.onItsWay += n;
        }
        const seqs = missing.all(range) as number[];
        for (const eventSeq of seqs)
          this.s.insertDelivery.run({ id: `msg_${newUlid(now)}`, eventSeq, endpointId, status, now, mediaId: null });
        result.queued += seqs.length;
        if (again) {
          const resent = resend.run(range).changes;
          result.resent += resent;
          result.skipped.delivered -= resent;
        }
        from = range.to + 1;
        return from <= last;
      }),
    );
    return removed ? null : result;
  }
}

type ClaimRow = Omit<Claim, 'test' | 'leaseExpiresAt'> & { test: number };

function toClaim(row: ClaimRow, leaseExpiresAt: number): Claim {
  return { ...row, test: row.test === 1, leaseExpiresAt };
}
