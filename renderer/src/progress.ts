// The backlog drain after an outage: "N of M sent, R per second, about T left", and an
// upload's "R per second, about T left", from the successive readings the panel receives.
// Pure, so it is tested in Node.
import type { StatusCounts, UploadView } from './types.js';

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

/**
 * An upload's progress moves only as a part finishes (8 MiB at a time), so its rate is taken
 * over a longer window than the drain's, from the first reading in it to the last.
 */
const UPLOAD_WINDOW_MS = 60_000;

export interface UploadSpeed {
  /** Bytes per second, or null until the upload has moved since the panel first saw it. */
  perSecond: number | null;
  remainingMs: number | null;
}

export class UploadRates {
  private readonly samples = new Map<string, { at: number; bytes: number }[]>();

  /** Feeds the uploads under way as read at `now` (the agent's clock); forgets the others. */
  update(uploading: readonly Pick<UploadView, 'id' | 'bytesDone' | 'size'>[], now: number): Map<string, UploadSpeed> {
    const speeds = new Map<string, UploadSpeed>();
    const seen = new Set(uploading.map((u) => u.id));
    for (const id of this.samples.keys()) if (!seen.has(id)) this.samples.delete(id);
    for (const upload of uploading) {
      const kept = (this.samples.get(upload.id) ?? []).filter((s) => now - s.at <= UPLOAD_WINDOW_MS && s.bytes <= upload.bytesDone);
      kept.push({ at: now, bytes: upload.bytesDone });
      this.samples.set(upload.id, kept);
      const first = kept[0]!;
      const moved = upload.bytesDone - first.bytes;
      const perSecond = moved > 0 && now > first.at ? (moved * 1000) / (now - first.at) : null;
      speeds.set(upload.id, { perSecond, remainingMs: perSecond ? ((upload.size - upload.bytesDone) / perSecond) * 1000 : null });
    }
    return speeds;
  }
}
