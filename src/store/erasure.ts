// Taking a guest's personal data out of the outbox: finding the events that name them,
// stripping their payloads (core/personal-data.ts decides what stays), dropping the
// deliveries not made yet, clearing the receivers' answers stored with the attempts, and
// the audit of each erase. The retention by kind strips delivered events with the same
// code (retention.ts). The sessions' files go too: their local copies at once, their objects in
// the storage by the erase or, owed, by the upload lane.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import { payloadMentions, mentions, strippedPayload, type GuestIdentifier, type StripOptions } from '../core/personal-data.js';
import type { PayloadType } from '../core/payload.js';
import type { AlreadySent, EraseCounts, ErasedEvent, ErasedMedia } from '../core/read-model.js';
import { OWED_COLUMNS, type OwedDeletion } from './media.js';

export interface EventRow {
  seq: number;
  id: string;
  type: PayloadType;
  body: Buffer;
  dedupe_key: string | null;
  captured_at: number;
  session_id: string | null;
}

export const EVENT_COLUMNS = 'seq, id, type, body, dedupe_key, captured_at, session_id';

/**
 * The events with `seq` from `from` to `to` that name the guest: for a session, its events;
 * for an address or a number, every event not stripped yet with it in any text of its
 * payload (known fields or not) or in its Idempotency-Key.
 */
export function eventsNaming(db: Database, guest: GuestIdentifier, from: number, to: number): EventRow[] {
  if (guest.kind === 'session') {
    return db
      .prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE session_id = ? AND seq BETWEEN ? AND ? ORDER BY seq`)
      .all(guest.value, from, to) as EventRow[];
  }
  const found: EventRow[] = [];
  for (const row of db
    .prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq BETWEEN ? AND ? AND stripped_at IS NULL ORDER BY seq`)
    .iterate(from, to) as Iterable<EventRow>) {
    const named =
      payloadMentions(guest, JSON.parse(row.body.toString('utf8'))) || (row.dedupe_key !== null && mentions(guest, row.dedupe_key));
    if (named) found.push(row);
  }
  return found;
}

/**
 * Strips the events' payloads and clears the receivers' answers stored with their attempts.
 * Returns how many stored answers were cleared.
 */
export function stripEvents(db: Database, events: readonly EventRow[], options: StripOptions, now: number): number {
  const strip = db.prepare(`
    UPDATE events SET body = @body, stripped_at = @now, dedupe_key = @dedupeKey,
      session_id = CASE WHEN @keepSessionId THEN session_id END
    WHERE seq = @seq`);
  const clear = db.prepare(`
    UPDATE attempts SET response_head = NULL
    WHERE response_head IS NOT NULL AND delivery_seq IN (SELECT seq FROM deliveries WHERE event_seq = ?)`);
  let cleared = 0;
  for (const event of events) {
    const payload = JSON.parse(event.body.toString('utf8')) as Record<string, unknown>;
    strip.run({
      seq: event.seq,
      body: Buffer.from(JSON.stringify(strippedPayload(payload, options))),
      now,
      dedupeKey: event.dedupe_key !== null && options.drop(event.dedupe_key) ? null : event.dedupe_key,
      keepSessionId: options.keepSessionId ? 1 : 0,
    });
    cleared += clear.run(event.seq).changes;
  }
  return cleared;
}

/** Each event's deliveries: those delivered, and those not (yet). */
export function deliveriesOf(db: Database, events: readonly EventRow[]): ErasedEvent[] {
  const counts = db.prepare(`
    SELECT COUNT(*) FILTER (WHERE status = 'delivered') AS delivered, COUNT(*) FILTER (WHERE status <> 'delivered') AS undelivered
    FROM deliveries WHERE event_seq = ?`);
  return events.map((event) => {
    const { delivered, undelivered } = counts.get(event.seq) as { delivered: number; undelivered: number };
    return { eventId: event.id, type: event.type, capturedAt: event.captured_at, delivered, undelivered };
  });
}

/**
 * Where the events already went, added to `byEndpoint`: per endpoint, the deliveries
 * delivered, and those not delivered that were sent at least once (an attempt that reached
 * the receiver, whatever it answered) or are in flight now.
 */
export function addAlreadySent(db: Database, events: readonly EventRow[], now: number, byEndpoint: Map<string, AlreadySent>): void {
  const rows = db.prepare(`
    SELECT d.endpoint_id AS endpointId, p.url,
      SUM(d.status = 'delivered') AS delivered,
      SUM(d.status <> 'delivered' AND (
        (d.lease_owner IS NOT NULL AND d.lease_expires_at > @now)
        OR EXISTS (SELECT 1 FROM attempts a WHERE a.delivery_seq = d.seq AND a.outcome <> 'unreachable'))) AS attempted
    FROM deliveries d JOIN endpoints p ON p.id = d.endpoint_id
    WHERE d.event_seq = @seq GROUP BY d.endpoint_id`);
  for (const event of events) {
    for (const row of rows.all({ seq: event.seq, now }) as AlreadySent[]) {
      const sum = byEndpoint.get(row.endpointId) ?? { endpointId: row.endpointId, url: row.url, delivered: 0, attempted: 0 };
      sum.delivered += row.delivered;
      sum.attempted += row.attempted;
      byEndpoint.set(row.endpointId, sum);
    }
  }
}

/** How many stored answers of the events' attempts there are (what stripping them clears, or dropping deliveries removes). */
export function responseSnippetsOf(db: Database, events: readonly EventRow[]): number {
  const count = db.prepare(`
    SELECT COUNT(*) FROM attempts WHERE response_head IS NOT NULL
      AND delivery_seq IN (SELECT seq FROM deliveries WHERE event_seq = ?)`);
  return events.reduce((sum, event) => sum + (count.pluck().get(event.seq) as number), 0);
}

/** Drops the events' deliveries not made yet, with their attempts; returns how many. */
export function dropUndelivered(db: Database, events: readonly EventRow[]): number {
  const drop = db.prepare(`DELETE FROM deliveries WHERE event_seq = ? AND status <> 'delivered'`);
  return events.reduce((sum, event) => sum + drop.run(event.seq).changes, 0);
}

/** The audit entry of one erase: when, what kind of identifier, its salted hash, and what went. */
export function recordErasure(
  db: Database,
  entry: { at: number; kind: GuestIdentifier['kind']; identifierHash: string; counts: EraseCounts },
): number {
  return Number(
    db
      .prepare(`INSERT INTO erasures (at, kind, identifier_hash, counts) VALUES (?, ?, ?, ?)`)
      .run(entry.at, entry.kind, entry.identifierHash, JSON.stringify(entry.counts)).lastInsertRowid,
  );
}

/** The files the agent holds, or held, for these sessions and that are not erased yet. */
export function mediaOfSessions(db: Database, sessionIds: ReadonlySet<string>): (ErasedMedia & { localPath: string })[] {
  const of = db.prepare(`
    SELECT id AS mediaId, session_id AS sessionId, name, size AS bytes, status,
      key IS NOT NULL AND (status IN ('uploaded', 'uploading') OR upload_id IS NOT NULL) AS inStorage,
      local_removed_at IS NULL AS onBooth, local_path AS localPath
    FROM media INDEXED BY media_by_session WHERE session_id = ? AND erased_at IS NULL ORDER BY seq`);
  return [...sessionIds].flatMap((id) =>
    (of.all(id) as (Omit<ErasedMedia, 'inStorage' | 'onBooth'> & { localPath: string; inStorage: number; onBooth: number })[]).map((m) => ({
      ...m,
      inStorage: m.inStorage === 1,
      onBooth: m.onBooth === 1,
    })),
  );
}

/**
 * Erases the files: each local copy is removed, and each row keeps only what deleting the objects
 * from the storage needs (their keys, until that is done). An upload under way stays marked as
 * such until the upload lane stops it; every other is failed for good, never to be retried.
 * A gallery that listed one of the sessions is built again at once, not after its minute: the
 * guest asked to be forgotten.
 */
export function eraseMedia(db: Database, media: readonly { mediaId: string; localPath: string; onBooth: boolean }[], now: number): void {
  const mark = db.prepare(`
    UPDATE media SET erased_at = @now, name = '', url = NULL, site_url = NULL, poster_path = NULL, local_path = '', local_removed_at = COALESCE(local_removed_at, @now),
      status = CASE WHEN status = 'uploading' THEN status ELSE 'failed' END, next_attempt_at = @now,
      last_error = 'erased at the organiser''s request'
    WHERE id = @id
    RETURNING gallery_key`);
  const galleryDue = db.prepare(`UPDATE galleries SET changed_at = MAX(changed_at, @now), built_at = NULL WHERE key = @key`);
  for (const file of media) {
    // Each copy has a folder of its own (media/intake.ts). Removed inside the transaction, so
    // a copy that cannot be removed leaves the erase undone rather than a row that lies.
    if (file.onBooth) rmSync(dirname(file.localPath), { recursive: true, force: true });
    const { gallery_key: gallery } = mark.get({ id: file.mediaId, now }) as { gallery_key: string | null };
    if (gallery !== null) galleryDue.run({ now, key: gallery });
  }
}

/** The erased files of these sessions whose deletion from the storage is owed and no upload holds. */
export function owedDeletionsOf(db: Database, sessionIds: ReadonlySet<string>): OwedDeletion[] {
  const of = db.prepare(`
    SELECT ${OWED_COLUMNS} FROM media INDEXED BY media_by_session
    WHERE session_id = ? AND erased_at IS NOT NULL AND key IS NOT NULL AND status <> 'uploading'`);
  return [...sessionIds].flatMap((id) => of.all(id) as OwedDeletion[]);
}

/** The erased files of these sessions whose upload is still under way (the upload lane stops it, then deletes it). */
export function uploadsUnderWayOf(db: Database, sessionIds: ReadonlySet<string>): number {
  const of = db
    .prepare(
      `SELECT COUNT(*) FROM media INDEXED BY media_by_session WHERE session_id = ? AND erased_at IS NOT NULL AND status = 'uploading'`,
    )
    .pluck();
  return [...sessionIds].reduce((sum, id) => sum + (of.get(id) as number), 0);
}
