// The delivery rules of the contract (docs/webhooks.md, "Delivery") as one pure function:
// given what an attempt produced, what the delivery has been through in its current round,
// and the time, decide what happens next. No I/O, no clock: the dispatcher supplies `now`.
import { isAppsScriptAccepted } from './endpoint-url.js';
import { recoveryAt, recoverySchedule, type AutoRecover } from './recovery.js';
import type { Settings } from './settings.js';

/** What one attempt produced, as the sender saw it. Expected failures are values. */
export type AttemptOutcome =
  /** The endpoint answered with a status line. */
  | { kind: 'answered'; status: number; location: string | null; retryAfter: string | null }
  /** The request went out but no complete answer came in time (or the answer broke off). */
  | { kind: 'no-response'; error: string }
  /** DNS, TCP or TLS failed: nothing is known about the endpoint itself. */
  | { kind: 'unreachable'; error: string };

/** The part of a delivery's history the rules depend on. */
export interface Round {
  /** Attempts of this round that used up a try (the first attempt and its retries). */
  attemptsUsed: number;
  /** When this round began: at capture, or at the operator's manual retry. */
  queuedAt: number;
  /** Automatic retries made since then (docs/webhooks.md, "Automatic recovery"). */
  recoveries: number;
}

/** What the rules need to know of the endpoint. */
export interface Addressee {
  url: string;
  autoRecover: AutoRecover;
}

export type Decision =
  | { status: 'delivered'; reason: string }
  | { status: 'queued'; nextAttemptAt: number; usesAttempt: boolean; reason: string }
  | { status: 'waiting'; reason: string }
  /** `recoverAt`: when it is tried again by itself; null: only if the operator retries it. */
  | { status: 'failed'; reason: string; disableEndpoint: boolean; usesAttempt: boolean; recoverAt: number | null };

/** A delivery's status, as the panel and the CLI name them (docs/webhooks.md). */
export type DeliveryStatus = Decision['status'];
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['queued', 'waiting', 'delivered', 'failed'];

export type Schedule = Pick<Settings, 'retry_delay_ms' | 'max_retries' | 'retry_after_max_ms' | 'expire_after_ms' | 'recover_schedule'>;

export function decide(outcome: AttemptOutcome, round: Round, now: number, endpoint: Addressee, schedule: Schedule): Decision {
  if (outcome.kind === 'answered') {
    const { status } = outcome;
    if (status >= 200 && status < 300) return { status: 'delivered', reason: `delivered: HTTP ${status}` };
    if (isAppsScriptAccepted(endpoint.url, status, outcome.location)) {
      return { status: 'delivered', reason: 'delivered: Google Apps Script ran it (HTTP 302 to script.googleusercontent.com)' };
    }
    if (status === 410) {
      return {
        status: 'failed',
        reason: 'HTTP 410 Gone: the endpoint says it no longer exists, so it was disabled',
        disableEndpoint: true,
        usesAttempt: true,
        recoverAt: null,
      };
    }
  }
  if (expired(round, now, schedule)) {
    return {
      status: 'failed',
      reason: `expired: not delivered within ${formatDuration(schedule.expire_after_ms)} (last: ${describe(outcome)})`,
      disableEndpoint: false,
      usesAttempt: outcome.kind !== 'unreachable',
      recoverAt: null,
    };
  }
  if (outcome.kind === 'unreachable') {
    return { status: 'waiting', reason: `could not reach the endpoint (${outcome.error}); waiting for it, no retry used` };
  }
  if (outcome.kind === 'answered' && (outcome.status === 429 || outcome.status === 503)) {
    const wait = parseRetryAfter(outcome.retryAfter, now);
    if (wait !== null) {
      const delay = Math.min(wait, schedule.retry_after_max_ms);
      return {
        status: 'queued',
        nextAttemptAt: now + delay,
        usesAttempt: false,
        reason: `HTTP ${outcome.status}: the endpoint asked to wait ${formatDuration(delay)} (Retry-After); no retry used`,
      };
    }
  }
  const used = round.attemptsUsed + 1;
  const retriesLeft = schedule.max_retries - (used - 1);
  if (retriesLeft <= 0) {
    // A round of automatic recovery is one attempt (store/queue.ts recoverDue): the count
    // that matters then is of the automatic retries, not of the contract's attempts.
    const spent =
      round.recoveries === 0
        ? `${used} attempt${used === 1 ? '' : 's'} made, no retries left`
        : `automatic retry ${round.recoveries} failed`;
    const recovery = recoveryAt({
      mode: endpoint.autoRecover,
      outcome,
      recoveries: round.recoveries,
      queuedAt: round.queuedAt,
      now,
      schedule: recoverySchedule(schedule.recover_schedule),
      expireAfterMs: schedule.expire_after_ms,
    });
    const next = recovery.at === null ? recovery.why : `next automatic retry in ${formatDuration(recovery.waitMs)}`;
    return {
      status: 'failed',
      reason: `${describe(outcome)}; ${spent}; ${next}`,
      disableEndpoint: false,
      usesAttempt: true,
      recoverAt: recovery.at,
    };
  }
  return {
    status: 'queued',
    nextAttemptAt: now + schedule.retry_delay_ms,
    usesAttempt: true,
    reason: `${describe(outcome)}; retry ${used} of ${schedule.max_retries} in ${formatDuration(schedule.retry_delay_ms)}`,
  };
}

/** A delivery waiting or queued past the expiry is failed even when nothing is attempted. */
export function expired(round: Round, now: number, schedule: Pick<Settings, 'expire_after_ms'>): boolean {
  return now - round.queuedAt >= schedule.expire_after_ms;
}

export function expiredReason(schedule: Pick<Settings, 'expire_after_ms'>): string {
  return `expired: the endpoint could not be reached for ${formatDuration(schedule.expire_after_ms)}`;
}

function describe(outcome: AttemptOutcome): string {
  switch (outcome.kind) {
    case 'answered':
      if (outcome.status >= 300 && outcome.status < 400) {
        const to = outcome.location ? ` to ${outcome.location}` : ' with no Location';
        return `HTTP ${outcome.status} redirect${to} (redirects are not followed: use the final URL)`;
      }
      return `HTTP ${outcome.status} from the endpoint`;
    case 'no-response':
      return `no complete response (${outcome.error})`;
    case 'unreachable':
      return `could not reach the endpoint (${outcome.error})`;
  }
}

/** Retry-After as delay-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date) || !/[a-z]/i.test(trimmed)) return null;
  return Math.max(0, date - now);
}

export function formatDuration(msTotal: number): string {
  if (msTotal < 1000) return `${msTotal} ms`;
  const s = Math.round(msTotal / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} days`;
}
