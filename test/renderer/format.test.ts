import { describe, expect, it } from 'vitest';
import { chosenTypes, clock, duration, endpointFacts, headline, relative, size, subscriptionWords } from '../../renderer/src/format.js';
import { BACKLOG_THRESHOLD, DrainTracker, UploadRates } from '../../renderer/src/progress.js';
import { sizeWords } from '../../src/core/media.js';
import type { EndpointView } from '../../src/server/admin-types.js';

const counts = (queued = 0, waiting = 0, delivered = 0, failed = 0) => ({ queued, waiting, delivered, failed });
const none = { count: 0, nextAt: null };

describe('headline', () => {
  const since = new Date(2026, 10, 27, 21, 4).getTime();
  it.each([
    [{ counts: counts(0, 0, 12, 0), heldSince: null, paused: false }, 'good', 'All delivered'],
    [
      { counts: counts(0, 0, 5, 2), recovering: { count: 2, nextAt: since }, heldSince: null, paused: false },
      'warn',
      '2 failed, retrying by themselves, next at 21:04',
    ],
    [
      { counts: counts(0, 0, 5, 3), recovering: { count: 2, nextAt: since }, heldSince: null, paused: false },
      'bad',
      '1 failed: needs you (2 more retrying by themselves)',
    ],
    [
      { counts: counts(2, 0, 5, 2), recovering: { count: 2, nextAt: since }, heldSince: null, paused: true },
      'warn',
      'Delivery paused: 2 held back',
    ],
    [{ counts: counts(0, 0, 0, 0), heldSince: null, paused: false }, 'good', 'All delivered'],
    [{ counts: counts(3, 0, 5, 0), heldSince: null, paused: false }, 'busy', 'Sending 3…'],
    [{ counts: counts(0, 7, 5, 0), heldSince: since, paused: false }, 'warn', '7 waiting for the network since 21:04'],
    [{ counts: counts(0, 7, 5, 2), heldSince: since, paused: false }, 'bad', '2 failed: needs you'],
    [{ counts: counts(4, 0, 5, 0), heldSince: null, paused: true }, 'warn', 'Delivery paused: 4 held back'],
    [{ counts: counts(0, 0, 5, 0), heldSince: null, paused: true }, 'warn', 'Delivery paused'],
    [{ counts: counts(4, 0, 5, 1), heldSince: null, paused: true }, 'bad', '1 failed: needs you'],
  ])('%j → %s %s', (state, tone, text) => {
    expect(headline({ recovering: none, ...state })).toEqual({ tone, text });
  });
});

describe('times in words', () => {
  const now = Date.parse('2026-11-27T20:00:00Z');
  it.each([
    [now - 3000, 'just now'],
    [now - 42_000, '42 s ago'],
    [now - 3 * 60_000, '3 min ago'],
    [now - 2 * 3_600_000, '2 h ago'],
    [now - 30 * 3_600_000, 'yesterday'],
    [now - 4 * 86_400_000, '4 days ago'],
    [now + 60_000, 'in the future'],
  ])('relative(%i)', (at, words) => {
    expect(relative(at, now)).toBe(words);
  });
  it.each([
    [850, '850 ms'],
    [42_000, '42 s'],
    [6 * 60_000, '6 min'],
    [200 * 60_000, '3 h 20 min'],
    [120 * 60_000, '2 h'],
  ])('duration(%i)', (ms, words) => {
    expect(duration(ms)).toBe(words);
  });
  it('clock is local HH:MM', () => {
    expect(clock(new Date(2026, 0, 2, 7, 5).getTime())).toBe('07:05');
  });
});

describe("an endpoint's types", () => {
  it('asks for no types (every booth payload, no alert) only for all four payloads without alerts', () => {
    expect(chosenTypes(['session', 'share', 'survey', 'competition_win'])).toBeNull();
    expect(chosenTypes(['session', 'share', 'survey', 'competition_win', 'agent.*'])).toEqual([
      'session',
      'share',
      'survey',
      'competition_win',
      'agent.*',
    ]);
    expect(chosenTypes(['agent.*'])).toEqual(['agent.*']);
    expect(chosenTypes(['share'])).toEqual(['share']);
    expect(chosenTypes([])).toEqual([]);
  });

  it.each([
    [null, 'all booth events'],
    [['share', 'survey'], 'Shares, Surveys'],
    [['share', 'agent.*'], 'Shares, Alerts'],
    [['agent.*'], 'Alerts only'],
    [['agent.heartbeat', 'agent.delivery_failed'], 'Alerts (agent.heartbeat, agent.delivery_failed) only'],
  ] as const)('%j in words: %s', (types, words) => {
    expect(subscriptionWords(types)).toBe(words);
  });
});

describe("an endpoint's options in words", () => {
  const plain: EndpointView = {
    id: 'ep_1',
    url: 'https://hooks.example.com/a',
    types: null,
    enabled: true,
    disabledReason: null,
    disabledAt: null,
    strictOrder: false,
    autoRecover: 'on',
    format: 'snappic',
    maxPerMinute: null,
    headerNames: [],
    inFlightLimit: null,
    hasCa: false,
    unreachableSince: null,
    clockSkewMs: null,
    rotationPending: false,
    previousSecretUntil: null,
    secretsLocked: false,
    createdAt: 0,
  };

  it('says nothing of the defaults', () => {
    expect(endpointFacts(plain)).toEqual([]);
  });

  it('names each choice that differs from them, never a header value', () => {
    expect(
      endpointFacts({
        ...plain,
        strictOrder: true,
        format: 'flat',
        maxPerMinute: 30,
        autoRecover: 'off',
        headerNames: ['X-Api-Key', 'X-Tenant'],
      }),
    ).toEqual(['one at a time', 'flat format', 'at most 30 a minute', 'no automatic retries', 'headers: X-Api-Key, X-Tenant']);
    expect(endpointFacts({ ...plain, inFlightLimit: 12 })).toEqual(['up to 12 at once']);
    expect(endpointFacts({ ...plain, inFlightLimit: 12, strictOrder: true })).toEqual(['one at a time']);
    expect(endpointFacts({ ...plain, format: 'chat', autoRecover: 'all' })).toEqual([
      'chat messages',
      'automatic retries, also after a refusal',
    ]);
  });
});

describe('DrainTracker', () => {
  it('shows nothing for a small queue', () => {
    expect(new DrainTracker().update(counts(BACKLOG_THRESHOLD - 1, 0, 0), 0)).toBeNull();
  });

  it('counts N of M sent, the rate and the time left, and ends when the queue is empty', () => {
    const drain = new DrainTracker();
    expect(drain.update(counts(1000, 0, 50), 0)).toEqual({ sent: 0, total: 1000, perSecond: null, remainingMs: null });
    const mid = drain.update(counts(800, 0, 250), 2000)!;
    expect(mid).toEqual({ sent: 200, total: 1000, perSecond: 100, remainingMs: 8000 });
    const later = drain.update(counts(300, 0, 750), 7000)!;
    expect(later.sent).toBe(700);
    expect(later.total).toBe(1000);
    expect(later.perSecond).toBe(100);
    expect(drain.update(counts(0, 0, 1050), 10_000)).toBeNull();
    expect(drain.update(counts(5, 0, 1050), 11_000)).toBeNull();
  });

  it("counts an outage's backlog from when it built up, and shows it once it is being sent", () => {
    const drain = new DrainTracker();
    expect(drain.update(counts(0, 30, 5), 0)).toBeNull();
    expect(drain.update(counts(29, 0, 6), 1000)).toMatchObject({ sent: 1, total: 30 });
  });

  it('takes events captured during the drain into the total', () => {
    const drain = new DrainTracker();
    drain.update(counts(100, 0, 0), 0);
    expect(drain.update(counts(100, 0, 50), 1000)).toMatchObject({ sent: 50, total: 150 });
  });
});

describe('size', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [8_388_608, '8.4 MB'],
    [17_000_000, '17 MB'],
    [999_999, '1.0 MB'],
    [1_300_000_000, '1.3 GB'],
    [1_234_567_890_123, '1.2 TB'],
  ])('%d bytes: %s, in the panel as in the CLI and the tray', (bytes, words) => {
    expect(size(bytes)).toBe(words);
    expect(sizeWords(bytes)).toBe(words);
  });
});

describe('UploadRates', () => {
  const MiB = 1024 * 1024;
  it('has no rate until a part has finished since the first reading, then the rate and the time left', () => {
    const rates = new UploadRates();
    const upload = (bytesDone: number) => [{ id: 'med_1', bytesDone, size: 24 * MiB }];
    expect(rates.update(upload(0), 0).get('med_1')).toEqual({ perSecond: null, remainingMs: null });
    expect(rates.update(upload(0), 1000).get('med_1')).toEqual({ perSecond: null, remainingMs: null });
    expect(rates.update(upload(8 * MiB), 4000).get('med_1')).toEqual({ perSecond: 2 * MiB, remainingMs: 8000 });
    expect(rates.update(upload(16 * MiB), 8000).get('med_1')).toEqual({ perSecond: 2 * MiB, remainingMs: 4000 });
  });

  it('forgets readings older than a minute, and an upload no longer under way', () => {
    const rates = new UploadRates();
    rates.update([{ id: 'med_1', bytesDone: 0, size: 100 }], 0);
    expect(rates.update([{ id: 'med_1', bytesDone: 50, size: 100 }], 70_000).get('med_1')).toEqual({ perSecond: null, remainingMs: null });
    expect(rates.update([], 71_000).size).toBe(0);
    // Begun again after a retry: the earlier readings are not held against it.
    expect(rates.update([{ id: 'med_1', bytesDone: 0, size: 100 }], 72_000).get('med_1')?.perSecond).toBeNull();
  });
});
