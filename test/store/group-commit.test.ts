import { describe, expect, it } from 'vitest';
import BetterSqlite3 from 'better-sqlite3';
import { GroupCommit } from '../../src/store/group-commit.js';

function db() {
  const d = new BetterSqlite3(':memory:');
  d.exec('CREATE TABLE t (x BLOB NOT NULL)');
  return d;
}

describe('GroupCommit', () => {
  it('commits what arrives together in one transaction, each caller getting its own result', async () => {
    const d = db();
    const group = new GroupCommit(d);
    const insert = d.prepare('INSERT INTO t VALUES (?)');
    let transactions = 0;
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        group.run(() => {
          if (i === 0) transactions += 1;
          expect(d.inTransaction).toBe(true);
          return Number(insert.run(Buffer.from([i])).lastInsertRowid);
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(transactions).toBe(1);
  });

  it('rolls back a failing item alone', async () => {
    const d = db();
    const group = new GroupCommit(d);
    const insert = d.transaction((x: Buffer | null) => d.prepare('INSERT INTO t VALUES (?)').run(x));
    const outcomes = await Promise.allSettled([
      group.run(() => insert(Buffer.from('a'))),
      group.run(() => insert(null)),
      group.run(() => insert(Buffer.from('c'))),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(d.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(2);
  });

  it('runs the group without savepoints, and again with them when an item fails, keeping only the failure out', async () => {
    const d = db();
    const group = new GroupCommit(d);
    const insert = d.prepare('INSERT INTO t VALUES (?)');
    const inSavepoint = d.transaction((x: Buffer | null) => insert.run(x));
    const runs: string[] = [];
    // The failing item writes a row before it throws: without a savepoint, that row is
    // part of the transaction, so the whole of it must go.
    const item = (name: string, fails: boolean) =>
      group.run(
        () => {
          runs.push(`${name} in its savepoint`);
          return inSavepoint(fails ? null : Buffer.from(name)).changes;
        },
        () => {
          runs.push(`${name} bare`);
          insert.run(Buffer.from(`${name} half`));
          return insert.run(fails ? null : Buffer.from(name)).changes;
        },
      );
    expect(await Promise.all([item('a', false), item('b', false)])).toEqual([1, 1]);
    expect(runs).toEqual(['a bare', 'b bare']);
    expect(d.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(4);

    runs.length = 0;
    const outcomes = await Promise.allSettled([item('c', false), item('d', true), item('e', false)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(runs).toEqual(['c bare', 'd bare', 'c in its savepoint', 'd in its savepoint', 'e in its savepoint']);
    const rows = d.prepare('SELECT x FROM t').pluck().all() as Buffer[];
    expect(rows.map((x) => x.toString())).toEqual(['a half', 'a', 'b half', 'b', 'c', 'e']);
  });

  it('a commit that fails with no item failing fails the group without running it again', async () => {
    const d = new BetterSqlite3(':memory:');
    d.pragma('foreign_keys = ON');
    // A deferred foreign key is checked at COMMIT: every item succeeds, the commit fails.
    d.exec('CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)');
    const group = new GroupCommit(d);
    const insert = d.prepare('INSERT INTO c VALUES (?)');
    const runs: string[] = [];
    const outcomes = await Promise.allSettled(
      [1, 2].map((n) =>
        group.run(
          () => {
            runs.push(`${n} in its savepoint`);
            return insert.run(n).changes;
          },
          () => {
            runs.push(`${n} bare`);
            return insert.run(n).changes;
          },
        ),
      ),
    );
    expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : o.status))).toEqual([
      'SqliteError: FOREIGN KEY constraint failed',
      'SqliteError: FOREIGN KEY constraint failed',
    ]);
    expect(runs).toEqual(['1 bare', '2 bare']);
    expect(d.prepare('SELECT COUNT(*) FROM c').pluck().get()).toBe(0);
  });

  it('an item alone that fails is not run again in a savepoint', async () => {
    const d = db();
    const group = new GroupCommit(d);
    const runs: string[] = [];
    const outcome = group.run(
      () => runs.push('in its savepoint'),
      () => {
        runs.push('bare');
        return d.prepare('INSERT INTO t VALUES (NULL)').run().changes;
      },
    );
    await expect(outcome).rejects.toThrow(/NOT NULL constraint failed/);
    expect(runs).toEqual(['bare']);
  });

  it('fails every item, and keeps none, when the disk fills and SQLite rolls the transaction back', async () => {
    const d = db();
    const group = new GroupCommit(d);
    d.pragma(`max_page_count = ${(d.pragma('page_count', { simple: true }) as number) + 3}`);
    const insert = d.transaction((n: number) => d.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(n)));
    const bare = d.prepare('INSERT INTO t VALUES (?)');
    const outcomes = await Promise.allSettled(
      [100, 50_000, 100].map((n) =>
        group.run(
          () => insert(n),
          () => bare.run(Buffer.alloc(n)),
        ),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(d.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(0);
  });
});
