import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/policy.js';
import { generateSecret } from '../../src/core/signing.js';
import type { AttemptRecord } from '../../src/store/queue.js';
import { openStore, type Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/temp.js';

const NOW = 1_800_000_000_000;
const WEEK = 7 * 86_400_000;
const LEASE = 60_000;

function store(file = join(tempDir(), 'outbox.db')): Store {
  return openStore(file);
}

function addEndpoint(s: Store, types: ('session' | 'share')[] | null = null, url = 'https://a.example/hook') {
  return s.endpoints.add({ url, secret: generateSecret(), types, strictOrder: false, ca: null }, NOW);
}

function capture(s: Store, n: number, key: string | null = null, type: 'session' | 'share' = 'session') {
  return s.queue.capture(
    { type, body: Buffer.from(`{"n":${n}}`), dedupeKey: key, occurredAt: new Date(NOW).toISOString(), sessionId: `s${n}` },
    NOW + n,
    WEEK,
  );
}

const attempt = (outcome: AttemptRecord['outcome'] = 'answered', statusCode: number | null = 200): AttemptRecord => ({
  startedAt: NOW,
  durationMs: 12,
  outcome,
  statusCode,
  error: outcome === 'answered' ? null : 'connection refused',
  responseHead: Buffer.from('ok'),
});

describe('capture', () => {
  it('sends alerts only where they were asked for, and booth payloads never to an alert-only endpoint', () => {
    const s = store();
    const everything = s.endpoints.add(
      { url: 'https://all.example/hook', secret: generateSecret(), types: null, strictOrder: false, ca: null },
      NOW,
    );
    const alertsOnly = s.endpoints.add(
      { url: 'https://chat.example/hook', secret: generateSecret(), types: ['agent.*'], strictOrder: false, ca: null },
      NOW,
    );
    const failures = s.endpoints.add(
      {
        url: 'https://pager.example/hook',
        secret: generateSecret(),
        types: ['share', 'agent.delivery_failed'],
        strictOrder: false,
        ca: null,
      },
      NOW,
    );
    const to = (type: 'session' | 'share' | 'agent.heartbeat' | 'agent.delivery_failed') => {
      const { id } = s.queue.capture(
        { type, body: Buffer.from('{}'), dedupeKey: null, occurredAt: new Date(NOW).toISOString(), sessionId: '' },
        NOW,
        WEEK,
      );
      return s.db
        .prepare('SELECT d.endpoint_id FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE e.id = ? ORDER BY d.endpoint_id')
        .pluck()
        .all(id);
    };
    expect(to('session')).toEqual([everything.id]);
    expect(to('share')).toEqual([everything.id, failures.id].sort());
    expect(to('agent.heartbeat')).toEqual([alertsOnly.id]);
    expect(to('agent.delivery_failed')).toEqual([alertsOnly.id, failures.id].sort());
    // Alerts are not the guests' data: "safe to pack up?" leaves them out.
    expect(s.views.closeoutFigures().counts.queued).toBe(3);
    s.endpoints.remove(alertsOnly.id);
    expect(s.views.closeoutFigures().unsent).toBe(0);
  });

  it('stores the body bytes once and one delivery per subscribed, enabled endpoint', () => {
    const s = store();
    const all = addEndpoint(s);
    const sessionsOnly = addEndpoint(s, ['session']);
    addEndpoint(s, ['share']);
    const off = addEndpoint(s);
    s.endpoints.setEnabled(off.id, false, 'disabled by the operator', Date.now());
    const captured = capture(s, 1);
    expect(captured).toMatchObject({ id: expect.stringMatching(/^evt_[0-9A-Z]{26}$/), deliveries: 2, duplicate: false });
    expect(captured.deliveryIds.every((id) => /^msg_[0-9A-Z]{26}$/.test(id))).toBe(true);
    expect(s.views.eventOf(captured.deliveryIds[0]!)?.body).toEqual(Buffer.from('{"n":1}'));
    expect(
      s.views
        .list({ limit: 10 })
        .map((d) => d.endpointId)
        .sort(),
    ).toEqual([all.id, sessionsOnly.id].sort());
    expect(s.views.counts()).toEqual({ queued: 2, waiting: 0, delivered: 0, failed: 0 });
  });

  it('keeps an event with no endpoint at all', () => {
    const s = store();
    expect(capture(s, 1).deliveries).toBe(0);
    expect(s.db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(1);
  });

  it('returns the first event for a repeated dedupe key within the window, and creates nothing', () => {
    const s = store();
    addEndpoint(s);
    const first = capture(s, 1, 'session:abc');
    const again = capture(s, 2, 'session:abc');
    expect(again).toEqual({ id: first.id, deliveries: 1, duplicate: true, deliveryIds: [] });
    expect(s.db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(1);
    const later = s.queue.capture(
      { type: 'session', body: Buffer.from('{}'), dedupeKey: 'session:abc', occurredAt: '', sessionId: 'abc' },
      NOW + WEEK + 10,
      WEEK,
    );
    expect(later.duplicate).toBe(false);
  });

  it('queues a capture for an unreachable endpoint as waiting', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    const claim = s.queue.claim(endpoint.id, 'run:a', NOW, LEASE, 1, false);
    expect(claim).toHaveLength(0);
    capture(s, 1);
    const [c] = s.queue.claim(endpoint.id, 'run:a', NOW + 10, LEASE, 1, false);
    s.queue.settle(c!, 'run:a', attempt('unreachable', null), { status: 'waiting', reason: 'offline' }, NOW + 20);
    capture(s, 2);
    expect(s.views.counts()).toMatchObject({ waiting: 2, queued: 0 });
  });
});

describe('claims and leases', () => {
  it('claim due deliveries oldest first, up to the limit', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    for (let n = 1; n <= 5; n++) capture(s, n);
    const claims = s.queue.claim(endpoint.id, 'run:a', NOW + 100, LEASE, 3, false);
    expect(claims.map((c) => c.body.toString())).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(s.queue.claim(endpoint.id, 'run:b', NOW + 100, LEASE, 10, false).map((c) => c.body.toString())).toEqual(['{"n":4}', '{"n":5}']);
    expect(s.queue.claim(endpoint.id, 'run:c', NOW + 100, LEASE, 10, false)).toEqual([]);
  });

  it('let an expired lease be claimed again, so a crash strands nothing', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    capture(s, 1);
    const [first] = s.queue.claim(endpoint.id, 'run:dead', NOW + 10, LEASE, 1, false);
    expect(first).toBeDefined();
    expect(s.queue.claim(endpoint.id, 'run:new', NOW + 10 + LEASE - 1, LEASE, 1, false)).toEqual([]);
    const [again] = s.queue.claim(endpoint.id, 'run:new', NOW + 10 + LEASE, LEASE, 1, false);
    expect(again?.id).toBe(first!.id);
  });

  it('release the leases of an earlier run at start, but not those of other commands', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    capture(s, 1);
    capture(s, 2);
    s.queue.claim(endpoint.id, 'run:old', NOW + 10, LEASE, 1, false);
    s.queue.claim(endpoint.id, 'cli:123', NOW + 10, LEASE, 1, false);
    expect(s.queue.releaseOrphanedLeases('run:', 'run:new')).toBe(1);
    expect(s.queue.claim(endpoint.id, 'run:new', NOW + 10, LEASE, 10, false).map((c) => c.body.toString())).toEqual(['{"n":1}']);
  });

  it('give back leases at start and stop by reading the leased deliveries only, not the whole outbox', () => {
    const s = store();
    // The same SQL the queue prepared, asked for its plan.
    const statements = (s.queue as unknown as { s: Record<'releaseOrphans' | 'release', { source: string }> }).s;
    const plan = (source: string, ...params: string[]) =>
      (s.db.prepare(`EXPLAIN QUERY PLAN ${source}`).all(...params) as { detail: string }[]).map((row) => row.detail).join('\n');
    expect(plan(statements.releaseOrphans.source, 'run:%', 'run:new')).toMatch(/USING INDEX deliveries_leased/);
    expect(plan(statements.release.source, 'run:old')).toMatch(/USING INDEX deliveries_leased/);
  });

  it('never hand the same delivery to two connections claiming at once', () => {
    const file = join(tempDir(), 'shared.db');
    const a = store(file);
    const b = store(file);
    const endpoint = addEndpoint(a);
    for (let n = 1; n <= 200; n++) capture(a, n);
    const seen: string[] = [];
    for (let round = 0; round < 60; round++) {
      seen.push(...a.queue.claim(endpoint.id, 'run:a', NOW + 1000, LEASE, 2, false).map((c) => c.id));
      seen.push(...b.queue.claim(endpoint.id, 'run:b', NOW + 1000, LEASE, 3, false).map((c) => c.id));
    }
    expect(seen).toHaveLength(200);
    expect(new Set(seen).size).toBe(200);
  });

  it('keep to their indexes once SQLite has statistics (an ANALYZE or PRAGMA optimize)', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    s.db.transaction(() => {
      for (let n = 1; n <= 300; n++) capture(s, n);
    })();
    s.db.exec('ANALYZE');
    // The loop's queries name their index (INDEXED BY): SQLite refuses such a query rather
    // than scan the table, so these would throw if the index could not serve them.
    expect(s.queue.claim(endpoint.id, 'run:a', NOW + 1000, LEASE, 2, false).map((c) => c.body.toString())).toEqual(['{"n":1}', '{"n":2}']);
    expect(s.queue.claim(endpoint.id, 'run:a', NOW + 1000, LEASE, 1, true)).toEqual([]);
    expect(s.queue.nextDueAt(endpoint.id, false)).toBe(NOW + 3);
    expect(s.queue.nextDueAt(endpoint.id, true)).toBeNull();
  });

  it('in strict order take only the oldest queued delivery, and only when due', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    capture(s, 1);
    capture(s, 2);
    const [head] = s.queue.claim(endpoint.id, 'run:a', NOW + 10, LEASE, 1, true);
    expect(head?.body.toString()).toBe('{"n":1}');
    s.queue.settle(
      head!,
      'run:a',
      attempt('answered', 500),
      { status: 'queued', nextAttemptAt: NOW + 10_000, usesAttempt: true, reason: 'HTTP 500' },
      NOW + 20,
    );
    expect(s.queue.claim(endpoint.id, 'run:a', NOW + 30, LEASE, 1, true)).toEqual([]);
    expect(s.queue.claim(endpoint.id, 'run:a', NOW + 10_000, LEASE, 1, true)[0]?.body.toString()).toBe('{"n":1}');
  });
});

describe('settle', () => {
  function claimed(s: Store) {
    const endpoint = addEndpoint(s);
    capture(s, 1);
    const [claim] = s.queue.claim(endpoint.id, 'run:a', NOW + 10, LEASE, 1, false);
    return { endpoint, claim: claim! };
  }

  it('records the attempt and the decision together', () => {
    const s = store();
    const { claim } = claimed(s);
    const decision: Decision = {
      status: 'queued',
      nextAttemptAt: NOW + 10_000,
      usesAttempt: true,
      reason: 'HTTP 500 from the endpoint; retry 1 of 3 in 10 s',
    };
    s.queue.settle(claim, 'run:a', attempt('answered', 500), decision, NOW + 20);
    const view = s.views.get(claim.id)!;
    expect(view).toMatchObject({ status: 'queued', attemptsUsed: 1, nextAttemptAt: NOW + 10_000, lastError: decision.reason });
    expect(view.attempts).toEqual([{ ...attempt('answered', 500), reason: decision.reason }]);
  });

  it('holds the whole endpoint when it cannot be reached, and resumes it in order', () => {
    const s = store();
    const { endpoint, claim } = claimed(s);
    capture(s, 2);
    s.queue.settle(claim, 'run:a', attempt('unreachable', null), { status: 'waiting', reason: 'offline' }, NOW + 20);
    expect(s.views.counts()).toMatchObject({ waiting: 2, queued: 0 });
    expect(s.views.get(claim.id)?.attemptsUsed).toBe(0);
    expect(s.endpoints.get(endpoint.id)?.unreachableSince).toBe(NOW + 20);
    expect(s.queue.resumeEndpoint(endpoint.id, NOW + 30)).toBe(2);
    expect(s.endpoints.get(endpoint.id)?.unreachableSince).toBeNull();
    expect(s.queue.claim(endpoint.id, 'run:a', NOW + 30, LEASE, 5, false).map((c) => c.body.toString())).toEqual(['{"n":1}', '{"n":2}']);
  });

  it('an attempt that comes back for a retry after its endpoint was held waits with the endpoint', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    capture(s, 1);
    capture(s, 2);
    const [lost, cut] = s.queue.claim(endpoint.id, 'run:a', NOW + 10, LEASE, 2, false);
    s.queue.settle(lost!, 'run:a', attempt('unreachable', null), { status: 'waiting', reason: 'offline' }, NOW + 20);
    // The other was in flight meanwhile, and its connection was cut: a retry in 10 s.
    const retry: Decision = { status: 'queued', nextAttemptAt: NOW + 10_030, usesAttempt: true, reason: 'no answer; retry 1 of 3 in 10 s' };
    s.queue.settle(cut!, 'run:a', attempt('no-response', null), retry, NOW + 30);
    expect(s.views.counts()).toMatchObject({ waiting: 2, queued: 0 });
    expect(s.views.get(cut!.id)).toMatchObject({ status: 'waiting', attemptsUsed: 1 });
    // Back before its retry was due: it still waits its 10 s.
    s.queue.resumeEndpoint(endpoint.id, NOW + 40);
    expect(s.queue.claim(endpoint.id, 'run:a', NOW + 40, LEASE, 5, false).map((c) => c.id)).toEqual([lost!.id]);
  });

  it('disables the endpoint on 410', () => {
    const s = store();
    const { endpoint, claim } = claimed(s);
    s.queue.settle(
      claim,
      'run:a',
      attempt('answered', 410),
      { status: 'failed', reason: 'HTTP 410 Gone', disableEndpoint: true, usesAttempt: true, recoverAt: null },
      NOW + 20,
    );
    expect(s.endpoints.get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: 'HTTP 410 Gone' });
    expect(capture(s, 2).deliveries).toBe(0);
  });

  it('does not overwrite a delivery whose lease was taken over, but keeps the attempt', () => {
    const s = store();
    const { endpoint, claim } = claimed(s);
    s.queue.claim(endpoint.id, 'run:b', NOW + 10 + LEASE, LEASE, 1, false);
    s.queue.settle(claim, 'run:a', attempt(), { status: 'delivered', reason: 'delivered: HTTP 200' }, NOW + LEASE + 20);
    expect(s.views.get(claim.id)).toMatchObject({ status: 'queued' });
    expect(s.views.attempts(claim.id)).toHaveLength(1);
  });
});

describe('operator actions and expiry', () => {
  it('retries a failed delivery with a fresh set of attempts, keeping its history', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    capture(s, 1);
    const [claim] = s.queue.claim(endpoint.id, 'run:a', NOW + 10, LEASE, 1, false);
    s.queue.settle(
      claim!,
      'run:a',
      attempt('answered', 500),
      { status: 'failed', reason: 'no retries left', disableEndpoint: false, usesAttempt: true, recoverAt: null },
      NOW + 20,
    );
    expect(s.queue.retry(claim!.id, NOW + 100)).toEqual({ ok: true });
    expect(s.views.get(claim!.id)).toMatchObject({ status: 'queued', attemptsUsed: 0 });
    expect(s.views.attempts(claim!.id)).toHaveLength(1);
    expect(s.queue.retry(claim!.id, NOW + 100)).toEqual({ ok: false, status: 'queued' });
    expect(s.queue.retry('msg_nope', NOW)).toEqual({ ok: false, status: null });
  });

  it('retries every failed delivery at once', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    for (let n = 1; n <= 3; n++) capture(s, n);
    for (const claim of s.queue.claim(endpoint.id, 'run:a', NOW + 10, LEASE, 3, false)) {
      s.queue.settle(
        claim,
        'run:a',
        attempt('answered', 500),
        { status: 'failed', reason: 'x', disableEndpoint: false, usesAttempt: true, recoverAt: null },
        NOW + 20,
      );
    }
    expect(s.queue.retryAllFailed(NOW + 30)).toBe(3);
    expect(s.views.counts()).toMatchObject({ queued: 3, failed: 0 });
  });

  it('expires waiting and queued deliveries older than the setting, and nothing else', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    capture(s, 1);
    capture(s, 2);
    const [claim] = s.queue.claim(endpoint.id, 'run:a', NOW + 10, LEASE, 1, false);
    s.queue.settle(claim!, 'run:a', attempt(), { status: 'delivered', reason: 'ok' }, NOW + 20);
    expect(s.queue.expireOverdue(NOW + WEEK, WEEK, 'expired')).toEqual([]);
    const expired = s.queue.expireOverdue(NOW + WEEK + 2, WEEK, 'expired: the endpoint could not be reached for 7 days');
    expect(expired).toHaveLength(1);
    expect(s.views.get(expired[0]!)).toMatchObject({
      status: 'failed',
      lastError: 'expired: the endpoint could not be reached for 7 days',
    });
    expect(s.views.counts()).toMatchObject({ delivered: 1, failed: 1 });
  });
});

describe('automatic recovery', () => {
  const MAX_RETRIES = 3;
  const MAX_WAIT = 12 * 3_600_000;

  /** n deliveries to one endpoint, each failed after its attempts with its own next automatic retry. */
  function failedWith(s: Store, recoverAts: (number | null)[], endpoint = addEndpoint(s)) {
    recoverAts.forEach((_, i) => capture(s, i + 1));
    const claims = s.queue.claim(endpoint.id, 'run:a', NOW + 10, LEASE, recoverAts.length, false);
    claims.forEach((claim, i) => {
      s.queue.settle(
        claim,
        'run:a',
        attempt('answered', 503),
        {
          status: 'failed',
          reason: 'HTTP 503; next automatic retry',
          disableEndpoint: false,
          usesAttempt: true,
          recoverAt: recoverAts[i]!,
        },
        NOW + 20,
      );
    });
    return { endpoint, ids: claims.map((claim) => claim.id) };
  }

  const row = (s: Store, id: string) =>
    s.db
      .prepare('SELECT status, attempts_used, recoveries, recover_at, queued_at, next_attempt_at FROM deliveries WHERE id = ?')
      .get(id) as Record<string, unknown>;

  it('puts back only the failed deliveries whose time has come, for one attempt each, keeping their expiry', () => {
    const s = store();
    const { endpoint, ids } = failedWith(s, [NOW + 1000, NOW + 5000, null]);
    expect(s.queue.nextRecoverAt()).toBe(NOW + 1000);
    expect(s.queue.recoverDue(NOW + 999, MAX_RETRIES, MAX_WAIT)).toEqual([]);
    expect(s.queue.recoverDue(NOW + 1000, MAX_RETRIES, MAX_WAIT)).toEqual([{ id: ids[0], status: 'queued', recoveries: 1 }]);
    expect(row(s, ids[0]!)).toEqual({
      status: 'queued',
      attempts_used: MAX_RETRIES,
      recoveries: 1,
      recover_at: null,
      queued_at: NOW + 1,
      next_attempt_at: NOW + 1000,
    });
    expect(s.views.get(ids[1]!)).toMatchObject({ status: 'failed', recoverAt: NOW + 5000 });
    expect(s.views.get(ids[2]!)).toMatchObject({ status: 'failed', recoverAt: null });
    expect(s.queue.nextRecoverAt()).toBe(NOW + 5000);
    const [claim] = s.queue.claim(endpoint.id, 'run:a', NOW + 1000, LEASE, 5, false);
    expect(claim).toMatchObject({ id: ids[0], attemptsUsed: MAX_RETRIES, recoveries: 1, queuedAt: NOW + 1 });
    expect(s.views.counts()).toMatchObject({ queued: 1, failed: 2 });
  });

  it('waits with an endpoint that cannot be reached', () => {
    const s = store();
    const { endpoint, ids } = failedWith(s, [NOW + 1000]);
    capture(s, 9);
    const [other] = s.queue.claim(endpoint.id, 'run:a', NOW + 30, LEASE, 1, false);
    s.queue.settle(other!, 'run:a', attempt('unreachable', null), { status: 'waiting', reason: 'offline' }, NOW + 40);
    expect(s.queue.recoverDue(NOW + 1000, MAX_RETRIES, MAX_WAIT)).toEqual([{ id: ids[0], status: 'waiting', recoveries: 1 }]);
    expect(s.queue.resumeEndpoint(endpoint.id, NOW + 2000)).toBe(2);
    expect(s.views.get(ids[0]!)).toMatchObject({ status: 'queued' });
  });

  it('counts a time set before the clock jumped back as come', () => {
    const s = store();
    const { ids } = failedWith(s, [NOW + 1000]);
    expect(s.queue.recoverDue(NOW - 3 * 3_600_000, MAX_RETRIES, 30 * 60_000)).toEqual([{ id: ids[0], status: 'queued', recoveries: 1 }]);
  });

  it('drops the automatic retries of an endpoint that turned them off since', () => {
    const s = store();
    const { endpoint, ids } = failedWith(s, [NOW + 1000, NOW + 5000]);
    s.endpoints.update(endpoint.id, { autoRecover: 'off' });
    expect(s.views.get(ids[1]!)?.recoverAt).toBeNull();
    expect(s.queue.recoverDue(NOW + 1000, MAX_RETRIES, MAX_WAIT)).toEqual([]);
    expect(row(s, ids[0]!)).toMatchObject({ status: 'failed', recover_at: null });
    expect(s.queue.nextRecoverAt()).toBe(NOW + 5000);
  });

  it('starts again from the first step after a manual retry or a replay, and remembers the step otherwise', () => {
    const s = store();
    const { endpoint, ids } = failedWith(s, [NOW + 1000, NOW + 1000]);
    s.queue.recoverDue(NOW + 1000, MAX_RETRIES, MAX_WAIT);
    const claims = s.queue.claim(endpoint.id, 'run:a', NOW + 1000, LEASE, 2, false);
    for (const claim of claims) {
      s.queue.settle(
        claim,
        'run:a',
        attempt('answered', 503),
        { status: 'failed', reason: 'automatic retry 1 failed', disableEndpoint: false, usesAttempt: true, recoverAt: NOW + 9000 },
        NOW + 1100,
      );
    }
    expect(row(s, ids[0]!)).toMatchObject({ status: 'failed', recoveries: 1, recover_at: NOW + 9000, attempts_used: MAX_RETRIES + 1 });
    expect(s.queue.retry(ids[0]!, NOW + 2000)).toEqual({ ok: true });
    expect(row(s, ids[0]!)).toMatchObject({ status: 'queued', recoveries: 0, recover_at: null, attempts_used: 0, queued_at: NOW + 2000 });
    expect(s.queue.retryAllFailed(NOW + 3000)).toBe(1);
    expect(row(s, ids[1]!)).toMatchObject({ status: 'queued', recoveries: 0, recover_at: null, attempts_used: 0 });
    expect(s.queue.nextRecoverAt()).toBeNull();
  });

  it('a delivered delivery sent again by a replay starts with no automatic retries', async () => {
    const s = store();
    const { endpoint, ids } = failedWith(s, [NOW + 1000]);
    s.queue.recoverDue(NOW + 1000, MAX_RETRIES, MAX_WAIT);
    const [claim] = s.queue.claim(endpoint.id, 'run:a', NOW + 1000, LEASE, 1, false);
    s.queue.settle(claim!, 'run:a', attempt(), { status: 'delivered', reason: 'ok' }, NOW + 1100);
    const replayed = await s.queue.replay(
      endpoint.id,
      { since: null, until: null, types: null, organiserEventId: null },
      null,
      true,
      NOW + 2000,
    );
    expect(replayed?.resent).toBe(1);
    expect(row(s, ids[0]!)).toMatchObject({ status: 'queued', recoveries: 0, recover_at: null, attempts_used: 0 });
  });

  it('finds what is due from its index once SQLite has statistics', () => {
    const s = store();
    const { ids } = failedWith(s, [NOW + 1000, NOW + 2000]);
    s.db.exec('ANALYZE');
    expect(s.queue.nextRecoverAt()).toBe(NOW + 1000);
    expect(s.queue.recoverDue(NOW + 2000, MAX_RETRIES, MAX_WAIT).map((r) => r.id)).toEqual(ids);
  });
});

describe('dayStats', () => {
  it("sorts the deliveries of each hour's events by how they went", () => {
    const s = store();
    const endpoint = addEndpoint(s);
    const at = (hoursAgo: number) => NOW - hoursAgo * 3_600_000;
    const captureAt = (when: number) =>
      s.queue.capture({ type: 'session', body: Buffer.from('{}'), dedupeKey: null, occurredAt: '', sessionId: 'x' }, when, WEEK);
    const settleNext = (decision: Decision, outcome: AttemptRecord['outcome'] = 'answered') => {
      const [claim] = s.queue.claim(endpoint.id, 'run:a', NOW + 10 * 3_600_000, LEASE, 1, false);
      s.queue.settle(claim!, 'run:a', attempt(outcome), decision, NOW);
    };
    captureAt(at(0.5));
    settleNext({ status: 'delivered', reason: 'ok' });
    captureAt(at(1.5));
    settleNext({ status: 'queued', nextAttemptAt: 0, usesAttempt: true, reason: 'HTTP 500' });
    settleNext({ status: 'delivered', reason: 'ok' });
    captureAt(at(2.5));
    settleNext({ status: 'failed', reason: 'no retries left', disableEndpoint: false, usesAttempt: true, recoverAt: null });
    captureAt(at(3.5));
    settleNext({ status: 'waiting', reason: 'offline' }, 'unreachable');
    captureAt(at(3.2));
    s.queue.resumeEndpoint(endpoint.id, NOW);
    settleNext({ status: 'delivered', reason: 'ok' });
    captureAt(at(30));
    const hours = s.views.dayStats(NOW);
    expect(hours).toHaveLength(24);
    expect(hours[23]).toMatchObject({ from: NOW - 3_600_000, delivered: 1, retried: 0, failed: 0, waiting: 0 });
    expect(hours[22]).toMatchObject({ delivered: 0, retried: 1 });
    expect(hours[21]).toMatchObject({ failed: 1 });
    expect(hours[20]).toMatchObject({ waiting: 2, delivered: 0 });
    expect(hours.slice(0, 20).every((h) => h.delivered + h.retried + h.failed + h.waiting === 0)).toBe(true);
  });
});

describe('the clock jumping', () => {
  it('backwards by hours does not hold a scheduled retry or a lease for those hours', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    capture(s, 1);
    capture(s, 2);
    const [first] = s.queue.claim(endpoint.id, 'run:a', NOW + 10, LEASE, 1, false, 3_600_000);
    s.queue.settle(
      first!,
      'run:a',
      attempt('answered', 500),
      { status: 'queued', nextAttemptAt: NOW + 10_000, usesAttempt: true, reason: 'HTTP 500' },
      NOW + 20,
    );
    const [second] = s.queue.claim(endpoint.id, 'run:dead', NOW + 30, LEASE, 1, false, 3_600_000);
    expect(second).toBeDefined();
    const jumpedBack = NOW - 3 * 3_600_000;
    const claimed = s.queue.claim(endpoint.id, 'run:b', jumpedBack, LEASE, 5, false, 3_600_000).map((c) => c.id);
    expect(claimed.sort()).toEqual([first!.id, second!.id].sort());
  });

  it('forwards: a retry scheduled earlier is simply due', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    capture(s, 1);
    const [claim] = s.queue.claim(endpoint.id, 'run:a', NOW + 10, LEASE, 1, false, 3_600_000);
    s.queue.settle(
      claim!,
      'run:a',
      attempt('answered', 500),
      { status: 'queued', nextAttemptAt: NOW + 10_000, usesAttempt: true, reason: 'HTTP 500' },
      NOW + 20,
    );
    expect(s.queue.claim(endpoint.id, 'run:a', NOW + 5 * 3_600_000, LEASE, 1, false, 3_600_000)).toHaveLength(1);
  });

  it('a wait within the schedule is still respected', () => {
    const s = store();
    const endpoint = addEndpoint(s);
    capture(s, 1);
    const [claim] = s.queue.claim(endpoint.id, 'run:a', NOW + 10, LEASE, 1, false, 3_600_000);
    s.queue.settle(
      claim!,
      'run:a',
      attempt('answered', 429),
      { status: 'queued', nextAttemptAt: NOW + 1_800_000, usesAttempt: false, reason: 'Retry-After' },
      NOW + 20,
    );
    expect(s.queue.claim(endpoint.id, 'run:a', NOW + 60_000, LEASE, 1, false, 3_600_000)).toHaveLength(0);
  });
});

describe('attemptStarts: what an endpoint rate counts', () => {
  it('reads the last minute from attempts in the order they were recorded, then reads on from there', () => {
    const s = store();
    const a = addEndpoint(s, null, 'https://a.example/hook');
    const b = addEndpoint(s, null, 'https://b.example/hook');
    for (let n = 1; n <= 10; n++) capture(s, n);
    const claims = {
      [a.id]: s.queue.claim(a.id, 'run:a', NOW + 100, LEASE, 10, false),
      [b.id]: s.queue.claim(b.id, 'run:a', NOW + 100, LEASE, 10, false),
    };
    const record = (endpointId: string, startedAt: number, durationMs = 100) => {
      const claim = claims[endpointId]!.shift()!;
      s.queue.settle(
        claim,
        'run:a',
        { ...attempt(), startedAt, durationMs },
        { status: 'delivered', reason: 'ok' },
        startedAt + durationMs,
      );
      return { delivery: claim.seq, startedAt };
    };
    const now = NOW + 600_000;
    record(a.id, now - 300_000);
    record(a.id, now - 200_000);
    record(a.id, now - 70_000);
    // Recorded a little late, after one of another endpoint that ended before the minute:
    // walking back must not stop at the first attempt that ended before the minute.
    const late = record(a.id, now - 59_500);
    record(b.id, now - 62_000, 1000);
    const recent = [record(a.id, now - 50_000), record(a.id, now - 58_000, 15_000)];
    record(b.id, now - 40_000);
    const last = record(a.id, now - 5_000);

    const read = s.queue.attemptStarts(a.id, null, now);
    expect(read.starts).toEqual([late, ...recent, last]);
    expect(read.lastId).toBe(9);
    expect(s.queue.attemptStarts(b.id, null, now).starts.map((start) => start.startedAt)).toEqual([now - 40_000]);

    expect(s.queue.attemptStarts(a.id, read.lastId, now).starts).toEqual([]);
    const next = record(a.id, now + 1000);
    expect(s.queue.attemptStarts(a.id, read.lastId, now + 1000)).toEqual({ lastId: 10, starts: [next] });
  });

  it('reads the starts of attempts not recorded yet afresh, each once, forgotten once recorded or a minute old', () => {
    const s = store();
    const a = addEndpoint(s, null, 'https://a.example/hook');
    const b = addEndpoint(s, null, 'https://b.example/hook');
    for (let n = 1; n <= 3; n++) capture(s, n);
    const [first, second] = s.queue.claim(a.id, 'run:a', NOW + 100, LEASE, 10, false);
    const [other] = s.queue.claim(b.id, 'run:a', NOW + 100, LEASE, 10, false);
    const now = NOW + 600_000;
    // A start is written on its own, never inside another transaction whose commit would decide when it is synced.
    expect(() => s.db.transaction(() => s.queue.recordStart(first!.seq, now - 70_000))()).toThrow(/on its own/);
    s.queue.recordStart(first!.seq, now - 70_000);
    s.queue.recordStart(second!.seq, now - 30_000);
    s.queue.recordStart(other!.seq, now - 20_000);
    const unrecorded = { delivery: second!.seq, startedAt: now - 30_000 };
    expect(s.queue.attemptStarts(a.id, null, now)).toEqual({ lastId: 0, starts: [unrecorded] });
    expect(s.queue.attemptStarts(b.id, null, now).starts).toEqual([{ delivery: other!.seq, startedAt: now - 20_000 }]);
    // Reading on reads attempts recorded since: a start not recorded was read already.
    expect(s.queue.attemptStarts(a.id, 0, now).starts).toEqual([]);

    s.queue.settle(second!, 'run:a', { ...attempt(), startedAt: now - 30_000 }, { status: 'delivered', reason: 'ok' }, now - 29_000);
    expect(s.queue.attemptStarts(a.id, null, now)).toEqual({ lastId: 1, starts: [unrecorded] });
    expect(s.queue.attemptStarts(a.id, 0, now)).toEqual({ lastId: 1, starts: [unrecorded] });
    // The next start forgets those whose minute is over: the first, never recorded (cut short).
    s.queue.recordStart(other!.seq, now);
    expect(s.db.prepare('SELECT delivery_seq, started_at FROM attempt_starts ORDER BY started_at').raw().all()).toEqual([
      [other!.seq, now - 20_000],
      [other!.seq, now],
    ]);
  });

  it('an outbox without attempts reads nothing', () => {
    const s = store();
    const a = addEndpoint(s);
    expect(s.queue.attemptStarts(a.id, null, NOW)).toEqual({ lastId: 0, starts: [] });
  });
});
