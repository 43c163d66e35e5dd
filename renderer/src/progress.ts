// The backlog drain after an outage: "N of M sent, R per second, about T left", from the
// successive counts the panel receives. Pure, so it is tested in Node.
import type { StatusCounts } from './types.js';

/** A backlog smaller than this drains too fast to need a progress bar. */
export const BACKLOG_THRESHOLD = 10;
const RATE_WINDOW_MS = 10_000;

export interface Drain {
  sent: number;
  total: number;
  /** Deliveries per second over the last few seconds, or null before there are two samples. */
  perSecond: number | null;
  /** Milliseconds left at that rate, or null when unknown. */
  remainingMs: number | null;
}

interface Sample {
  at: number;
  delivered: number;
}

export class DrainTracker {
  private start: Sample | null = null;
  private samples: Sample[] = [];

  /**
   * Feeds the latest counts; returns the drain in progress, or null when there is none.
   * A backlog is counted from when it builds up (waiting during the outage, or queued),
   * and shown while it is being sent.
   */
  update(counts: StatusCounts, now: number): Drain | null {
    const { queued } = counts;
    const pending = queued + counts.waiting;
    if (this.start === null) {
      if (pending < BACKLOG_THRESHOLD) return null;
      this.start = { at: now, delivered: counts.delivered };
      this.samples = [];
    }
    if (pending === 0) {
      this.start = null;
      return null;
    }
    if (queued === 0) return null;
    this.samples.push({ at: now, delivered: counts.delivered });
    this.samples = this.samples.filter((s) => now - s.at <= RATE_WINDOW_MS);
    const sent = Math.max(0, counts.delivered - this.start.delivered);
    const first = this.samples[0]!;
    const elapsed = now - first.at;
    const perSecond = elapsed >= 500 ? ((counts.delivered - first.delivered) * 1000) / elapsed : null;
    return {
      sent,
      total: sent + pending,
      perSecond,
      remainingMs: perSecond ? (queued / perSecond) * 1000 : null,
    };
  }
}
