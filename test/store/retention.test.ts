// Retention: a week of simulated traffic against a 1-day retention keeps the database
// bounded; failed deliveries stay until the operator acts; the WAL is checkpointed.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/policy.js';
import { generateSecret } from '../../src/core/signing.js';
import { maintain } from '../../src/store/retention.js';
import { openStore } from '../../src/store/store.js';
import { tempDir } from '../helpers/temp.js';

const DAY = 86_400_000;
const START = Date.parse('2026-06-01T00:00:00Z');

describe('outbox maintenance', () => {
  it('prunes delivered events past the retention, keeps failed ones, and stays bounded', async () => {
    const file = join(tempDir(), 'outbox.db');
    const store = openStore(file);
    store.settings.write('retention_days', 1);
    const endpoint = store.endpoints.add(
      { url: 'https://a.example/h', secret: generateSecret(), types: null, strictOrder: false, ca: null },
      START,
    );
    const body = Buffer.from(JSON.stringify({ type: 'session', padding: 'x'.repeat(600) }));
    const pages: number[] = [];
    let failedKept = 0;
    for (let day = 0; day < 7; day++) {
      for (let n = 0; n < 400; n++) {
        const at = START + day * DAY + n * 60_000;
        store.queue.capture({ type: 'session', body, dedupeKey: null, occurredAt: '', sessionId: `d${day}-${n}` }, at, DAY);
        const [claim] = store.queue.claim(endpoint.id, 'run:sim', at + 1, 60_000, 1, false);
        const failed = n % 100 === 0;
        const decision: Decision = failed
          ? { status: 'failed', reason: 'HTTP 500; no retries left', disableEndpoint: false, usesAttempt: true, recoverAt: null }
          : { status: 'delivered', reason: 'delivered: HTTP 200' };
        if (failed) failedKept += 1;
        store.queue.settle(
          claim!,
          'run:sim',
          {
            startedAt: at,
            durationMs: 20,
            outcome: 'answered',
            statusCode: failed ? 500 : 200,
            error: null,
            responseHead: Buffer.from('ok'),
          },
          decision,
          at + 2,
        );
      }
      const done = await maintain(store, START + (day + 1) * DAY);
      expect(done.walCheckpointed).toBe(true);
      expect(existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0).toBe(0);
      pages.push(store.db.pragma('page_count', { simple: true }) as number);
    }
    const counts = store.views.counts();
    expect(counts.failed).toBe(failedKept);
    expect(counts.delivered).toBeLessThanOrEqual(400);
    const events = store.db.prepare('SELECT COUNT(*) FROM events').pluck().get() as number;
    expect(events).toBe(counts.delivered + counts.failed);
    const orphans = store.db
      .prepare('SELECT COUNT(*) FROM attempts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = a.delivery_seq)')
      .pluck()
      .get();
    expect(orphans).toBe(0);
    // Freed pages are reused: after the first days the file stops growing.
    expect(pages[6]!).toBeLessThanOrEqual(Math.ceil(pages[2]! * 1.15));
    store.close();
  });

  it('strips the personal data of delivered events after erase_personal_after_days, keeping their records', async () => {
    const store = openStore(join(tempDir(), 'outbox.db'));
    const endpoint = store.endpoints.add(
      { url: 'https://a.example/h', secret: generateSecret(), types: ['share'], strictOrder: false, ca: null },
      START,
    );
    const share = (n: number) =>
      Buffer.from(
        JSON.stringify({
          type: 'share',
          event_id: 9,
          session: { id: `s${n}`, direct_url: 'https://cdn.example.com/p.jpg', site_url: 'https://cdn.example.com/v', type: 'still' },
          share: { id: `sh${n}`, type: 'email', value: `guest${n}@example.com` },
          data_capture: { sections: [] },
        }),
      );
    const settle = (at: number, status: 'delivered' | 'failed') => {
      const [claim] = store.queue.claim(endpoint.id, 'run:sim', at, 60_000, 1, false);
      store.queue.settle(
        claim!,
        'run:sim',
        {
          startedAt: at,
          durationMs: 5,
          outcome: 'answered',
          statusCode: status === 'delivered' ? 200 : 500,
          error: null,
          responseHead: Buffer.from('echo guest'),
        },
        status === 'delivered'
          ? { status: 'delivered', reason: 'delivered: HTTP 200' }
          : { status: 'failed', reason: 'HTTP 500', disableEndpoint: false, usesAttempt: true, recoverAt: null },
        at,
      );
    };
    const capture = (n: number, at: number, type: 'share' | 'survey' = 'share') =>
      store.queue.capture({ type, body: share(n), dedupeKey: `key:guest${n}@example.com`, occurredAt: '', sessionId: `s${n}` }, at, DAY);
    capture(1, START);
    settle(START, 'delivered');
    capture(2, START);
    settle(START, 'failed');
    capture(3, START, 'survey'); // no endpoint takes surveys: sent nowhere
    capture(4, START + 3 * DAY);
    settle(START + 3 * DAY, 'delivered');

    expect((await maintain(store, START + 4 * DAY)).stripped).toBe(0);
    store.settings.write('erase_personal_after_days', 2);
    expect((await maintain(store, START + 4 * DAY)).stripped).toBe(1);
    expect((await maintain(store, START + 4 * DAY)).stripped).toBe(0);

    const rows = store.db.prepare('SELECT session_id, body, dedupe_key, stripped_at FROM events ORDER BY seq').all() as {
      session_id: string;
      body: Buffer;
      dedupe_key: string | null;
      stripped_at: number | null;
    }[];
    expect(rows.map((r) => r.stripped_at)).toEqual([START + 4 * DAY, null, null, null]);
    expect(rows[0]).toMatchObject({ session_id: 's1', dedupe_key: null });
    expect(JSON.parse(rows[0]!.body.toString())).toEqual({
      type: 'share',
      event_id: 9,
      session: { id: 's1', type: 'still' },
      share: { id: 'sh1', type: 'email' },
      data_capture: { sections: [] },
      personal_data_removed: true,
    });
    expect(rows.slice(1).every((r) => r.body.toString().includes('@example.com'))).toBe(true);
    expect(store.db.prepare('SELECT response_head FROM attempts ORDER BY id').pluck().all()).toEqual([
      null,
      Buffer.from('echo guest'),
      Buffer.from('echo guest'),
    ]);
    expect(store.views.counts()).toMatchObject({ delivered: 2, failed: 1 });
    expect(store.views.unsentCount(null)).toBe(1);
    store.close();
  });

  it("prunes alerts past the retention whatever became of their deliveries but the newest of each kind; keeps guests' failed events", async () => {
    const store = openStore(join(tempDir(), 'outbox.db'));
    store.settings.write('retention_days', 1);
    const alerts = store.endpoints.add(
      { url: 'https://alerts.example/h', secret: generateSecret(), types: ['agent.*'], strictOrder: false, ca: null },
      START,
    );
    const guests = store.endpoints.add(
      { url: 'https://crm.example/h', secret: generateSecret(), types: null, strictOrder: false, ca: null },
      START,
    );
    const alert = (at: number, type: 'agent.delivery_failed' | 'agent.heartbeat' = 'agent.delivery_failed') =>
      store.queue.capture(
        {
          type,
          body: Buffer.from(`{"type":"${type}"}`),
          dedupeKey: null,
          occurredAt: '',
          sessionId: null,
        },
        at,
        DAY,
      );
    const fail = (endpointId: string, at: number) => {
      const [claim] = store.queue.claim(endpointId, 'run:sim', at, 60_000, 1, false);
      store.queue.settle(
        claim!,
        'run:sim',
        { startedAt: at, durationMs: 5, outcome: 'answered', statusCode: 500, error: null, responseHead: null },
        { status: 'failed', reason: 'HTTP 500', disableEndpoint: false, usesAttempt: true, recoverAt: null },
        at,
      );
    };
    alert(START);
    fail(alerts.id, START);
    alert(START + 1); // still queued: its endpoint could not be reached for days
    store.queue.capture(
      { type: 'session', body: Buffer.from('{"type":"session"}'), dedupeKey: null, occurredAt: '', sessionId: 's' },
      START,
      DAY,
    );
    fail(guests.id, START);
    alert(START + 3 * DAY);
    alert(START + 2, 'agent.heartbeat'); // the newest heartbeat: the next one counts from it

    expect((await maintain(store, START + 3 * DAY + 1)).pruned).toBe(2);
    expect(store.db.prepare('SELECT type, captured_at AS at, alert FROM events ORDER BY seq').all()).toEqual([
      { type: 'session', at: START, alert: 0 },
      { type: 'agent.delivery_failed', at: START + 3 * DAY, alert: 1 },
      { type: 'agent.heartbeat', at: START + 2, alert: 1 },
    ]);
    expect(store.views.counts()).toMatchObject({ failed: 1, queued: 2 });
    store.close();
  });
});
