// How many deliveries an endpoint gets in flight at once, found by watching its answers.
// A receiver says it has had enough in two ways: it refuses (429, 503) or gives up (no
// answer in time), or it takes every request and queues them, so that answers slow down.
//
// The limit follows CUBIC, TCP's congestion control in Linux, Windows and macOS
// (RFC 9438), with its clock counted in round trips rather than seconds:
//
// - Slow start: until the first sign of overload the limit grows by one per answer, so
//   it doubles each round trip and a receiver that takes 30 at once gets 30 in seconds.
//   Answers slowing down end it early, level where it is (HyStart++, RFC 9406).
// - On overload the limit drops to DECREASE of itself and remembers where it was
//   (`peak`). It then climbs back along a cubic curve: quickly at first, flattening as it
//   nears the peak, level around it for a few round trips, then faster and faster beyond
//   it. So the limit spends its time just under what the receiver took last, probes past
//   it rarely, and still finds a receiver that has grown within a few round trips.
// - One decrease per round trip: deliveries sent before a decrease were sent under the
//   old limit, so their refusals are the same overload, counted once (as in TCP's fast
//   recovery).
// - Latency, as in TCP Vegas: "grow while answers come back as fast". The mean answer
//   time of each round trip (of at least MIN_ROUND_ANSWERS answers) is compared with the
//   receiver's pace, measured over recent rounds that were not slow. Past FLAT_TOLERANCE
//   times it the limit stops growing; past DELAY_TOLERANCE, or slow for HOLD_ROUNDS in a
//   row, the receiver is queueing and the limit comes down as on a refusal. The round
//   after that cut tells a queue (less load, faster answers) from a receiver that simply
//   got slower (less load, no faster), whose new pace then becomes the measure.
// - Growth only while the limit is in use: a trickle of live captures neither raises the
//   limit to a level nobody tried nor moves the curve's clock on.
//
// Why not plain AIMD (one more per round trip, cut on overload): its sawtooth either
// gives up a quarter of the receiver (cut to 0.5) or overshoots every other round trip
// (0.9); and one more per round trip is a quarter of a receiver that takes 4, which then
// refuses one request in seven. CUBIC's plateau makes refusals rare at any size.
// Why not a latency law alone (Vegas, Netflix's gradient limit): a rate-limited receiver
// answers its 429s as fast as its 200s, and the latency never shows it.
//
// Pure: the delivery loop reports when an attempt starts and what came back, and reads
// the limit; no clock is needed, since time is counted in round trips.
import type { AttemptOutcome, Decision } from './policy.js';

/** What one answered attempt says about the endpoint's capacity. */
export type LimitSignal =
  /** Delivered: room to grow. */
  | 'ok'
  /** 429, 503, or no answer in time: past what the endpoint takes. */
  | 'overload'
  /** Any other answer (a refusal of this one delivery, a 500, an unreachable host): says nothing about capacity. */
  | 'neutral';

/** What an attempt's outcome, and the policy's decision on it, say about the endpoint's capacity. */
export function limitSignal(outcome: AttemptOutcome, decision: Decision): LimitSignal {
  if (decision.status === 'delivered') return 'ok';
  if (outcome.kind === 'no-response') return 'overload';
  if (outcome.kind === 'answered' && (outcome.status === 429 || outcome.status === 503)) return 'overload';
  return 'neutral';
}

/** The limit a new endpoint starts at: the fixed number every endpoint got before the limit adapted. */
export const INITIAL_LIMIT = 4;
/** What a decrease leaves of the limit (RFC 9438's β). */
export const DECREASE = 0.7;
/**
 * The cubic's clock ticks once per round trip, as RFC 9438's does once per second, but
 * never faster than once per this many answers: a small receiver (a limit of 4 is four
 * answers a round trip) then sees the limit level near its peak for as many requests as
 * a receiver of 16 does, and so no more refusals per request.
 */
const ANSWERS_PER_TICK = 16;
/** The cubic's scale, per tick cubed: 0.1 keeps the limit within one of the peak for about four ticks. */
const CUBIC_SCALE = 0.1;
/** A round answered this many times slower than the receiver's pace stops the limit growing... */
const FLAT_TOLERANCE = 1.2;
/** ...and this many times slower, or slow for HOLD_ROUNDS rounds in a row, brings it down. */
const DELAY_TOLERANCE = 1.5;
const HOLD_ROUNDS = 8;
/**
 * After a cut for latency, the next round shows whether the load was the cause: at least
 * this much faster, it was; otherwise the receiver itself got slower, and its pace is
 * measured again from there (much as TCP BBR's ProbeRTT measures a path with its queue drained).
 */
const RELIEF = 0.9;
/** A round's mean answer time is compared once it has this many answers: fewer are too noisy. */
const MIN_ROUND_ANSWERS = 16;
/**
 * Slow start doubles the limit each round, too fast to wait for rounds of 16. As
 * HyStart++ in Linux's CUBIC (RFC 9406), it ends once a round's fastest answer (of at
 * least SLOW_START_SAMPLES) is this many times slower than the fastest round's: the
 * fastest of a few answers is steady where their mean is not.
 */
const SLOW_START_EXIT = 1.5;
const SLOW_START_SAMPLES = 4;
/**
 * The receiver's pace is the lower quartile of the means of this many recent rounds that
 * were not slow: low, as the pace without a queue, yet not set by one lucky round.
 */
const PACE_ROUNDS = 20;

/** A round trip's mean answer time, and the mean number of attempts out with each answer. */
interface RoundMeans {
  latency: number;
  load: number;
}

export class ConcurrencyLimit {
  /** The limit as a fraction: it grows by fractions of one per answer. */
  private window: number;
  /** Where the last overload happened; null before the first (slow start). */
  private peak: number | null;
  /** Ticks since the last decrease, counted while the limit was in use: the cubic's clock. */
  private epochTicks = 0;
  /** Ticks from the last decrease until the cubic reaches the peak again. */
  private toPeak = 0;
  /** Attempts started so far; each start is marked with this count. */
  private started = 0;
  /** Attempts started before this mark were sent under a limit that has since been cut. */
  private recoverFrom = 0;
  /** The current round trip ends when an attempt started after this mark is answered. */
  private roundFrom = 0;
  /** The answers of the round so far, with the sums of their times and of the attempts out with each. */
  private round = { latency: 0, load: 0, answers: 0 };
  /** In slow start: the fastest answer of this round trip and how many it had, and the lowest such of any round. */
  private slowStart = { fastest: Infinity, answers: 0, lowest: Infinity };
  /** Mean answer times of recent rounds that were not slow, newest last. */
  private readonly paces: number[] = [];
  /** Slow rounds in a row: the limit does not grow while the last round was slow. */
  private slowRounds = 0;
  /**
   * The slow round that caused the last cut, until the round after it is compared with
   * it. Meanwhile the limit does not grow, so that round is measured with less load.
   */
  private cutAt: RoundMeans | null = null;

  constructor(
    private ceiling: number,
    /** A limit found earlier (before a restart): start there, level, probing beyond it as past a peak. */
    resumeAt: number | null = null,
  ) {
    this.window = clamp(resumeAt ?? INITIAL_LIMIT, ceiling);
    this.peak = resumeAt === null ? null : this.window;
  }

  /** How many attempts may be in flight now. */
  get limit(): number {
    return Math.floor(this.window);
  }

  /** `max_in_flight` changed: the limit stays below the new ceiling. */
  setCeiling(ceiling: number): void {
    this.ceiling = ceiling;
    this.window = clamp(this.window, ceiling);
  }

  /** An attempt starts; what this returns goes back with its answer to observe(). */
  start(): number {
    return this.started++;
  }

  /**
   * The attempt marked `mark` came back with `signal` after `latencyMs`, while `inFlight`
   * attempts (itself included) were out.
   */
  observe(mark: number, signal: LimitSignal, latencyMs: number, inFlight: number): void {
    if (signal === 'neutral') return;
    // Sent before the last cut, under a higher limit: its refusal is the overload already
    // answered, and its answer time says nothing about the new limit.
    const sinceCut = mark >= this.recoverFrom;
    if (signal === 'overload') {
      if (sinceCut) this.decrease();
      return;
    }
    if (sinceCut) {
      this.round.latency += latencyMs;
      this.round.load += inFlight;
      this.round.answers++;
      this.slowStart.fastest = Math.min(this.slowStart.fastest, latencyMs);
      this.slowStart.answers++;
    }
    if (sinceCut && mark >= this.roundFrom) {
      this.roundFrom = this.started;
      if (this.peak === null && this.slowStart.answers >= SLOW_START_SAMPLES) this.endSlowStartRound();
      const slow = this.round.answers >= MIN_ROUND_ANSWERS ? this.endRound() : null;
      if (slow !== null) {
        this.decrease();
        this.cutAt = slow;
        return;
      }
    }
    // An answer while fewer than half the allowed were out says nothing about the limit.
    if (this.slowRounds > 0 || this.cutAt !== null || 2 * inFlight < this.window) return;
    this.epochTicks += 1 / Math.max(ANSWERS_PER_TICK, this.window);
    this.grow();
  }

  /** Ends slow start, level where the limit is, if this round's fastest answer was markedly slower than the fastest round's. */
  private endSlowStartRound(): void {
    const { fastest, lowest } = this.slowStart;
    if (fastest > SLOW_START_EXIT * lowest) this.level();
    this.slowStart = { fastest: Infinity, answers: 0, lowest: Math.min(lowest, fastest) };
  }

  /** Compares the round that just ended with the receiver's pace; returns it when the limit is to come down. */
  private endRound(): RoundMeans | null {
    const { latency, load, answers } = this.round;
    const round = { latency: latency / answers, load: load / answers };
    this.round = { latency: 0, load: 0, answers: 0 };
    // Less load (or none to shed) and no faster: the receiver itself got slower.
    const cut = this.cutAt;
    if (cut && round.load <= Math.max(1, RELIEF * cut.load) && round.latency >= RELIEF * cut.latency) this.paces.length = 0;
    this.cutAt = null;
    const mean = round.latency;
    const pace = this.paces.length > 0 ? [...this.paces].sort((a, b) => a - b)[Math.floor(this.paces.length / 4)]! : mean;
    if (mean > FLAT_TOLERANCE * pace) {
      this.slowRounds++;
      if (this.peak === null) this.level();
      if (mean <= DELAY_TOLERANCE * pace && this.slowRounds < HOLD_ROUNDS) return null;
      this.slowRounds = 0;
      return round;
    }
    this.slowRounds = 0;
    this.paces.push(mean);
    if (this.paces.length > PACE_ROUNDS) this.paces.shift();
    return null;
  }

  private grow(): void {
    if (this.peak === null) {
      this.window = clamp(this.window + 1, this.ceiling);
      return;
    }
    const t = this.epochTicks - this.toPeak;
    const target = this.peak + CUBIC_SCALE * t * t * t;
    // As RFC 9438: close the gap to the curve over one round trip, never faster than slow start.
    if (target > this.window) this.window = clamp(this.window + Math.min(1, (target - this.window) / this.window), this.ceiling);
  }

  /** Ends slow start: from here the limit grows along the cubic, level where it is now. */
  private level(): void {
    this.peak = this.window;
    this.toPeak = 0;
    this.epochTicks = 0;
  }

  private decrease(): void {
    this.peak = this.window;
    this.window = clamp(this.window * DECREASE, this.ceiling);
    this.toPeak = Math.cbrt((this.peak - this.window) / CUBIC_SCALE);
    this.epochTicks = 0;
    this.recoverFrom = this.started;
    this.round = { latency: 0, load: 0, answers: 0 };
    this.cutAt = null;
  }
}

function clamp(value: number, ceiling: number): number {
  return Math.min(Math.max(value, 1), ceiling);
}
