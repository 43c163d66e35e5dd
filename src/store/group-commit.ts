// Group commit: captures that arrive together share one transaction, so sixteen booth
// clients cost one disk sync instead of sixteen. Each caller still hears back only after
// the transaction holding its event is committed (synchronous=FULL): nothing is
// acknowledged before it is on disk. A failing item is rolled back alone (it runs in a
// savepoint); a failing commit fails every item of the group.
import type { Database } from 'better-sqlite3';

interface Pending<T> {
  work: () => T;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  private queue: Pending<unknown>[] = [];
  private scheduled = false;
  private readonly commit: (batch: Pending<unknown>[]) => Outcome[];

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
  }

  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
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
      outcomes = this.commit(batch);
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
