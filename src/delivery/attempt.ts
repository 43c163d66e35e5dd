// One attempt at one claimed delivery: send it, and decide with the policy what follows.
// The delivery loop makes its attempts here and records them in its own turns; Send Test
// makes one at once, recorded and logged on the spot (attemptDelivery).
import type { Logger } from 'pino';
import { clockSkew } from '../core/clock.js';
import { renderBody } from '../core/formats.js';
import { decide, type AttemptOutcome, type Decision } from '../core/policy.js';
import type { Settings } from '../core/settings.js';
import type { Endpoint } from '../store/endpoints.js';
import type { AttemptRecord, Claim, DeliveryQueue } from '../store/queue.js';
import type { Sender } from './sender.js';

export interface AttemptDeps {
  queue: DeliveryQueue;
  sender: Sender;
  log: Logger;
  /** Lease owner name, unique per process. */
  owner: string;
  now?: () => number;
}

/** What one attempt found and what the policy made of it, ready to be recorded. */
export interface Attempt {
  outcome: AttemptOutcome;
  decision: Decision;
  record: AttemptRecord;
  clockSkewMs: number | null;
  decidedAt: number;
}

/**
 * Sends one claimed delivery and applies the policy to what happened. Returns null when
 * the attempt was cut short by `signal` (shutdown) before any answer: nothing is to be
 * recorded then, and the delivery is sent again later with the same webhook-id.
 */
export async function makeAttempt(
  deps: Pick<AttemptDeps, 'queue' | 'sender' | 'now'>,
  endpoint: Endpoint,
  claim: Claim,
  settings: Settings,
  signal?: AbortSignal,
): Promise<Attempt | null> {
  // Rendered now rather than at capture, so a change of the endpoint's format applies to what is still queued.
  const body = renderBody(endpoint.format, claim.body, claim.test);
  const startedAt = (deps.now ?? Date.now)();
  // A rate counts the attempt from its start, after a crash or a power cut too: the start is
  // on the disk before the request leaves. At most N a minute, one sync each costs little.
  if (endpoint.maxPerMinute !== null) deps.queue.recordStart(claim.seq, startedAt);
  const sent = await deps.sender.send(endpoint, claim.id, body, claim.test, signal, startedAt);
  if (signal?.aborted && sent.outcome.kind !== 'answered') return null;
  const now = (deps.now ?? Date.now)();
  return {
    outcome: sent.outcome,
    decision: decide(sent.outcome, claim, now, endpoint, settings),
    record: {
      startedAt: sent.startedAt,
      durationMs: sent.durationMs,
      outcome: sent.outcome.kind,
      statusCode: sent.outcome.kind === 'answered' ? sent.outcome.status : null,
      error: sent.outcome.kind === 'answered' ? null : sent.outcome.error,
      responseHead: sent.responseHead,
    },
    clockSkewMs: clockSkew(sent.date, sent.startedAt + sent.durationMs / 2),
    decidedAt: now,
  };
}

/**
 * Records an attempt as of `recordedAt`: the delivery's change is stamped with when the
 * outbox learned of it, not when the answer came, so whoever reads changes since a time
 * (the alert monitor) never misses one committed after it looked.
 */
export function recordAttempt(queue: DeliveryQueue, owner: string, claim: Claim, attempt: Attempt, recordedAt = attempt.decidedAt): void {
  queue.settle(claim, owner, attempt.record, attempt.decision, recordedAt, attempt.clockSkewMs);
}

export function logAttempt(log: Logger, claim: Claim, { record, decision }: Attempt): void {
  const line = {
    delivery: claim.id,
    event: claim.eventId,
    endpoint: claim.endpointId,
    outcome: record.outcome,
    status: record.statusCode,
    durationMs: record.durationMs,
    to: decision.status,
    reason: decision.reason,
  };
  if (decision.status === 'failed') log.warn(line, 'attempt');
  else log.info(line, 'attempt');
}

/** One attempt outside the loop (Send Test): sent, recorded and logged at once. */
export async function attemptDelivery(deps: AttemptDeps, endpoint: Endpoint, claim: Claim, settings: Settings): Promise<Attempt | null> {
  const attempt = await makeAttempt(deps, endpoint, claim, settings);
  if (!attempt) return null;
  recordAttempt(deps.queue, deps.owner, claim, attempt);
  logAttempt(deps.log, claim, attempt);
  return attempt;
}
