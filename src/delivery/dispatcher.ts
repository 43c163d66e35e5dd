// The delivery loop. Each enabled endpoint is served on its own: up to a few deliveries in
// flight, claimed oldest first, so a slow or unreachable endpoint never holds up another.
//
// An unreachable endpoint is put on hold: its deliveries wait (no retry used up) and the
// loop checks the endpoint with a TLS handshake, backing off up to a minute, until it can
// be reached again; then its deliveries go back in the queue by themselves. The backoff
// only starts again from its shortest step after the endpoint has answered a request, so
// an endpoint that accepts connections and then drops them is not hammered.
//
// The loop wakes when a delivery becomes due, when told that something changed (a capture
// in this process, the operating system's "network is back"), and at least once a second
// to pick up work that another process (`booth-agent emit`, the CLI's retry) committed.
import type { Logger } from 'pino';
import { clockSkew } from '../core/clock.js';
import { decide, expiredReason, type AttemptOutcome, type Decision } from '../core/policy.js';
import type { Settings } from '../core/settings.js';
import type { Endpoint, Endpoints } from '../store/endpoints.js';
import type { AttemptRecord, Claim, Outbox } from '../store/outbox.js';
import { checkReachable, type Reachability } from './reachability.js';
import type { Sender } from './sender.js';

const IDLE_TICK_MS = 1000;
const EXPIRY_SWEEP_MS = 60_000;

export interface DispatcherDeps extends AttemptDeps {
  endpoints: Endpoints;
  settings: () => Settings;
  checkReachable?: (url: string, ca: string | null, timeoutMs: number) => Promise<Reachability>;
}

interface EndpointState {
  inFlight: Set<number>;
  /** Wait before the next connectivity check; grows while the endpoint stays unreachable. */
  backoffMs: number | null;
  nextCheckAt: number;
  checking: boolean;
}

export class Dispatcher {
  private readonly state = new Map<string, EndpointState>();
  private readonly running = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  private readonly now: () => number;
  private readonly check: NonNullable<DispatcherDeps['checkReachable']>;
  private timer: NodeJS.Timeout | null = null;
  private wakePending = false;
  private stopped = true;
  private lastSweepAt = -Infinity;

  constructor(private readonly deps: DispatcherDeps) {
    this.now = deps.now ?? Date.now;
    this.check = deps.checkReachable ?? checkReachable;
  }

  start(): void {
    this.stopped = false;
    this.tick();
  }

  /** Something changed (a capture, a retry, the network is back): look again now. */
  wake(): void {
    if (this.stopped || this.wakePending) return;
    this.wakePending = true;
    setImmediate(() => {
      this.wakePending = false;
      this.tick();
    });
  }

  /** The operating system reports the network back, or the machine woke: check every held endpoint at once. */
  networkChanged(): void {
    for (const state of this.state.values()) state.nextCheckAt = 0;
    this.wake();
  }

  /**
   * Stops taking new work, lets attempts in flight finish for up to `graceMs`, then aborts
   * the rest. An aborted attempt is not recorded: its lease is released and it is sent
   * again at the next start (with the same webhook-id).
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const pending = Promise.all(this.running);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([pending, grace]);
    clearTimeout(timer);
    this.shutdown.abort();
    await pending;
    this.deps.outbox.releaseLeases(this.deps.owner);
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    let nextWake = this.now() + IDLE_TICK_MS;
    try {
      nextWake = this.serve();
    } catch (error) {
      // A full or busy disk, say: nothing was claimed or changed; try again shortly.
      this.deps.log.error({ err: error }, 'delivery loop could not read the outbox');
    }
    this.timer = setTimeout(() => this.tick(), Math.max(0, nextWake - this.now()));
  }

  /** Claims and starts what is due; returns when the loop should look again. */
  private serve(): number {
    const settings = this.deps.settings();
    const now = this.now();
    if (now - this.lastSweepAt >= EXPIRY_SWEEP_MS || now < this.lastSweepAt) this.expire(settings, now);
    let nextWake = now + IDLE_TICK_MS;
    if (settings.paused) return nextWake;
    for (const endpoint of this.deps.endpoints.list()) {
      if (!endpoint.enabled) continue;
      const state = this.stateOf(endpoint.id, settings);
      if (endpoint.unreachableSince !== null) {
        if (!state.checking && now >= state.nextCheckAt) this.checkEndpoint(endpoint, state, settings);
        if (!state.checking) nextWake = Math.min(nextWake, state.nextCheckAt);
      } else {
        this.fill(endpoint, state, settings, now);
      }
    }
    const due = this.deps.outbox.nextDueAt();
    if (due !== null && due > now) nextWake = Math.min(nextWake, due);
    return nextWake;
  }

  /**
   * Keeps track of background work so stop() can wait for it. A failure there (the disk
   * refusing to record an attempt) is logged, never thrown: the delivery's lease runs out
   * and it is sent again, with the same webhook-id.
   */
  private track(work: Promise<void>, what: Record<string, unknown>, done: () => void = () => {}): void {
    const tracked: Promise<void> = work
      .catch((error: unknown) => this.deps.log.error({ err: error, ...what }, 'delivery work failed'))
      .finally(() => {
        done();
        this.running.delete(tracked);
        this.wake();
      });
    this.running.add(tracked);
  }

  private stateOf(endpointId: string, settings: Settings): EndpointState {
    let state = this.state.get(endpointId);
    if (!state) {
      state = { inFlight: new Set(), backoffMs: null, nextCheckAt: 0, checking: false };
      this.state.set(endpointId, state);
    }
    state.backoffMs ??= settings.offline_check_min_ms;
    return state;
  }

  private fill(endpoint: Endpoint, state: EndpointState, settings: Settings, now: number): void {
    const capacity = (endpoint.strictOrder ? 1 : settings.max_in_flight) - state.inFlight.size;
    const maxWait = Math.max(settings.retry_delay_ms, settings.retry_after_max_ms);
    const claims = this.deps.outbox.claim(endpoint.id, this.deps.owner, now, settings.lease_ms, capacity, endpoint.strictOrder, maxWait);
    for (const claim of claims) {
      if (state.inFlight.has(claim.seq)) continue;
      state.inFlight.add(claim.seq);
      this.track(this.attempt(endpoint, claim, settings), { delivery: claim.id }, () => state.inFlight.delete(claim.seq));
    }
  }

  private async attempt(endpoint: Endpoint, claim: Claim, settings: Settings): Promise<void> {
    const result = await attemptDelivery(this.deps, endpoint, claim, settings, this.shutdown.signal);
    const state = this.state.get(endpoint.id);
    if (!result || !state) return;
    if (result.outcome.kind === 'answered') state.backoffMs = settings.offline_check_min_ms;
    if (result.decision.status === 'waiting' && !state.checking) {
      state.nextCheckAt = this.now() + (state.backoffMs ?? settings.offline_check_min_ms);
    }
  }

  private checkEndpoint(endpoint: Endpoint, state: EndpointState, settings: Settings): void {
    state.checking = true;
    const check = this.check(endpoint.url, endpoint.ca, settings.connect_timeout_ms).then((result) => {
      if (this.stopped) return;
      const now = this.now();
      if (result.ok) {
        const resumed = this.deps.outbox.resumeEndpoint(endpoint.id, now);
        this.deps.log.info({ endpoint: endpoint.id, url: endpoint.url, resumed }, 'endpoint reachable again; deliveries resume');
      } else {
        const backoff = state.backoffMs ?? settings.offline_check_min_ms;
        state.backoffMs = Math.min(backoff * 2, settings.offline_check_max_ms);
        state.nextCheckAt = now + backoff;
        this.deps.log.debug({ endpoint: endpoint.id, error: result.error, nextCheckInMs: backoff }, 'endpoint still unreachable');
      }
    });
    this.track(check, { endpoint: endpoint.id }, () => {
      state.checking = false;
    });
  }

  private expire(settings: Settings, now: number): void {
    this.lastSweepAt = now;
    const reason = expiredReason(settings);
    for (const id of this.deps.outbox.expireOverdue(now, settings.expire_after_ms, reason)) {
      this.deps.log.warn({ delivery: id, to: 'failed', reason }, 'delivery state');
    }
  }
}

export interface AttemptDeps {
  outbox: Outbox;
  sender: Sender;
  log: Logger;
  /** Lease owner name, unique per process. */
  owner: string;
  now?: () => number;
}

/**
 * Sends one claimed delivery, applies the policy to what happened, and records the attempt.
 * Returns null when the attempt was cut short by `signal` (shutdown) before any answer:
 * nothing is recorded then, and the delivery is sent again later with the same webhook-id.
 */
export async function attemptDelivery(
  deps: AttemptDeps,
  endpoint: Endpoint,
  claim: Claim,
  settings: Settings,
  signal?: AbortSignal,
): Promise<{ outcome: AttemptOutcome; decision: Decision } | null> {
  const sent = await deps.sender.send(endpoint, claim.id, claim.body, claim.test, signal);
  if (signal?.aborted && sent.outcome.kind !== 'answered') return null;
  const now = (deps.now ?? Date.now)();
  const decision = decide(sent.outcome, { attemptsUsed: claim.attemptsUsed, queuedAt: claim.queuedAt }, now, endpoint.url, settings);
  const record: AttemptRecord = {
    startedAt: sent.startedAt,
    durationMs: sent.durationMs,
    outcome: sent.outcome.kind,
    statusCode: sent.outcome.kind === 'answered' ? sent.outcome.status : null,
    error: sent.outcome.kind === 'answered' ? null : sent.outcome.error,
    responseHead: sent.responseHead,
  };
  const skew = clockSkew(sent.date, sent.startedAt + sent.durationMs / 2);
  deps.outbox.settle(claim, deps.owner, record, decision, now, skew);
  const line = {
    delivery: claim.id,
    event: claim.eventId,
    endpoint: endpoint.id,
    outcome: record.outcome,
    status: record.statusCode,
    durationMs: record.durationMs,
    to: decision.status,
    reason: decision.reason,
  };
  if (decision.status === 'failed') deps.log.warn(line, 'attempt');
  else deps.log.info(line, 'attempt');
  return { outcome: sent.outcome, decision };
}
