// Automatic recovery (docs/webhooks.md, "Automatic recovery"): after the contract's
// attempts a delivery is failed, and, unless its endpoint turns this off, it is tried again
// by itself on a longer schedule.

/**
 * An endpoint's choice: `on` recovers every failure but a refusal (a 4xx other than 408
 * and 429: the receiver said no); `all` recovers refusals too; `off` leaves failures to
 * the operator.
 */
export const AUTO_RECOVER_MODES = ['on', 'off', 'all'] as const;
export type AutoRecover = (typeof AUTO_RECOVER_MODES)[number];

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "5m,30m,2h" as milliseconds, or what is wrong with it. */
export function parseDurations(text: string): { ok: true; value: number[] } | { ok: false; message: string } {
  const parts = text.split(',').map((part) => part.trim());
  const value: number[] = [];
  for (const part of parts) {
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(part);
    if (!match) return { ok: false, message: `"${part}" is not a duration; write each wait as a number and a unit: 30s, 5m, 2h, 1d` };
    const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
    if (ms < 1000) return { ok: false, message: `"${part}" is shorter than a second` };
    value.push(ms);
  }
  return { ok: true, value };
}

/** The schedule last parsed: it changes a few times a day at most, and is read at every failure. */
let lastSchedule: { text: string; waits: readonly number[] } = { text: '', waits: [] };

/**
 * `recover_schedule` as waits. The setting is checked when it is written and a stored value
 * that fails the check falls back to the default, so it parses; if it did not, nothing would
 * be recovered rather than the delivery loop stopping.
 */
export function recoverySchedule(text: string): readonly number[] {
  if (lastSchedule.text !== text) {
    const parsed = parseDurations(text);
    lastSchedule = { text, waits: parsed.ok ? parsed.value : [] };
  }
  return lastSchedule.waits;
}

/** The answer a failed delivery ended on, as far as recovery cares. */
export type FinalOutcome = { kind: 'answered'; status: number } | { kind: 'no-response' | 'unreachable' };

export interface RecoveryInput {
  mode: AutoRecover;
  outcome: FinalOutcome;
  /** Automatic retries already made of this delivery. */
  recoveries: number;
  /** When its round began; the expiry counts from there. */
  queuedAt: number;
  now: number;
  /** The waits of `recover_schedule`, in milliseconds. */
  schedule: readonly number[];
  expireAfterMs: number;
}

/** When a failed delivery is tried again by itself, after what wait; or why it is not. */
export type Recovery = { at: number; waitMs: number } | { at: null; why: string };

/**
 * A failed delivery's next automatic retry: after the schedule's next wait, the last wait
 * repeating, as long as that comes before the delivery expires. A refusal (a 4xx other than
 * 408 Request Timeout and 429 Too Many Requests, which say "later") would only be refused
 * again, so it is left to the operator unless the endpoint asks for `all`; a 410 disabled
 * the endpoint, and nothing is sent to a disabled endpoint.
 */
export function recoveryAt(input: RecoveryInput): Recovery {
  const { mode, outcome, recoveries, queuedAt, now, schedule, expireAfterMs } = input;
  if (mode === 'off') return { at: null, why: 'automatic retries are off for this endpoint' };
  if (outcome.kind === 'answered' && outcome.status === 410)
    return { at: null, why: 'not retried automatically: the endpoint is disabled' };
  if (mode === 'on' && outcome.kind === 'answered' && isRefusal(outcome.status)) {
    return {
      at: null,
      why: `not retried automatically: the receiver refused it (HTTP ${outcome.status}); --auto-recover all retries refusals too`,
    };
  }
  const waitMs = schedule[Math.min(recoveries, schedule.length - 1)];
  if (waitMs === undefined) return { at: null, why: 'no automatic retries are scheduled (recover_schedule)' };
  const at = now + waitMs;
  if (at >= queuedAt + expireAfterMs) return { at: null, why: 'not retried automatically: it would expire before the next retry' };
  return { at, waitMs };
}

/** A 4xx that means "no" rather than "not now". */
function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}
