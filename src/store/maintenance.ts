// Keeps the outbox bounded on a booth that runs for months: delivered events older than the
// retention are pruned (failed ones stay until the operator acts), and the WAL file is
// checkpointed back to empty, so the disk holds what is useful and no more. Runs a minute
// after start (off the start-up path: a large checkpoint can take a while) and then hourly.
import type { Logger } from 'pino';
import type { Store } from './store.js';

const EVERY_MS = 60 * 60 * 1000;
const FIRST_AFTER_MS = 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export function maintain(store: Store, now: number): { pruned: number; walCheckpointed: boolean } {
  const pruned = store.outbox.pruneDelivered(now - store.settings.read().retention_days * DAY_MS);
  // TRUNCATE resets the WAL file to zero bytes when no reader holds an older snapshot;
  // when one does (a CLI command mid-read), the next round does it.
  const [result] = store.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
  return { pruned, walCheckpointed: result?.busy === 0 };
}

export function startMaintenance(store: Store, log: Logger, now: () => number = Date.now): () => void {
  const run = () => {
    try {
      const done = maintain(store, now());
      if (done.pruned > 0) log.info(done, 'outbox maintenance');
    } catch (error) {
      log.error({ err: error }, 'outbox maintenance failed; it is tried again in an hour');
    }
  };
  const first = setTimeout(run, FIRST_AFTER_MS);
  const timer = setInterval(run, EVERY_MS);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
