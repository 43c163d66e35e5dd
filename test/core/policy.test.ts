import { describe, expect, it } from 'vitest';
import { decide, parseRetryAfter, type AttemptOutcome, type Schedule } from '../../src/core/policy.js';
import { DEFAULT_SETTINGS } from '../../src/core/settings.js';

const schedule: Schedule = DEFAULT_SETTINGS;
const NOW = Date.parse('2026-06-01T12:00:00Z');
const URL_ = { url: 'https://hooks.example.com/booth', autoRecover: 'on' } as const;
const fresh = { attemptsUsed: 0, queuedAt: NOW - 1000, recoveries: 0 };

const answered = (status: number, extra: { location?: string; retryAfter?: string } = {}): AttemptOutcome => ({
  kind: 'answered',
  status,
  location: extra.location ?? null,
  retryAfter: extra.retryAfter ?? null,
});

describe('decide: the endpoint answered 2xx', () => {
  it.each([200, 201, 202, 204, 299])('HTTP %i is delivered', (status) => {
    expect(decide(answered(status), fresh, NOW, URL_, schedule)).toEqual({ status: 'delivered', reason: `delivered: HTTP ${status}` });
  });

  it('is delivered even on the last attempt and long after queueing', () => {
    expect(decide(answered(200), { ...fresh, attemptsUsed: 3, queuedAt: NOW - 30 * 86_400_000 }, NOW, URL_, schedule).status).toBe(
      'delivered',
    );
  });
});

describe('decide: the endpoint answered, not with 2xx', () => {
  it.each([400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504, 100, 199, 301, 302, 307, 308])(
    'HTTP %i uses up one of 1 + 3 attempts, 10 s apart, then fails',
    (status) => {
      for (let used = 0; used < 3; used++) {
        expect(decide(answered(status), { ...fresh, attemptsUsed: used }, NOW, URL_, schedule)).toEqual({
          status: 'queued',
          nextAttemptAt: NOW + 10_000,
          usesAttempt: true,
          reason: expect.stringContaining(`retry ${used + 1} of 3 in 10 s`),
        });
      }
      // A refusal (a 4xx but 408 and 429) is left to the operator; anything else is tried again in 5 min.
      const refused = status >= 400 && status < 500 && status !== 408 && status !== 429;
      expect(decide(answered(status), { ...fresh, attemptsUsed: 3 }, NOW, URL_, schedule)).toEqual({
        status: 'failed',
        reason: expect.stringContaining('4 attempts made, no retries left'),
        disableEndpoint: false,
        usesAttempt: true,
        recoverAt: refused ? null : NOW + 5 * 60_000,
      });
    },
  );

  it('names the Location of a redirect, which is not followed', () => {
    const decision = decide(answered(302, { location: 'https://elsewhere.example/x' }), fresh, NOW, URL_, schedule);
    expect(decision.status).toBe('queued');
    expect(decision.reason).toContain('HTTP 302 redirect to https://elsewhere.example/x');
  });

  it('counts a response that never completed like a non-2xx answer', () => {
    const decision = decide({ kind: 'no-response', error: 'no answer within 15 s' }, fresh, NOW, URL_, schedule);
    expect(decision).toMatchObject({ status: 'queued', usesAttempt: true, nextAttemptAt: NOW + 10_000 });
    expect(decide({ kind: 'no-response', error: 'x' }, { ...fresh, attemptsUsed: 3 }, NOW, URL_, schedule).status).toBe('failed');
  });

  it('follows the schedule settings, not literals', () => {
    const custom = { ...schedule, retry_delay_ms: 250, max_retries: 1 };
    expect(decide(answered(500), fresh, NOW, URL_, custom)).toMatchObject({ status: 'queued', nextAttemptAt: NOW + 250 });
    expect(decide(answered(500), { ...fresh, attemptsUsed: 1 }, NOW, URL_, custom).status).toBe('failed');
    expect(decide(answered(500), fresh, NOW, URL_, { ...schedule, max_retries: 0 }).status).toBe('failed');
  });
});

describe('decide: 429 and 503 with Retry-After', () => {
  it.each([429, 503])('HTTP %i waits as told and uses no retry', (status) => {
    expect(decide(answered(status, { retryAfter: '30' }), { ...fresh, attemptsUsed: 3 }, NOW, URL_, schedule)).toEqual({
      status: 'queued',
      nextAttemptAt: NOW + 30_000,
      usesAttempt: false,
      reason: expect.stringContaining('asked to wait 30 s'),
    });
  });

  it('waits at most an hour', () => {
    expect(decide(answered(503, { retryAfter: '86400' }), fresh, NOW, URL_, schedule)).toMatchObject({ nextAttemptAt: NOW + 3_600_000 });
  });

  it('reads an HTTP date', () => {
    const date = new Date(NOW + 120_000).toUTCString();
    expect(decide(answered(429, { retryAfter: date }), fresh, NOW, URL_, schedule)).toMatchObject({
      nextAttemptAt: NOW + 120_000,
      usesAttempt: false,
    });
  });

  it('treats an unreadable or absent Retry-After as an ordinary failed attempt', () => {
    expect(decide(answered(429, { retryAfter: 'soon' }), fresh, NOW, URL_, schedule)).toMatchObject({
      usesAttempt: true,
      nextAttemptAt: NOW + 10_000,
    });
    expect(decide(answered(503), fresh, NOW, URL_, schedule)).toMatchObject({ usesAttempt: true });
  });

  it('applies Retry-After only to 429 and 503', () => {
    expect(decide(answered(500, { retryAfter: '30' }), fresh, NOW, URL_, schedule)).toMatchObject({
      usesAttempt: true,
      nextAttemptAt: NOW + 10_000,
    });
  });
});

describe('decide: 410 Gone', () => {
  it('fails at once and disables the endpoint, whatever attempt it was', () => {
    for (const attemptsUsed of [0, 2]) {
      expect(decide(answered(410), { ...fresh, attemptsUsed }, NOW, URL_, schedule)).toEqual({
        status: 'failed',
        reason: expect.stringContaining('410 Gone'),
        disableEndpoint: true,
        usesAttempt: true,
        recoverAt: null,
      });
    }
  });
});

describe('decide: unreachable', () => {
  it.each([0, 3, 100])('waits and uses no retry (attempts used: %i)', (attemptsUsed) => {
    expect(
      decide({ kind: 'unreachable', error: 'connection refused by 127.0.0.1:9' }, { ...fresh, attemptsUsed }, NOW, URL_, schedule),
    ).toEqual({
      status: 'waiting',
      reason: 'could not reach the endpoint (connection refused by 127.0.0.1:9); waiting for it, no retry used',
    });
  });

  it('fails as expired after 7 days, not before', () => {
    const week = 7 * 86_400_000;
    const outcome: AttemptOutcome = { kind: 'unreachable', error: 'offline' };
    expect(decide(outcome, { ...fresh, queuedAt: NOW - week + 1 }, NOW, URL_, schedule).status).toBe('waiting');
    expect(decide(outcome, { ...fresh, queuedAt: NOW - week }, NOW, URL_, schedule)).toEqual({
      status: 'failed',
      reason: expect.stringMatching(/^expired: not delivered within 7 days/),
      disableEndpoint: false,
      usesAttempt: false,
      recoverAt: null,
    });
  });

  it('also ends an endless Retry-After loop at the expiry', () => {
    expect(decide(answered(429, { retryAfter: '60' }), { ...fresh, queuedAt: NOW - 8 * 86_400_000 }, NOW, URL_, schedule).status).toBe(
      'failed',
    );
  });
});

describe('decide: failed, and what happens next', () => {
  const last = { ...fresh, attemptsUsed: 3 };

  it('says when the automatic retry comes, or why there is none', () => {
    expect(decide(answered(500), last, NOW, URL_, schedule).reason).toBe(
      'HTTP 500 from the endpoint; 4 attempts made, no retries left; next automatic retry in 5 min',
    );
    expect(decide(answered(400), last, NOW, URL_, schedule).reason).toBe(
      'HTTP 400 from the endpoint; 4 attempts made, no retries left; not retried automatically: the receiver refused it (HTTP 400); ' +
        '--auto-recover all retries refusals too',
    );
    expect(decide(answered(500), last, NOW, { ...URL_, autoRecover: 'off' }, schedule)).toMatchObject({
      recoverAt: null,
      reason: 'HTTP 500 from the endpoint; 4 attempts made, no retries left; automatic retries are off for this endpoint',
    });
    expect(decide(answered(400), last, NOW, { ...URL_, autoRecover: 'all' }, schedule)).toMatchObject({ recoverAt: NOW + 5 * 60_000 });
  });

  it('fails an automatic retry after its one attempt and schedules the next step', () => {
    const third = { ...last, recoveries: 2 };
    expect(decide({ kind: 'no-response', error: 'no answer within 15 s' }, third, NOW, URL_, schedule)).toEqual({
      status: 'failed',
      reason: 'no complete response (no answer within 15 s); automatic retry 2 failed; next automatic retry in 2 h',
      disableEndpoint: false,
      usesAttempt: true,
      recoverAt: NOW + 2 * 3_600_000,
    });
    expect(decide(answered(500), third, NOW, URL_, { ...schedule, recover_schedule: '2s,4s' })).toMatchObject({ recoverAt: NOW + 4000 });
  });

  it('an automatic retry still waits as a Retry-After asks, and for an unreachable endpoint, using nothing', () => {
    const recovering = { ...last, recoveries: 1 };
    expect(decide(answered(503, { retryAfter: '30' }), recovering, NOW, URL_, schedule)).toMatchObject({
      status: 'queued',
      usesAttempt: false,
    });
    expect(decide({ kind: 'unreachable', error: 'offline' }, recovering, NOW, URL_, schedule).status).toBe('waiting');
  });

  it('schedules no automatic retry past the expiry', () => {
    const old = { ...last, queuedAt: NOW - 7 * 86_400_000 + 60_000 };
    expect(decide(answered(500), old, NOW, URL_, schedule)).toMatchObject({
      status: 'failed',
      recoverAt: null,
      reason: expect.stringContaining('it would expire before the next retry'),
    });
  });
});

describe('decide: Google Apps Script', () => {
  const script = { url: 'https://script.google.com/macros/s/AKfy/exec', autoRecover: 'on' } as const;
  it('counts its 302 to script.googleusercontent.com as delivered', () => {
    const decision = decide(
      answered(302, { location: 'https://script.googleusercontent.com/macros/echo?user_content_key=x' }),
      fresh,
      NOW,
      script,
      schedule,
    );
    expect(decision.status).toBe('delivered');
  });
  it('does not count a 302 elsewhere, or from another host', () => {
    expect(decide(answered(302, { location: 'https://evil.example/' }), fresh, NOW, script, schedule).status).toBe('queued');
    expect(decide(answered(302, { location: 'https://script.googleusercontent.com/x' }), fresh, NOW, URL_, schedule).status).toBe('queued');
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['5', 5000],
    [' 12 ', 12_000],
    ['-5', null],
    ['1.5', null],
    ['', null],
    ['tomorrow', null],
    ['2026', 2_026_000],
    ['12abc', null],
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
  it('clamps a date in the past to no wait', () => {
    expect(parseRetryAfter(new Date(NOW - 60_000).toUTCString(), NOW)).toBe(0);
  });
});
