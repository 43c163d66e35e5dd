// The captured events an operator picks for an export or a replay: by capture time, type
// and the organiser's event id, never Send Test events nor the agent's own (alerts), always
// in capture order.
//
// The organiser's event id is read from the body (`CAST(body AS TEXT)`: SQLite takes a BLOB
// for JSONB). It has no column or index of its own: a booth runs one event at a time, so
// such an index would hold one value, and the time range below already narrows the rows.
//
// Capture order is the order of `seq`. The time range is turned into the range of `seq`
// it covers (from the index on captured_at, without reading a row), so the rows are read
// in `seq` order from that range alone, and an export streams without SQLite sorting them.
import type { Database } from 'better-sqlite3';
import type { ExportDelivery, ExportEndpoint, ExportEvent, ExportMedia } from '../core/export-format.js';
import type { PayloadType } from '../core/payload.js';

export interface EventSelection {
  /** Captured at or after (ms since the epoch). */
  since: number | null;
  /** Captured before (ms since the epoch). */
  until: number | null;
  /** Only these types; null: every type. */
  types: readonly PayloadType[] | null;
  /** The payload's `event_id`. */
  organiserEventId: number | null;
}

export interface SelectionSql {
  /** Conditions on `events e`, to follow WHERE. */
  where: string;
  params: Record<string, number | string>;
  /** The range of `seq` the time range covers, as it was when the SQL was made. */
  seqs: { lo: number; hi: number };
}

/** The SQL that picks the selection's events, or null when no event was captured in its time range. */
export function selectionSql(db: Database, selection: EventSelection): SelectionSql | null {
  const range = {
    since: selection.since ?? Number.MIN_SAFE_INTEGER,
    until: selection.until ?? Number.MAX_SAFE_INTEGER,
  };
  const bounds = db
    .prepare(
      `SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM events INDEXED BY events_by_time WHERE captured_at >= @since AND captured_at < @until`,
    )
    .get(range) as { lo: number | null; hi: number | null };
  if (bounds.lo === null || bounds.hi === null) return null;
  // The unary + keeps SQLite on the seq range instead of the time index (which would need a sort).
  const where = ['e.seq BETWEEN @lo AND @hi', '+e.captured_at >= @since', '+e.captured_at < @until', 'e.test = 0', 'e.alert = 0'];
  const params: Record<string, number | string> = { ...range, lo: bounds.lo, hi: bounds.hi };
  if (selection.types !== null) {
    where.push('e.type IN (SELECT value FROM json_each(@types))');
    params.types = JSON.stringify(selection.types);
  }
  if (selection.organiserEventId !== null) {
    where.push(`json_extract(CAST(e.body AS TEXT), '$.event_id') = @organiserEventId`);
    params.organiserEventId = selection.organiserEventId;
  }
  return { where: where.join(' AND '), params, seqs: { lo: bounds.lo, hi: bounds.hi } };
}

/** The types that carry a form (data_capture), whose fields become the CSV's columns. */
const WITH_FORMS = JSON.stringify(['share', 'survey', 'competition_win']);

/**
 * Reads an export on a read-only connection of its own, in one read transaction: its
 * passes see one snapshot (a capture in between adds no row and no column), it can stay
 * open across the turns of the event loop while the download drains, and the agent's own
 * connection is never held by it.
 */
export class ExportReader {
  constructor(private readonly db: Database) {
    db.exec('BEGIN');
  }

  endpoints(): ExportEndpoint[] {
    return this.db.prepare(`SELECT id, url FROM endpoints ORDER BY created_at, id`).all() as ExportEndpoint[];
  }

  /**
   * The fields of the forms in the selected events (data_capture: at the top of shares and
   * prize wins, in `survey` for surveys), in the order they appear, one at a time. SQLite
   * reads them out of the bodies: it keeps the export's memory lower than parsing each body here.
   */
  *formFields(selection: EventSelection): Generator<{ id: string; title: string }> {
    const sql = selectionSql(this.db, selection);
    if (!sql) return;
    yield* this.db
      .prepare(
        `SELECT COALESCE(f.value ->> 'field_id', '') AS id, COALESCE(f.value ->> 'field_title', '') AS title
         FROM events e,
           json_each(CAST(e.body AS TEXT),
             CASE e.type WHEN 'survey' THEN '$.survey.data_capture.sections' ELSE '$.data_capture.sections' END) s,
           json_each(s.value, '$.fields') f
         WHERE ${sql.where} AND e.type IN (SELECT value FROM json_each(@forms)) ORDER BY e.seq`,
      )
      .iterate({ ...sql.params, forms: WITH_FORMS }) as IterableIterator<{ id: string; title: string }>;
  }

  /** The events with their deliveries, in capture order, one at a time. */
  *events(selection: EventSelection): Generator<ExportEvent> {
    const sql = selectionSql(this.db, selection);
    if (!sql) return;
    const rows = this.db
      .prepare(
        `SELECT e.captured_at AS capturedAt, e.type, e.body,
           (SELECT json_group_array(json_array(d.endpoint_id, d.status,
                (SELECT COUNT(*) FROM attempts a WHERE a.delivery_seq = d.seq),
                (SELECT a.status_code FROM attempts a WHERE a.delivery_seq = d.seq ORDER BY a.id DESC LIMIT 1),
                d.delivered_at))
            FROM deliveries d WHERE d.event_seq = e.seq) AS deliveries,
           (SELECT json_object('key', m.key, 'status', CASE WHEN m.erased_at IS NULL THEN m.status ELSE 'erased' END, 'bytes', m.size)
            FROM media m INDEXED BY media_by_session WHERE m.session_id = e.session_id AND m.event_id IS NOT NULL
            ORDER BY m.seq DESC LIMIT 1) AS media
         FROM events e WHERE ${sql.where} ORDER BY e.seq`,
      )
      .iterate(sql.params) as IterableIterator<{
      capturedAt: number;
      type: PayloadType;
      body: Buffer;
      deliveries: string;
      media: string | null;
    }>;
    for (const row of rows) {
      const deliveries = (JSON.parse(row.deliveries) as [string, ExportDelivery['status'], number, number | null, number | null][]).map(
        ([endpointId, status, attempts, lastStatus, deliveredAt]): ExportDelivery => ({
          endpointId,
          status,
          attempts,
          lastStatus,
          deliveredAt,
        }),
      );
      const media = row.media === null ? null : (JSON.parse(row.media) as ExportMedia);
      yield { capturedAt: row.capturedAt, type: row.type, body: row.body, deliveries, media };
    }
  }

  /** Ends the read transaction and the connection (an iteration still open is ended first by its generator). */
  close(): void {
    this.db.close();
  }
}
