// The read views of the outbox: what the panel and the command line show. Pages of
// deliveries (keyset pagination, so page 1,000 costs what page 1 costs), one delivery with
// its attempts and payload, counts by status and the day chart. Nothing here writes.
import type { Database, Statement } from 'better-sqlite3';
import type { DeliveryStatus } from '../core/policy.js';
import type { EventType } from '../core/event-types.js';
import type {
  AttemptSummary,
  CloseoutFigures,
  DeliveryView,
  HourStats,
  MediaOnlyHere,
  Recovering,
  StatusCounts,
} from '../core/read-model.js';

/** Closeout's media figures: files only on the booth (and their bytes), and pages whose file is in but not they. */
const ONLY_HERE_FIGURES = `COUNT(*) FILTER (WHERE file_done_at IS NULL) AS files, COALESCE(SUM(size) FILTER (WHERE file_done_at IS NULL), 0) AS bytes,
  COUNT(*) FILTER (WHERE file_done_at IS NOT NULL) AS pages`;
const GALLERY_BEHIND = `built_at IS NULL OR changed_at >= built_at`;

/** An attempt in its delivery's history, with the first bytes of the answer. */
export interface AttemptView extends AttemptSummary {
  responseHead: Buffer | null;
}

export interface DeliveryFilter {
  status?: DeliveryStatus | undefined;
  type?: EventType | undefined;
  sessionId?: string | undefined;
  before?: number | undefined;
  limit: number;
}

interface CountRow {
  endpointId: string;
  status: DeliveryStatus;
  n: number;
}

interface DeliveryRow {
  seq: number;
  id: string;
  status: DeliveryStatus;
  event_id: string;
  type: EventType;
  test: number;
  endpoint_id: string;
  endpoint_url: string;
  attempts_used: number;
  next_attempt_at: number;
  recover_at: number | null;
  last_error: string | null;
  captured_at: number;
  delivered_at: number | null;
  session_id: string | null;
}

// An automatic retry whose endpoint has since turned them off will not happen (store/queue.ts recoverDue).
// A delivery that waits for its session's file says so where an error would show, with the
// upload's own reason once it has one (the storage away, a refusal).
const VIEW_COLUMNS = `
  d.seq, d.id, d.status, e.id AS event_id, e.type, e.test, d.endpoint_id, p.url AS endpoint_url, d.attempts_used,
  d.next_attempt_at, CASE WHEN p.auto_recover = 'off' THEN NULL ELSE d.recover_at END AS recover_at,
  CASE WHEN d.media_id IS NULL THEN d.last_error
    ELSE 'waiting for its photo to be uploaded' || COALESCE(': ' || (SELECT last_error FROM media WHERE id = d.media_id), '') END
    AS last_error,
  e.captured_at, d.delivered_at, e.session_id`;

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

function prepareStatements(db: Database) {
  const prepare = (sql: string) => db.prepare(sql);
  return {
    one: prepare(`
      SELECT ${VIEW_COLUMNS} FROM deliveries d JOIN events e ON e.seq = d.event_seq JOIN endpoints p ON p.id = d.endpoint_id
      WHERE d.id = ?`),
    attemptsOf: prepare(`
      SELECT a.started_at AS startedAt, a.duration_ms AS durationMs, a.outcome, a.status_code AS statusCode,
             a.error, a.response_head AS responseHead, a.reason
      FROM attempts a JOIN deliveries d ON d.seq = a.delivery_seq WHERE d.id = ? ORDER BY a.id`),
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
    byEndpoint: prepare(`SELECT endpoint_id AS endpointId, status, COUNT(*) AS n FROM deliveries GROUP BY endpoint_id, status`),
    // CROSS JOIN keeps the few Send Test (or alert) events as the outer loop: left to itself,
    // SQLite walks every delivery in endpoint order (to group without sorting) and looks each
    // one up in events_test, 28 ms a call for 100,000 deliveries instead of a few microseconds.
    testsByEndpoint: prepare(`
      SELECT d.endpoint_id AS endpointId, d.status, COUNT(*) AS n
      FROM events e INDEXED BY events_test CROSS JOIN deliveries d ON d.event_seq = e.seq WHERE e.test = 1
      GROUP BY d.endpoint_id, d.status`),
    alertsByEndpoint: prepare(`
      SELECT d.endpoint_id AS endpointId, d.status, COUNT(*) AS n
      FROM events e INDEXED BY events_alert CROSS JOIN deliveries d ON d.event_seq = e.seq WHERE e.alert = 1
      GROUP BY d.endpoint_id, d.status`),
    eventByEndpoint: prepare(`
      SELECT d.endpoint_id AS endpointId, d.status, COUNT(*) AS n
      FROM events e JOIN deliveries d ON d.event_seq = e.seq
      WHERE e.test = 0 AND e.alert = 0 AND json_extract(CAST(e.body AS TEXT), '$.event_id') = ?
      GROUP BY d.endpoint_id, d.status`),
    unsent: prepare(`SELECT COUNT(*) FROM unsent_events`).pluck(),
    // A session's file not in the storage yet whose copy the booth holds: packing up loses it.
    // One whose file is in but whose page is not yet is a page the guest's link waits for.
    onlyHere: prepare(`
      SELECT ${ONLY_HERE_FIGURES} FROM media INDEXED BY media_due
      WHERE event_id IS NOT NULL AND status IN ('waiting', 'uploading', 'failed') AND erased_at IS NULL AND local_removed_at IS NULL`),
    eventOnlyHere: prepare(`
      SELECT ${ONLY_HERE_FIGURES} FROM media INDEXED BY media_due JOIN events e ON e.id = media.event_id
      WHERE media.event_id IS NOT NULL AND status IN ('waiting', 'uploading', 'failed') AND erased_at IS NULL
        AND local_removed_at IS NULL AND json_extract(CAST(e.body AS TEXT), '$.event_id') = ?`),
    // A gallery changed since its last build began (media/uploader.ts builds it).
    galleriesBehind: prepare(`SELECT COUNT(*) FROM galleries WHERE ${GALLERY_BEHIND}`).pluck(),
    eventGalleriesBehind: prepare(`
      SELECT COUNT(*) FROM galleries g WHERE (${GALLERY_BEHIND}) AND EXISTS (
        SELECT 1 FROM media m INDEXED BY media_by_gallery JOIN events e ON e.id = m.event_id
        WHERE m.gallery_key = g.key AND json_extract(CAST(e.body AS TEXT), '$.event_id') = ?)`).pluck(),
    recovering: prepare(`
      SELECT COUNT(*) AS count, MIN(d.recover_at) AS nextAt
      FROM deliveries d INDEXED BY deliveries_recover JOIN endpoints p ON p.id = d.endpoint_id
      WHERE d.recover_at IS NOT NULL AND d.status = 'failed' AND p.auto_recover <> 'off'`),
    // Guests' failed deliveries with an automatic retry to come, of each endpoint: few, and
    // found through their own index; `event` null counts those of every event.
    recoveringByEndpoint: prepare(`
      SELECT d.endpoint_id AS endpointId, COUNT(*) AS count, MIN(d.recover_at) AS nextAt
      FROM deliveries d INDEXED BY deliveries_recover JOIN endpoints p ON p.id = d.endpoint_id JOIN events e ON e.seq = d.event_seq
      WHERE d.recover_at IS NOT NULL AND d.status = 'failed' AND p.auto_recover <> 'off' AND e.test = 0 AND e.alert = 0
        AND (@event IS NULL OR json_extract(CAST(e.body AS TEXT), '$.event_id') = @event)
      GROUP BY d.endpoint_id`),
    eventUnsent: prepare(`
      SELECT COUNT(*) FROM unsent_events u JOIN events e ON e.seq = u.event_seq
      WHERE json_extract(CAST(e.body AS TEXT), '$.event_id') = ?`).pluck(),
    eventOf: prepare(`
      SELECT e.body, e.session_id AS sessionId, e.occurred_at AS occurredAt FROM deliveries d
      JOIN events e ON e.seq = d.event_seq WHERE d.id = ?`),
    // The session's newest session event, from the index of events by session (its entries
    // are in seq order, so nothing is sorted); its file erased counts as its data erased.
    sessionLink: prepare(`
      SELECT json_extract(CAST(e.body AS TEXT), '$.session.site_url') AS siteUrl,
        e.stripped_at IS NOT NULL OR EXISTS (
          SELECT 1 FROM media m WHERE m.session_id = e.session_id AND m.event_id = e.id AND m.erased_at IS NOT NULL
        ) AS erased
      FROM events e WHERE e.session_id = ? AND e.type = 'session' AND e.test = 0
      ORDER BY e.seq DESC LIMIT 1`),
  };
}

export class DeliveryViews {
  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly pages = new Map<string, Statement>();

  constructor(private readonly db: Database) {
    this.s = prepareStatements(db);
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
   * The link a session's guest is given: the `site_url` of its newest `session` event (Send
   * Tests left out), whether the booth gave it or the agent set it at capture. Null when no
   * such event was captured (or an erase took its session id); `siteUrl` null when its data
   * was erased (the payload stripped, or the session's file).
   */
  sessionLink(sessionId: string): { siteUrl: string | null } | null {
    const row = this.s.sessionLink.get(sessionId) as { siteUrl: unknown; erased: number } | undefined;
    if (!row) return null;
    return { siteUrl: row.erased === 0 && typeof row.siteUrl === 'string' ? row.siteUrl : null };
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
   * The guests' deliveries of each endpoint by status (Send Test deliveries and alerts left out), of
   * one organiser's event or of all. Every delivery is counted from the index of deliveries
   * by endpoint; only a report on one event reads the payloads.
   */
  closeoutByEndpoint(eventId: number | null): Map<string, StatusCounts> {
    const byEndpoint = new Map<string, StatusCounts>();
    const add = (rows: CountRow[], sign: 1 | -1) => {
      for (const row of rows) {
        const counts = byEndpoint.get(row.endpointId) ?? { queued: 0, waiting: 0, delivered: 0, failed: 0 };
        counts[row.status] += sign * row.n;
        byEndpoint.set(row.endpointId, counts);
      }
    };
    if (eventId !== null) {
      add(this.s.eventByEndpoint.all(eventId) as CountRow[], 1);
    } else {
      add(this.s.byEndpoint.all() as CountRow[], 1);
      add(this.s.testsByEndpoint.all() as CountRow[], -1);
      add(this.s.alertsByEndpoint.all() as CountRow[], -1);
    }
    return byEndpoint;
  }

  /** The guests' failed deliveries of each endpoint that will be retried by themselves, of one organiser's event or of all. */
  recoveringByEndpoint(eventId: number | null): Map<string, Recovering> {
    const rows = this.s.recoveringByEndpoint.all({ event: eventId }) as (Recovering & { endpointId: string })[];
    return new Map(rows.map(({ endpointId, ...recovering }) => [endpointId, recovering]));
  }

  /** Guests' events with no delivery at all, of one organiser's event or of all. */
  unsentCount(eventId: number | null): number {
    return (eventId === null ? this.s.unsent.get() : this.s.eventUnsent.get(eventId)) as number;
  }

  /** The sessions' files only this booth holds (not uploaded yet, or failed), their pages not up yet, and galleries behind. */
  mediaOnlyHere(eventId: number | null): MediaOnlyHere {
    const files = (eventId === null ? this.s.onlyHere.get() : this.s.eventOnlyHere.get(eventId)) as Omit<MediaOnlyHere, 'galleries'>;
    const galleries = (eventId === null ? this.s.galleriesBehind.get() : this.s.eventGalleriesBehind.get(eventId)) as number;
    return { ...files, galleries };
  }

  /** What the verdict needs, from the kept counts: cheap enough for every change the tray hears of. */
  closeoutFigures(): CloseoutFigures {
    const counts = this.counts();
    for (const row of [...this.s.testsByEndpoint.all(), ...this.s.alertsByEndpoint.all()] as CountRow[]) counts[row.status] -= row.n;
    return { counts, unsent: this.unsentCount(null), media: this.mediaOnlyHere(null) };
  }

  /** Failed deliveries with an automatic retry to come, from the index of those alone. */
  recovering(): Recovering {
    return this.s.recovering.get() as Recovering;
  }

  undeliveredCount(endpointId: string): number {
    return (this.s.undelivered.get(endpointId) as { n: number }).n;
  }

  lastDeliveredAt(): number | null {
    return (this.s.lastDelivered.get() as { at: number | null }).at;
  }
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
    recoverAt: row.status === 'failed' ? row.recover_at : null,
    lastError: row.last_error,
    capturedAt: row.captured_at,
    deliveredAt: row.delivered_at,
    sessionId: row.session_id,
  };
}
