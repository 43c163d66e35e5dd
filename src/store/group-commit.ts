// Group commit: captures that arrive together share one transaction, so sixteen booth
// clients cost one disk sync instead of sixteen. Each caller still hears back only after
// the transaction holding its event is committed (synchronous=FULL): nothing is
// acknowledged before it is on disk. A failing item is rolled back alone (it runs in a
// savepoint); a failing commit fails every item of the group.
//
// A savepoint is not free: SQLite copies into it every page the transaction has already
// touched that the item touches again, and the events of one group touch the same pages
// (about half the cost of a capture). So an item may also give its work without a
// savepoint of its own, and the group is first run that way; if any item fails, the whole
// transaction is rolled back, and the group is run again as above, each item in its savepoint.
// A failure of the transaction itself (the write lock not had in time, a failed commit) is
// not run again: it fails every item, as it would have in savepoints.
import type { Database } from 'better-sqlite3';

interface Pending<T> {
  /** The item's work, in a savepoint of its own (a nested transaction). */
  work: () => T;
  /** The same work without a savepoint, if it has such a form: a failure leaves it half done. */
  bare: (() => T) | undefined;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** An item failed in a run without savepoints: the run is rolled back whole and made again with them. */
class ItemFailed {
  constructor(readonly error: unknown) {}
}

export class GroupCommit {
  private queue: Pending<unknown>[] = [];
  private scheduled = false;
  private readonly commit: (batch: Pending<unknown>[]) => Outcome[];
  private readonly commitBare: (batch: Pending<unknown>[]) => Outcome[];

  constructor(private readonly db: Database) {
    const transaction = db.transaction((batch: Pending<unknown>[]) =>
      batch.map((item): Outcome => {
        try {
          return { ok: true, value: item.work() };
        } catch (error) {
          // Some failures (a full disk) make SQLite roll back the whole transaction:
          // then nothing of the group stands, and every item must hear so.
          if (!this.db.inTransaction) throw error;
          return { ok: false, error };
        }
      }),
    );
    this.commit = (batch) => transaction.immediate(batch);
    // Any failure here leaves the transaction to be rolled back whole.
    const bare = db.transaction((batch: Pending<unknown>[]) =>
      batch.map((item): Outcome => {
        try {
          return { ok: true, value: (item.bare ?? item.work)() };
        } catch (error) {
          throw new ItemFailed(error);
        }
      }),
    );
    this.commitBare = (batch) => bare.immediate(batch);
  }

  run<T>(work: () => T, bare?: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, bare, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    let outcomes: Outcome[];
    try {
      try {
        outcomes = this.commitBare(batch);
      } catch (error) {
        if (!(error instanceof ItemFailed)) throw error;
        // Rolled back, nothing of it kept: again, each item in its savepoint, unless it was alone.
        outcomes = batch.length === 1 ? [{ ok: false, error: error.error }] : this.commit(batch);
      }
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}
