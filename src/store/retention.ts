// Keeps the outbox bounded on a booth that runs for months: delivered events lose their
// personal data after `erase_personal_after_days` (when set), delivered events and alerts
// older than the retention are pruned (failed ones stay until the operator acts), what the integrations
// keep of their own is pruned with them, the local copies of uploaded media go
// media_keep_days after their upload, and the WAL file is checkpointed back to empty,
// so the disk holds what is useful and no more. Runs a minute after start (off the start-up
// path: a large checkpoint can take a while) and then hourly.
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { containsEmail } from '../core/personal-data.js';
import { CHUNK_SEQS, inChunks } from './chunks.js';
import { EVENT_COLUMNS, stripEvents, type EventRow } from './erasure.js';
import type { Store } from './store.js';

const EVERY_MS = 60 * 60 * 1000;
const FIRST_AFTER_MS = 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const STRIP_BATCH = 500;

/** Removes what an integration keeps of its own from before `cutoff` (its records of ended sessions, say). */
export type Pruner = (cutoff: number) => void;

/**
 * Removes events older than `cutoff` whose every delivery was delivered, with their
 * deliveries and attempts. Events with a failed, queued or waiting delivery are kept: they
 * still need someone. Alerts (the agent's own agent.* events) are removed whatever became
 * of their deliveries, an old alert about a past outage helping no one and holding no
 * guest's data, except the newest of each kind: the alert monitor counts the next one from
 * it (alert-watch.ts). In chunks of `seq` (chunks.ts), up to the newest event captured
 * before `cutoff`.
 */
export async function pruneDelivered(db: Database, cutoff: number): Promise<number> {
  const bounds = db
    .prepare(`SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM events INDEXED BY events_by_time WHERE captured_at < ?`)
    .get(cutoff) as { lo: number | null; hi: number | null };
  if (bounds.lo === null || bounds.hi === null) return 0;
  const prune = db.prepare(`
    DELETE FROM events WHERE seq IN (
      SELECT e.seq FROM events e
      WHERE e.seq BETWEEN @from AND @to AND e.captured_at < @cutoff
        AND CASE WHEN e.alert = 1
          THEN EXISTS (SELECT 1 FROM events a INDEXED BY events_alert WHERE a.alert = 1 AND a.type = e.type AND a.seq > e.seq)
          ELSE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status <> 'delivered') END)`);
  const last = bounds.hi;
  let from = bounds.lo;
  let removed = 0;
  await inChunks(() => {
    const to = Math.min(last, from + CHUNK_SEQS - 1);
    removed += prune.run({ from, to, cutoff }).changes;
    from = to + 1;
    return from <= last;
  });
  return removed;
}

/**
 * Strips the personal data (core/personal-data.ts) of events captured before `cutoff` whose
 * every delivery was delivered, with the code of the erase; their type, session id and
 * delivery records stay. Events with a delivery still to make, or none at all, keep
 * everything: they still need someone. A batch at a time, each read and stripped in one
 * short transaction, with the lock free between them (chunks.ts).
 */
export async function stripDelivered(db: Database, cutoff: number, now: number, batch = STRIP_BATCH): Promise<number> {
  const due = db.prepare(`
    SELECT ${EVENT_COLUMNS} FROM events e INDEXED BY events_unstripped
    WHERE e.stripped_at IS NULL AND e.captured_at < @cutoff
      AND EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq)
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status <> 'delivered')
    LIMIT @batch`);
  const stripBatch = db.transaction(() => {
    const rows = due.all({ cutoff, batch }) as EventRow[];
    stripEvents(db, rows, { keepSessionId: true, drop: containsEmail }, now);
    return rows.length;
  });
  let stripped = 0;
  await inChunks(() => {
    const count = stripBatch.immediate();
    stripped += count;
    return count === batch;
  });
  return stripped;
}

/**
 * Removes the local copies of sessions' files media_keep_days after their upload (never
 * before), and those sent with PUT that no event named within as long. Each copy has a folder
 * of its own (media/intake.ts), removed whole; its row stays, marked, for the operator's views.
 */
export async function removeOldCopies(store: Store, cutoff: number, now: number): Promise<number> {
  const due = store.media.oldCopies(cutoff);
  for (const copy of due) {
    await rm(dirname(copy.localPath), { recursive: true, force: true });
    store.media.copyRemoved(copy.id, now);
  }
  return due.length;
}

export async function maintain(
  store: Store,
  now: number,
  pruners: readonly Pruner[] = [],
): Promise<{ pruned: number; stripped: number; copiesRemoved: number; walCheckpointed: boolean }> {
  const settings = store.settings.read();
  const stripped =
    settings.erase_personal_after_days === null
      ? 0
      : await stripDelivered(store.db, now - settings.erase_personal_after_days * DAY_MS, now);
  const cutoff = now - settings.retention_days * DAY_MS;
  const pruned = await pruneDelivered(store.db, cutoff);
  for (const prune of pruners) prune(cutoff);
  const copiesRemoved = await removeOldCopies(store, now - settings.media_keep_days * DAY_MS, now);
  // TRUNCATE resets the WAL file to zero bytes when no reader holds an older snapshot;
  // when one does (a CLI command mid-read), the next round does it.
  const [result] = store.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
  return { pruned, stripped, copiesRemoved, walCheckpointed: result?.busy === 0 };
}

/**
 * Runs the maintenance a minute after start and then hourly (a run still going when the
 * next is due is left to finish instead). The function returned stops it, after the run in
 * progress, if any, has ended.
 */
export function startMaintenance(
  store: Store,
  log: Logger,
  pruners: readonly Pruner[] = [],
  now: () => number = Date.now,
): () => Promise<void> {
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= (async () => {
      try {
        const done = await maintain(store, now(), pruners);
        if (done.pruned > 0 || done.stripped > 0 || done.copiesRemoved > 0) log.info(done, 'outbox maintenance');
      } catch (error) {
        log.error({ err: error }, 'outbox maintenance failed; it is tried again in an hour');
      } finally {
        running = null;
      }
    })();
  };
  const first = setTimeout(run, FIRST_AFTER_MS);
  const timer = setInterval(run, EVERY_MS);
  first.unref();
  timer.unref();
  return async () => {
    clearTimeout(first);
    clearInterval(timer);
    await running;
  };
}
