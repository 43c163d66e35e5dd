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

  it('fails every item, and keeps none, when the disk fills and SQLite rolls the transaction back', async () => {
    const d = db();
    const group = new GroupCommit(d);
    d.pragma(`max_page_count = ${(d.pragma('page_count', { simple: true }) as number) + 3}`);
    const insert = d.transaction((n: number) => d.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(n)));
    const outcomes = await Promise.allSettled([100, 50_000, 100].map((n) => group.run(() => insert(n))));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(d.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(0);
  });
});
