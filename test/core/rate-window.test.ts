import { describe, expect, it } from 'vitest';
import { RATE_WINDOW_MS, RateWindow } from '../../src/core/rate-window.js';

const T = 1_800_000_000_000;

describe('RateWindow: at most N starts in any 60 seconds', () => {
  it('has room for N starts, then none until the oldest is a minute old', () => {
    const window = new RateWindow();
    expect(window.room(3, T)).toBe(3);
    expect(window.freesAt(3, T)).toBe(T);
    window.started(1, T);
    window.started(2, T + 10_000);
    expect(window.room(3, T + 10_000)).toBe(1);
    window.started(3, T + 20_000);
    expect(window.room(3, T + 20_000)).toBe(0);
    expect(window.freesAt(3, T + 20_000)).toBe(T + RATE_WINDOW_MS);
    // A sliding minute: the first start counts until exactly 60 s after it, the others longer.
    expect(window.room(3, T + RATE_WINDOW_MS - 1)).toBe(0);
    expect(window.room(3, T + RATE_WINDOW_MS)).toBe(1);
    expect(window.freesAt(3, T + RATE_WINDOW_MS)).toBe(T + RATE_WINDOW_MS);
    expect(window.room(3, T + 80_000)).toBe(3);
  });

  it('counts an attempt once: started here, then read back from the outbox with its recorded start', () => {
    const window = new RateWindow();
    window.started(7, T);
    window.started(8, T + 5);
    expect(window.room(5, T + 100)).toBe(3);
    window.recorded(7, T + 2);
    window.recorded(8, T + 7);
    expect(window.room(5, T + 100)).toBe(3);
    // The recorded start is the one that counts from then on.
    expect(window.room(2, T + 2 + RATE_WINDOW_MS - 1)).toBe(0);
    expect(window.room(2, T + 2 + RATE_WINDOW_MS)).toBe(1);
  });

  it('counts a start the outbox gives twice once: read while in flight, then read back recorded', () => {
    const window = new RateWindow();
    window.recorded(7, T);
    window.recorded(8, T);
    window.recorded(7, T);
    window.recorded(7, T + 1);
    expect(window.room(5, T + 100)).toBe(2);
    window.forgetRecorded();
    window.recorded(7, T);
    expect(window.room(5, T + 100)).toBe(4);
  });

  it('counts attempts it never started: Send Test, an earlier run (seeded from the outbox)', () => {
    const window = new RateWindow();
    for (const [delivery, at] of [
      [40, T - 50_000],
      [41, T - 30_000],
      [42, T - 59_000],
    ] as const)
      window.recorded(delivery, at);
    expect(window.room(3, T)).toBe(0);
    // The oldest (read back out of order) leaves first.
    expect(window.freesAt(3, T)).toBe(T - 59_000 + RATE_WINDOW_MS);
    window.started(1, T + 5_000);
    expect(window.room(3, T + 5_000)).toBe(0);
    expect(window.freesAt(3, T + 5_000)).toBe(T - 50_000 + RATE_WINDOW_MS);
  });

  it('over a lowered limit: frees only once enough starts have left the minute', () => {
    const window = new RateWindow();
    for (let i = 0; i < 5; i++) window.recorded(i, T + i * 1000);
    expect(window.room(2, T + 5000)).toBe(-3);
    expect(window.freesAt(2, T + 5000)).toBe(T + 3000 + RATE_WINDOW_MS);
    expect(window.room(2, T + 3000 + RATE_WINDOW_MS)).toBe(1);
  });

  it('forgets what was read back before the minute is read afresh, keeping what it started', () => {
    const window = new RateWindow();
    window.recorded(1, T);
    window.recorded(2, T + 1);
    window.started(3, T + 2);
    window.forgetRecorded();
    expect(window.room(3, T + 10)).toBe(2);
  });

  it('an attempt started here and never recorded counts for its minute, then no more', () => {
    const window = new RateWindow();
    window.started(1, T);
    expect(window.room(1, T + RATE_WINDOW_MS - 1)).toBe(0);
    expect(window.room(1, T + RATE_WINDOW_MS)).toBe(1);
  });

  it('a clock set back holds the endpoint for a minute at most, not until the clock catches up', () => {
    const window = new RateWindow();
    const later = T + 3_600_000;
    window.recorded(1, later);
    window.started(2, later + 1);
    expect(window.room(2, T)).toBe(0);
    expect(window.freesAt(2, T)).toBe(T + RATE_WINDOW_MS);
    expect(window.room(2, T + RATE_WINDOW_MS)).toBe(2);
  });
});
