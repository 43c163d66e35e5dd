// The delivery loop. Each enabled endpoint is served on its own: as many deliveries in flight
// as it takes (below), claimed oldest first, so a slow or unreachable endpoint never holds up another.
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
//
// Each turn of the loop writes once: the attempts that finished since the last turn are
// recorded and the next deliveries claimed in one commit. A turn claims what may be in
// flight and as many again, and never fewer than CLAIM_BATCH extra; the extra ones wait,
// leased, and start the moment an attempt finishes, without a turn. The loop turns again
// when they run out, so one commit serves several attempts and a backlog drains at the
// speed of the network rather than of the disk, even while the in-flight limit is low. A
// claim that waited so long that its lease could run out during its attempt is given back
// instead of sent.
//
// An endpoint with a rate (`maxPerMinute`) starts at most that many attempts in any minute
// (core/rate-window.ts). The loop claims no more than the rate lets it start now, so
// nothing is leased only to sit, and looks again when the minute makes room. The starts it
// counts are read back from the outbox's attempts each turn, so Send Test's (made outside
// the loop, perhaps by the CLI) count too, and the rate holds across a restart. Each start
// is on the disk before its request goes out (makeAttempt), so it holds across a crash or a
// power cut as well.
//
// Failed deliveries whose automatic retry has come (docs/webhooks.md, "Automatic recovery")
// go back in the queue in the turn that finds them due, within its commit, so they are
// claimed in that same turn. The loop keeps the earliest such time and wakes for it.
//
// How many may be in flight is found per endpoint from its answers (core/concurrency-limit.ts):
// it grows while answers come back delivered and as fast, and comes down on 429, 503, no
// answer in time, or answers slowing down, never past `max_in_flight`. The loop writes it
// to the endpoint's row when it changes, at most once a second, for `status` and the panel,
// and the next start begins from it.
import { setMaxListeners } from 'node:events';
import { ConcurrencyLimit, limitSignal } from '../core/concurrency-limit.js';
import { expiredReason } from '../core/policy.js';
import { RATE_WINDOW_MS, RateWindow } from '../core/rate-window.js';
import { recoverySchedule } from '../core/recovery.js';
import type { Settings } from '../core/settings.js';
import type { Endpoint, Endpoints } from '../store/endpoints.js';
import { AttemptNotRecordedError, type Claim } from '../store/queue.js';
import { logAttempt, makeAttempt, recordAttempt, type Attempt, type AttemptDeps } from './attempt.js';
import { checkReachable, type Reachability } from './reachability.js';

const IDLE_TICK_MS = 1000;
// Expiry counts in days; a sweep walks every undelivered row, so it runs every few minutes.
const EXPIRY_SWEEP_MS = 5 * 60_000;
/** The in-flight limit moves with every answer; its row is written at most this often. */
const LIMIT_SAVE_MS = 1000;
/**
 * Deliveries claimed beyond those in flight, at the least. A turn costs a commit whatever
 * it holds (about 0.2 ms of CPU here, as much as the rest of one delivery's bookkeeping),
 * and the in-flight limit can be 1 or 2: claiming only twice that made a commit per
 * delivery or two.
 */
const CLAIM_BATCH = 16;

export interface DispatcherDeps extends AttemptDeps {
  endpoints: Endpoints;
  settings: () => Settings;
  checkReachable?: (url: string, ca: string | null, timeoutMs: number) => Promise<Reachability>;
}

/** An attempt that has its answer, to be recorded at the loop's next turn. */
interface Finished {
  claim: Claim;
  attempt: Attempt;
}

interface EndpointState {
  /** The endpoint as the last turn read it. */
  endpoint: Endpoint;
  inFlight: Set<number>;
  /** Claimed (leased) and waiting for a free slot, oldest first. */
  ready: Claim[];
  /** How many may be in flight (strict order: one, whatever this says). */
  limit: ConcurrencyLimit;
  /** The limit as last written to the endpoint's row, and when. */
  savedLimit: number | null;
  savedAt: number;
  /** Wait before the next connectivity check; grows while the endpoint stays unreachable. */
  backoffMs: number | null;
  nextCheckAt: number;
  checking: boolean;
  /** Set while the endpoint has a rate. */
  rate: Rate | null;
}

interface Rate {
  window: RateWindow;
  /** The newest attempt read into the window (null: none yet; read the last minute afresh). */
  readThrough: number | null;
  readAt: number;
  /** Deliveries are due but the rate holds them back (logged once per hold). */
  holding: boolean;
}

export class Dispatcher {
  private readonly state = new Map<string, EndpointState>();
  private readonly running = new Set<Promise<void>>();
  private finished: Finished[] = [];
  /** Ready deliveries that will not be sent after all; their leases go at the next turn. */
  private unclaimed: number[] = [];
  private readonly shutdown = new AbortController();
  private readonly now: () => number;
  private readonly check: NonNullable<DispatcherDeps['checkReachable']>;
  private timer: NodeJS.Timeout | null = null;
  private wakePending = false;
  private stopped = true;
  /** The first sweep comes EXPIRY_SWEEP_MS after start, like each other after the last: start-up stays short. */
  private lastSweepAt: number;
  /** The earliest automatic retry of a failed delivery, as the last turn read it; null: none. */
  private recoverAt: number | null = null;

  constructor(private readonly deps: DispatcherDeps) {
    this.now = deps.now ?? Date.now;
    this.check = deps.checkReachable ?? checkReachable;
    // Each attempt in flight listens for the shutdown: up to max_in_flight per endpoint,
    // more than Node's default of ten, which would warn of a leak that is not one.
    setMaxListeners(0, this.shutdown.signal);
    this.lastSweepAt = this.now();
  }

  start(): void {
    this.stopped = false;
    this.tick();
  }

  /** Something changed (a capture, a retry, the network is back): look again now. */
  wake(): void {
    if (this.stopped || this.wakePending) return;
    this.wakePending = true;
    queueMicrotask(() => {
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
    try {
      this.log(
        this.deps.queue.inOneCommit(() => {
          this.saveLimits(null);
          return this.recordFinished(this.now());
        }),
      );
    } catch (error) {
      this.deps.log.error({ err: error }, 'the last attempts could not be recorded; they are sent again at the next start');
    }
    this.deps.queue.releaseLeases(this.deps.owner);
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    let nextWake = this.now() + IDLE_TICK_MS;
    try {
      nextWake = this.serve();
    } catch (error) {
      // A full or busy disk, say: nothing was claimed or recorded. The attempts of this
      // turn are lost; their leases run out and they are sent again, with the same webhook-id.
      this.deps.log.error({ err: error }, 'delivery loop could not write to the outbox');
    }
    this.timer = setTimeout(() => this.tick(), Math.max(0, nextWake - this.now()));
  }

  /**
   * Records what finished and claims what is due, in one commit, then starts attempts;
   * returns when the loop should look again.
   */
  private serve(): number {
    const settings = this.deps.settings();
    const now = this.now();
    if (now - this.lastSweepAt >= EXPIRY_SWEEP_MS || now < this.lastSweepAt) this.expire(settings, now);
    // A time further ahead than the schedule's longest wait was set before the clock jumped back.
    const maxRecoverWait = Math.max(0, ...recoverySchedule(settings.recover_schedule));
    const recovering = this.recoverAt !== null && (this.recoverAt <= now || this.recoverAt > now + maxRecoverWait);
    const work = () => {
      const recorded = this.recordFinished(now);
      const recovered = recovering ? this.deps.queue.recoverDue(now, settings.max_retries, maxRecoverWait) : [];
      const recoverAt = this.deps.queue.nextRecoverAt();
      const claimed = new Map<EndpointState, Claim[]>();
      // One still due after recoverDue would make the loop spin; the idle tick looks again.
      let nextWake = recoverAt !== null && recoverAt > now ? Math.min(now + IDLE_TICK_MS, recoverAt) : now + IDLE_TICK_MS;
      for (const endpoint of this.deps.endpoints.list()) {
        if (!endpoint.enabled) continue;
        const state = this.stateOf(endpoint, settings);
        if (endpoint.unreachableSince !== null) {
          if (!state.checking && now >= state.nextCheckAt) this.checkEndpoint(endpoint, state, settings);
          if (!state.checking) nextWake = Math.min(nextWake, state.nextCheckAt);
        } else if (!settings.paused) {
          const { claims, nextDue } = this.claimFor(state, settings, now);
          claimed.set(state, claims);
          nextWake = Math.min(nextWake, nextDue);
        }
      }
      // Paused, held, disabled or removed since the last turn: what was ready is not sent.
      const dropped = [...this.state.values()].filter((state) => !claimed.has(state));
      const released = [...this.unclaimed, ...dropped.flatMap((state) => state.ready.map((claim) => claim.seq))];
      this.deps.queue.release(this.deps.owner, released);
      return { recorded, recovered, recoverAt, claimed, dropped, nextWake, saved: this.saveLimits(now) };
    };
    // A turn with nothing to record or give back (an idle tick, a capture while the endpoint
    // is held) takes no write lock; its claims, if any, commit on their own.
    const writes =
      recovering ||
      this.finished.length > 0 ||
      this.unclaimed.length > 0 ||
      [...this.state.values()].some((state) => state.ready.length > 0 || this.limitToSave(state, now) !== null);
    const turn = writes ? this.deps.queue.inOneCommit(work) : work();
    // Committed: only now does memory follow what the outbox says.
    this.unclaimed = [];
    this.recoverAt = turn.recoverAt;
    for (const state of turn.dropped) state.ready = [];
    for (const [state, limit] of turn.saved) {
      state.savedLimit = limit;
      state.savedAt = now;
    }
    this.log(turn.recorded);
    for (const { id, status, recoveries } of turn.recovered) {
      this.deps.log.info({ delivery: id, to: status, reason: `automatic retry ${recoveries}` }, 'delivery state');
    }
    for (const [state, claims] of turn.claimed) {
      state.ready.push(...claims);
      this.launch(state, settings);
    }
    return turn.nextWake;
  }

  /**
   * Records the attempts that finished since the last turn (inside the turn's commit). One
   * that cannot be recorded (its delivery was removed with its endpoint meanwhile) is
   * logged and left out; a failure that undid the whole transaction (a full disk) is thrown.
   */
  private recordFinished(now: number): Finished[] {
    const finished = this.finished;
    this.finished = [];
    return finished.filter(({ claim, attempt }) => {
      try {
        recordAttempt(this.deps.queue, this.deps.owner, claim, attempt, now);
        return true;
      } catch (error) {
        if (!(error instanceof AttemptNotRecordedError)) throw error;
        this.deps.log.error({ err: error, delivery: claim.id }, 'attempt not recorded');
        return false;
      }
    });
  }

  /** Logs recorded attempts once their commit stands. */
  private log(recorded: Finished[]): void {
    for (const { claim, attempt } of recorded) logAttempt(this.deps.log, claim, attempt);
  }

  /**
   * Keeps track of background work so stop() can wait for it. A failure there (a bug: the
   * sender turns every network failure into an outcome) is logged, never thrown: the
   * delivery's lease runs out and it is sent again, with the same webhook-id.
   */
  private track(work: Promise<void>, what: Record<string, unknown>, done: () => void): void {
    const tracked: Promise<void> = work
      .catch((error: unknown) => this.deps.log.error({ err: error, ...what }, 'delivery work failed'))
      .finally(() => {
        this.running.delete(tracked);
        done();
      });
    this.running.add(tracked);
  }

  private stateOf(endpoint: Endpoint, settings: Settings): EndpointState {
    let state = this.state.get(endpoint.id);
    if (!state) {
      state = {
        endpoint,
        inFlight: new Set(),
        ready: [],
        limit: new ConcurrencyLimit(settings.max_in_flight, endpoint.strictOrder ? null : endpoint.inFlightLimit),
        savedLimit: endpoint.inFlightLimit,
        savedAt: -Infinity,
        backoffMs: null,
        nextCheckAt: 0,
        checking: false,
        rate: null,
      };
      this.state.set(endpoint.id, state);
    } else if (state.endpoint.url !== endpoint.url) {
      // Another receiver: what the old one took says nothing about it.
      state.limit = new ConcurrencyLimit(settings.max_in_flight);
      state.savedLimit = null;
    }
    state.endpoint = endpoint;
    state.limit.setCeiling(settings.max_in_flight);
    state.backoffMs ??= settings.offline_check_min_ms;
    // A rate set since the last turn starts from the outbox's last minute.
    if (endpoint.maxPerMinute === null) state.rate = null;
    else state.rate ??= { window: new RateWindow(), readThrough: null, readAt: 0, holding: false };
    return state;
  }

  /** The endpoint's limit when it is to be written to its row now; null when it is not. */
  private limitToSave(state: EndpointState, now: number | null): number | null {
    const { limit } = state.limit;
    if (state.endpoint.strictOrder || limit === state.savedLimit) return null;
    return now === null || now - state.savedAt >= LIMIT_SAVE_MS ? limit : null;
  }

  /** Writes the limits that changed (at `now`: those last written a while ago; null: all). */
  private saveLimits(now: number | null): [EndpointState, number][] {
    const saved: [EndpointState, number][] = [];
    for (const state of this.state.values()) {
      const limit = this.limitToSave(state, now);
      if (limit === null) continue;
      this.deps.endpoints.setInFlightLimit(state.endpoint.id, limit);
      saved.push([state, limit]);
    }
    return saved;
  }

  /**
   * Claims due deliveries up to the endpoint's room in flight and as many again (at least
   * CLAIM_BATCH), and as many as its rate lets start now, and says when it next needs the
   * loop: never while it has work (a finished attempt wakes the loop when the ready ones
   * run out), else when its next delivery becomes due, and not before its rate makes room.
   */
  private claimFor(state: EndpointState, settings: Settings, now: number): { claims: Claim[]; nextDue: number } {
    const { endpoint } = state;
    const { limit } = state.limit;
    const window = endpoint.strictOrder ? 1 : limit + Math.max(limit, CLAIM_BATCH);
    const slots = window - state.inFlight.size - state.ready.length;
    const room = Math.min(slots, this.rateRoom(state, now));
    const maxWait = Math.max(settings.retry_delay_ms, settings.retry_after_max_ms);
    const claims = this.deps.queue.claim(endpoint.id, this.deps.owner, now, settings.lease_ms, room, endpoint.strictOrder, maxWait);
    if (claims.length < room) {
      const due = this.deps.queue.nextDueAt(endpoint.id, endpoint.strictOrder);
      return { claims, nextDue: due !== null && due > now ? due : Infinity };
    }
    if (room > 0 || slots <= 0) return { claims, nextDue: Infinity };
    return { claims, nextDue: this.heldByRate(state, now) };
  }

  /**
   * How many more deliveries the endpoint's rate lets start now, its ready ones counted as
   * started (no limit without a rate). The minute's starts are brought up to date from the
   * outbox first; if they leave less room than there are ready deliveries (a Send Test
   * meanwhile, a lower rate), the newest ready ones are given back rather than left leased.
   */
  private rateRoom(state: EndpointState, now: number): number {
    const { rate, endpoint } = state;
    if (!rate || endpoint.maxPerMinute === null) return Infinity;
    // Read on from the last turn; after a minute without one (held, paused) or a clock set
    // back, read the last minute afresh instead, which costs less than catching up.
    const fresh = rate.readThrough !== null && now >= rate.readAt && now - rate.readAt < RATE_WINDOW_MS;
    const read = this.deps.queue.attemptStarts(endpoint.id, fresh ? rate.readThrough : null, now);
    if (!fresh) rate.window.forgetRecorded();
    for (const start of read.starts) rate.window.recorded(start.delivery, start.startedAt);
    rate.readThrough = read.lastId;
    rate.readAt = now;
    const room = rate.window.room(endpoint.maxPerMinute, now) - state.ready.length;
    if (room < 0) this.unclaimed.push(...state.ready.splice(room).map((claim) => claim.seq));
    if (room > 0) rate.holding = false;
    return Math.max(room, 0);
  }

  /** The rate leaves no room now: the loop looks again when it does, if a delivery is due by then. */
  private heldByRate(state: EndpointState, now: number): number {
    const { rate, endpoint } = state;
    const due = this.deps.queue.nextDueAt(endpoint.id, endpoint.strictOrder);
    if (!rate || endpoint.maxPerMinute === null || due === null) return Infinity;
    const freesAt = rate.window.freesAt(endpoint.maxPerMinute, now);
    if (due <= now && !rate.holding) {
      rate.holding = true;
      this.deps.log.debug(
        { endpoint: endpoint.id, maxPerMinute: endpoint.maxPerMinute, resumeInMs: freesAt - now },
        'deliveries held back by the endpoint rate',
      );
    }
    return Math.max(due, freesAt);
  }

  /**
   * Starts ready deliveries while the endpoint has room in flight and its rate has room. One
   * whose lease could run out before its attempt is recorded (it waited behind slow answers)
   * is given back, and claimed afresh at the next turn: a lease that ran out lets the
   * delivery be claimed, and sent, a second time.
   */
  private launch(state: EndpointState, settings: Settings): void {
    const { rate } = state;
    const perMinute = state.endpoint.maxPerMinute;
    while (state.inFlight.size < (state.endpoint.strictOrder ? 1 : state.limit.limit) && state.ready.length > 0) {
      const now = this.now();
      if (rate && perMinute !== null && rate.window.room(perMinute, now) <= 0) break;
      const claim = state.ready.shift()!;
      if (claim.leaseExpiresAt - now < settings.attempt_timeout_ms + IDLE_TICK_MS) {
        this.unclaimed.push(claim.seq);
        continue;
      }
      state.inFlight.add(claim.seq);
      rate?.window.started(claim.seq, now);
      // The limit it started under hears its answer, even if the endpoint's URL changes meanwhile.
      const { limit } = state;
      const mark = limit.start();
      this.track(this.attempt(state, claim, settings, limit, mark), { delivery: claim.id }, () => this.attemptDone(state, claim));
    }
  }

  private async attempt(state: EndpointState, claim: Claim, settings: Settings, limit: ConcurrencyLimit, mark: number): Promise<void> {
    const { endpoint } = state;
    const attempt = await makeAttempt(this.deps, endpoint, claim, settings, this.shutdown.signal);
    if (!attempt) return;
    this.finished.push({ claim, attempt });
    if (!endpoint.strictOrder) {
      limit.observe(mark, limitSignal(attempt.outcome, attempt.decision), attempt.record.durationMs, state.inFlight.size);
    }
    if (attempt.outcome.kind === 'answered') state.backoffMs = settings.offline_check_min_ms;
    const { decision } = attempt;
    if (decision.status === 'waiting' && !state.checking) {
      state.nextCheckAt = this.now() + (state.backoffMs ?? settings.offline_check_min_ms);
    }
    // The endpoint is held or disabled once this attempt is recorded: the rest must wait.
    if (decision.status === 'waiting' || (decision.status === 'failed' && decision.disableEndpoint)) this.unready(state);
  }

  /**
   * An attempt ended: the next ready delivery takes its place at once, unless the loop
   * stopped or the operator paused delivery. When none is ready, the loop turns (records
   * what finished, claims more).
   */
  private attemptDone(state: EndpointState, claim: Claim): void {
    state.inFlight.delete(claim.seq);
    if (this.stopped) return;
    const settings = this.deps.settings();
    if (settings.paused) this.unready(state);
    this.launch(state, settings);
    if (state.ready.length === 0) this.wake();
  }

  private unready(state: EndpointState): void {
    this.unclaimed.push(...state.ready.map((claim) => claim.seq));
    state.ready = [];
  }

  private checkEndpoint(endpoint: Endpoint, state: EndpointState, settings: Settings): void {
    state.checking = true;
    const check = this.check(endpoint.url, endpoint.ca, settings.connect_timeout_ms).then((result) => {
      if (this.stopped) return;
      const now = this.now();
      if (result.ok) {
        const resumed = this.deps.queue.resumeEndpoint(endpoint.id, now);
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
      this.wake();
    });
  }

  private expire(settings: Settings, now: number): void {
    this.lastSweepAt = now;
    const reason = expiredReason(settings);
    for (const id of this.deps.queue.expireOverdue(now, settings.expire_after_ms, reason)) {
      this.deps.log.warn({ delivery: id, to: 'failed', reason }, 'delivery state');
    }
  }
}
