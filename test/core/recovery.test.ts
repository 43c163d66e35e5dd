import { describe, expect, it } from 'vitest';
import { parseDurations, recoveryAt, recoverySchedule, type RecoveryInput } from '../../src/core/recovery.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const SCHEDULE = [5 * MIN, 30 * MIN, 2 * HOUR, 6 * HOUR, 12 * HOUR];

const input = (changes: Partial<RecoveryInput> = {}): RecoveryInput => ({
  mode: 'on',
  outcome: { kind: 'answered', status: 500 },
  recoveries: 0,
  queuedAt: NOW - MIN,
  now: NOW,
  schedule: SCHEDULE,
  expireAfterMs: 7 * DAY,
  ...changes,
});

describe('recoveryAt: the schedule', () => {
  it('takes each wait in turn, the last one repeating', () => {
    const waits = [0, 1, 2, 3, 4, 5, 6, 20].map((recoveries) => recoveryAt(input({ recoveries })));
    expect(waits).toEqual([
      { at: NOW + 5 * MIN, waitMs: 5 * MIN },
      { at: NOW + 30 * MIN, waitMs: 30 * MIN },
      { at: NOW + 2 * HOUR, waitMs: 2 * HOUR },
      { at: NOW + 6 * HOUR, waitMs: 6 * HOUR },
      { at: NOW + 12 * HOUR, waitMs: 12 * HOUR },
      { at: NOW + 12 * HOUR, waitMs: 12 * HOUR },
      { at: NOW + 12 * HOUR, waitMs: 12 * HOUR },
      { at: NOW + 12 * HOUR, waitMs: 12 * HOUR },
    ]);
  });

  it('stops short of the expiry, counted from when the delivery was queued', () => {
    const queuedAt = NOW - 7 * DAY + 12 * HOUR;
    expect(recoveryAt(input({ recoveries: 9, queuedAt: queuedAt + 1 })).at).toBe(NOW + 12 * HOUR);
    expect(recoveryAt(input({ recoveries: 9, queuedAt }))).toEqual({
      at: null,
      why: 'not retried automatically: it would expire before the next retry',
    });
    expect(recoveryAt(input({ expireAfterMs: 4 * MIN })).at).toBeNull();
  });

  it('follows a schedule of its own', () => {
    const schedule = recoverySchedule('2s,4s');
    expect(schedule).toEqual([2000, 4000]);
    expect([0, 1, 2].map((recoveries) => recoveryAt(input({ schedule, recoveries })).at)).toEqual([NOW + 2000, NOW + 4000, NOW + 4000]);
  });

  it('parses a schedule once, and a schedule that does not parse schedules nothing', () => {
    expect(recoverySchedule('5m,30m')).toBe(recoverySchedule('5m,30m'));
    expect(parseDurations('soon').ok).toBe(false);
    expect(recoverySchedule('soon')).toEqual([]);
    expect(recoveryAt(input({ schedule: [] })).at).toBeNull();
  });
});

describe('recoveryAt: what is recovered', () => {
  const answered = (status: number) => ({ kind: 'answered', status }) as const;

  it.each([400, 401, 403, 404, 409, 422, 451, 499])('HTTP %i is a refusal: recovered only with "all"', (status) => {
    expect(recoveryAt(input({ outcome: answered(status) }))).toEqual({
      at: null,
      why: `not retried automatically: the receiver refused it (HTTP ${status}); --auto-recover all retries refusals too`,
    });
    expect(recoveryAt(input({ mode: 'all', outcome: answered(status) })).at).toBe(NOW + 5 * MIN);
  });

  it.each([408, 429, 500, 502, 503, 504, 302])('HTTP %i is recovered', (status) => {
    expect(recoveryAt(input({ outcome: answered(status) })).at).toBe(NOW + 5 * MIN);
  });

  it('no complete response is recovered', () => {
    expect(recoveryAt(input({ outcome: { kind: 'no-response' } })).at).toBe(NOW + 5 * MIN);
  });

  it.each(['on', 'all'] as const)('HTTP 410 never is (mode %s): the endpoint was disabled', (mode) => {
    expect(recoveryAt(input({ mode, outcome: answered(410) }))).toEqual({
      at: null,
      why: 'not retried automatically: the endpoint is disabled',
    });
  });

  it.each([500, 400, 429])('nothing is with "off" (HTTP %i)', (status) => {
    expect(recoveryAt(input({ mode: 'off', outcome: answered(status) }))).toEqual({
      at: null,
      why: 'automatic retries are off for this endpoint',
    });
    expect(recoveryAt(input({ mode: 'off', outcome: { kind: 'no-response' } })).at).toBeNull();
  });
});
