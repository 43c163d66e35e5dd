// The deliveries list must stay fast with a million rows: each filter's page query walks an
// index from the cursor and stops at the page size, never sorting the whole table.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/core/signing.js';
import { openStore } from '../../src/store/store.js';
import { tempDir } from '../helpers/temp.js';

function plan(store: ReturnType<typeof openStore>, filter: Record<string, unknown>): string {
  // The same SQL the views prepare for this filter, asked for its plan.
  const statements = (store.views as unknown as { pages: Map<string, { source: string }> }).pages;
  store.views.list({ limit: 1, ...filter });
  const source = [...statements.values()].at(-1)!.source;
  const rows = store.db
    .prepare(`EXPLAIN QUERY PLAN ${source}`)
    .all({ status: 'failed', type: 'share', sessionId: 'x', before: 1e9, limit: 50 }) as { detail: string }[];
  return rows.map((r) => r.detail).join('\n');
}

describe('deliveries pages', () => {
  const store = openStore(join(tempDir(), 'outbox.db'));
  const endpoint = store.endpoints.add(
    { url: 'https://a.example/h', secret: generateSecret(), types: null, strictOrder: false, ca: null },
    0,
  );
  for (let n = 0; n < 120; n++) {
    store.queue.capture(
      { type: n % 2 ? 'share' : 'session', body: Buffer.from('{}'), dedupeKey: null, occurredAt: '', sessionId: `s${n % 40}` },
      n,
      1,
    );
  }

  it.each([
    [{}, /SCAN d\b|SEARCH d USING INTEGER PRIMARY KEY/],
    [{ status: 'failed' }, /SEARCH d USING (COVERING )?INDEX deliveries_by_status \(status=\? AND seq<\?\)/],
    [{ sessionId: 'x' }, /SEARCH e USING INDEX events_by_session \(session_id=\?\)/],
    [{ status: 'failed', type: 'share' }, /deliveries_by_status/],
  ])('%j uses its index and no temporary sort', (filter, expected) => {
    const detail = plan(store, filter);
    expect(detail).toMatch(expected);
    if (!('sessionId' in filter)) expect(detail).not.toContain('USE TEMP B-TREE FOR ORDER BY');
  });

  it('walks page by page through everything exactly once', () => {
    const seen: string[] = [];
    let before: number | undefined;
    for (let page = 0; page < 10; page++) {
      const items = store.views.list({ limit: 25, before });
      seen.push(...items.map((d) => d.id));
      if (items.length < 25) break;
      before = items[items.length - 1]!.cursor;
    }
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);
    expect(store.views.list({ limit: 100, type: 'share' }).every((d) => d.type === 'share')).toBe(true);
    expect(store.views.list({ limit: 100, sessionId: 's3' }).map((d) => d.sessionId)).toEqual(['s3', 's3', 's3']);
    expect(endpoint.id).toMatch(/^ep_/);
  });
});
