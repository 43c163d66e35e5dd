import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit, DECREASE, INITIAL_LIMIT, limitSignal, type LimitSignal } from '../../src/core/concurrency-limit.js';
import { decide, type AttemptOutcome } from '../../src/core/policy.js';
import { DEFAULT_SETTINGS } from '../../src/core/settings.js';

/** One attempt started and answered at once, with the limit fully in use. */
function answer(limit: ConcurrencyLimit, signal: LimitSignal, latencyMs = 100): void {
  limit.observe(limit.start(), signal, latencyMs, limit.limit);
}

describe('the concurrency limit (CUBIC, counted in answers)', () => {
  it('starts at 4 and, before any overload, grows by one per delivered answer (doubling each round trip)', () => {
    const limit = new ConcurrencyLimit(32);
    expect(limit.limit).toBe(INITIAL_LIMIT);
    for (let n = 1; n <= 10; n++) {
      answer(limit, 'ok');
      expect(limit.limit).toBe(INITIAL_LIMIT + n);
    }
  });

  it('leaves slow start, level, once a round trip is answered markedly slower at its fastest', () => {
    const flat = new ConcurrencyLimit(64);
    const slowing = new ConcurrencyLimit(64);
    for (let n = 0; n < 8; n++) {
      answer(flat, 'ok', 100);
      answer(slowing, 'ok', 100);
    }
    for (let n = 0; n < 20; n++) {
      answer(flat, 'ok', 100);
      answer(slowing, 'ok', 160);
    }
    expect(flat.limit).toBe(INITIAL_LIMIT + 28);
    // Four answers tell, the fourth at 160 ms ends slow start: one more each until then, barely any after.
    expect(slowing.limit).toBe(INITIAL_LIMIT + 8 + 3);
  });

  it('never passes the ceiling, and a lower ceiling applies at once', () => {
    const limit = new ConcurrencyLimit(8);
    for (let n = 0; n < 50; n++) answer(limit, 'ok');
    expect(limit.limit).toBe(8);
    limit.setCeiling(5);
    expect(limit.limit).toBe(5);
    limit.setCeiling(64);
    expect(limit.limit).toBe(5);
  });

  it('an overload cuts it to 0.7; those sent before the cut count once, one sent after it cuts again', () => {
    const limit = new ConcurrencyLimit(64);
    for (let n = 0; n < 16; n++) answer(limit, 'ok');
    expect(limit.limit).toBe(20);
    const before = Array.from({ length: 20 }, () => limit.start());
    limit.observe(before[0]!, 'overload', 5, 20);
    expect(limit.limit).toBe(Math.floor(20 * DECREASE));
    for (const mark of before.slice(1)) limit.observe(mark, 'overload', 5, 20);
    expect(limit.limit).toBe(14);
    limit.observe(limit.start(), 'overload', 5, 14);
    expect(limit.limit).toBe(Math.floor(14 * DECREASE));
  });

  it('never drops below one', () => {
    const limit = new ConcurrencyLimit(32);
    for (let n = 0; n < 30; n++) answer(limit, 'overload');
    expect(limit.limit).toBe(1);
    answer(limit, 'overload');
    expect(limit.limit).toBe(1);
  });

  it('answers that say nothing about capacity (a 400, a 500, unreachable) change nothing', () => {
    const limit = new ConcurrencyLimit(32);
    for (let n = 0; n < 20; n++) answer(limit, 'neutral');
    expect(limit.limit).toBe(INITIAL_LIMIT);
  });

  it('does not grow on answers while fewer than half the allowed are out (a trickle of live captures)', () => {
    const limit = new ConcurrencyLimit(32);
    for (let n = 0; n < 50; n++) limit.observe(limit.start(), 'ok', 100, 1);
    expect(limit.limit).toBe(INITIAL_LIMIT);
  });

  it('comes down when a round trip is answered markedly slower than the best recent one', () => {
    const limit = new ConcurrencyLimit(64);
    for (let n = 0; n < 16; n++) answer(limit, 'ok', 200);
    const fast = limit.limit;
    // The receiver starts queueing: answers take twice as long, and the limit stops growing and comes down.
    for (let n = 0; n < 16; n++) answer(limit, 'ok', 400);
    expect(limit.limit).toBeLessThan(fast + 16);
    expect(limit.limit).toBeLessThanOrEqual(Math.floor((fast + 15) * DECREASE));
  });

  it('holds while rounds come back somewhat slower (1.2 to 1.5 times), and comes down if that lasts', () => {
    const limit = new ConcurrencyLimit(64);
    for (let n = 0; n < 16; n++) answer(limit, 'ok', 200);
    // The first slow round is only known as slow once it ends: growth stops from there.
    for (let n = 0; n < 16; n++) answer(limit, 'ok', 260);
    const held = limit.limit;
    for (let n = 0; n < 6 * 16; n++) {
      answer(limit, 'ok', 260);
      expect(limit.limit).toBe(held);
    }
    for (let n = 0; n < 16; n++) answer(limit, 'ok', 260);
    expect(limit.limit).toBe(Math.floor(held * DECREASE));
  });

  it('a receiver that got lastingly slower costs one cut: its new pace becomes the measure, and the limit grows back', () => {
    const limit = new ConcurrencyLimit(32);
    for (let n = 0; n < 500; n++) answer(limit, 'ok', 200);
    expect(limit.limit).toBe(32);
    const seen: number[] = [];
    for (let n = 0; n < 1000; n++) {
      answer(limit, 'ok', 800);
      seen.push(limit.limit);
    }
    expect(Math.min(...seen)).toBe(Math.floor(32 * DECREASE));
    expect(seen.at(-1)).toBe(32);
  });

  it('takes no jitter for queueing: answers varying from 0.5 to 1.5 s never cut it', () => {
    const limit = new ConcurrencyLimit(32);
    const random = lcg(7);
    let lowest = Infinity;
    for (let n = 0; n < 2000; n++) {
      answer(limit, 'ok', 500 + 1000 * random());
      if (n > 100) lowest = Math.min(lowest, limit.limit);
    }
    expect(lowest).toBe(32);
  });

  it('resumes at a limit found before a restart, within the ceiling, and probes past it from there', () => {
    expect(new ConcurrencyLimit(32, 12).limit).toBe(12);
    expect(new ConcurrencyLimit(8, 12).limit).toBe(8);
    expect(new ConcurrencyLimit(32, 0).limit).toBe(1);
    const limit = new ConcurrencyLimit(32, 12);
    // Level near where it stood for a while, as past a peak, rather than a slow start's doubling.
    for (let n = 0; n < 12; n++) answer(limit, 'ok');
    expect(limit.limit).toBe(12);
    for (let n = 0; n < 200; n++) answer(limit, 'ok');
    expect(limit.limit).toBe(32);
  });
});

describe('what an attempt says about capacity', () => {
  const answered = (status: number, retryAfter: string | null = null): AttemptOutcome => ({
    kind: 'answered',
    status,
    location: null,
    retryAfter,
  });
  const signal = (outcome: AttemptOutcome, url = 'https://hooks.example.com/a') =>
    limitSignal(
      outcome,
      decide(outcome, { attemptsUsed: 0, queuedAt: 0, recoveries: 0 }, 1000, { url, autoRecover: 'on' }, DEFAULT_SETTINGS),
    );

  it.each([
    [answered(200), 'ok'],
    [answered(204), 'ok'],
    [answered(429, '1'), 'overload'],
    [answered(429), 'overload'],
    [answered(503, '30'), 'overload'],
    [{ kind: 'no-response', error: 'no answer within 15 s' } as const, 'overload'],
    [answered(400), 'neutral'],
    [answered(500), 'neutral'],
    [answered(410), 'neutral'],
    [answered(302), 'neutral'],
    [{ kind: 'unreachable', error: 'connection refused' } as const, 'neutral'],
  ])('%j is %s', (outcome, expected) => {
    expect(signal(outcome)).toBe(expected);
  });

  it("Apps Script's 302 to script.googleusercontent.com is delivered, so ok", () => {
    const outcome: AttemptOutcome = {
      kind: 'answered',
      status: 302,
      location: 'https://script.googleusercontent.com/macros/echo?x=1',
      retryAfter: null,
    };
    expect(signal(outcome, 'https://script.google.com/macros/s/abc/exec')).toBe('ok');
  });
});

/** A deterministic pseudo-random sequence in [0, 1). */
function lcg(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
}

interface Receiver {
  /** Takes this many at once; past it, refuses at once with 429 (unless `queues`). */
  capacity: (answered: number) => number;
  latencyMs: number;
  /** Takes everything and queues past its capacity: each answer slows in proportion. */
  queues?: boolean;
}

/**
 * A backlog drained through the limit to a simulated receiver, in simulated time: each
 * delivery waits its turn, a refused one comes back after Retry-After (1 s), and the
 * limit hears every answer as the delivery loop would tell it.
 */
function drain(receiver: Receiver, backlog: number, ceiling = 64) {
  const limit = new ConcurrencyLimit(ceiling);
  const random = lcg(1);
  const events: { at: number; run: () => void }[] = [];
  const at = (time: number, run: () => void) => {
    events.push({ at: time, run });
    events.sort((a, b) => a.at - b.at);
  };
  let now = 0;
  let due = backlog;
  let inFlight = 0;
  let busy = 0;
  let requests = 0;
  let refused = 0;
  let delivered = 0;
  let mostBusy = 0;
  const limits: number[] = [];
  const launch = () => {
    while (inFlight < limit.limit && due > 0) {
      due--;
      inFlight++;
      const mark = limit.start();
      const sent = now;
      const reply = (ok: boolean, afterMs: number) =>
        at(now + afterMs, () => {
          limit.observe(mark, ok ? 'ok' : 'overload', now - sent, inFlight);
          inFlight--;
          if (ok) delivered++;
          else {
            at(now + 1000, () => {
              due++;
              launch();
            });
          }
          limits.push(limit.limit);
          launch();
        });
      requests++;
      const capacity = receiver.capacity(delivered);
      if (!receiver.queues && busy >= capacity) {
        refused++;
        reply(false, 2);
        continue;
      }
      busy++;
      mostBusy = Math.max(mostBusy, busy);
      const latency = receiver.latencyMs * Math.max(1, receiver.queues ? busy / capacity : 1) * (0.95 + 0.1 * random());
      at(now + latency, () => busy--);
      reply(true, latency);
    }
  };
  launch();
  while (events.length > 0) {
    const next = events.shift()!;
    now = next.at;
    next.run();
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return { seconds: now / 1000, refusedShare: refused / requests, mostBusy, limits, meanLimit: mean(limits.slice(limits.length / 10)) };
}

describe('a drain against simulated receivers', () => {
  it.each([4, 16, 40])(
    'a receiver that takes %i at once and refuses the rest: at least 0.8 of its pace, at most 5 % refused',
    (capacity) => {
      const latencyMs = 200;
      const backlog = 3000;
      const result = drain({ capacity: () => capacity, latencyMs }, backlog);
      const physical = (backlog * latencyMs) / capacity / 1000;
      expect(physical / result.seconds).toBeGreaterThanOrEqual(0.8);
      expect(result.refusedShare).toBeLessThanOrEqual(0.05);
      expect(result.meanLimit).toBeGreaterThan(0.7 * capacity);
      expect(result.meanLimit).toBeLessThanOrEqual(capacity + 1);
    },
  );

  it('the same receiver answering in 1 s: the same figures, since the law counts round trips, not seconds', () => {
    const result = drain({ capacity: () => 16, latencyMs: 1000 }, 2000);
    expect((2000 * 1000) / 16 / 1000 / result.seconds).toBeGreaterThanOrEqual(0.8);
    expect(result.refusedShare).toBeLessThanOrEqual(0.05);
  });

  it('a receiver that grows from 8 to 32 half-way: the limit follows it up', () => {
    const result = drain({ capacity: (answered) => (answered < 1500 ? 8 : 32), latencyMs: 200 }, 3000);
    expect(result.mostBusy).toBe(32);
    expect(Math.max(...result.limits.slice(-500))).toBeGreaterThanOrEqual(30);
    expect(result.refusedShare).toBeLessThanOrEqual(0.05);
  });

  it('a receiver that queues past 16 rather than refusing: the slower answers keep the limit well under the ceiling', () => {
    const result = drain({ capacity: () => 16, latencyMs: 200, queues: true }, 3000, 64);
    expect(result.refusedShare).toBe(0);
    expect(result.meanLimit).toBeLessThan(32);
    expect(result.meanLimit).toBeGreaterThanOrEqual(16);
  });
});
