// An endpoint's rate (`--max-per-minute N`, docs/webhooks.md "A rate for each endpoint"):
// at most N attempts start in any 60 seconds, a minute that slides rather than one that
// begins on the clock's minute. An attempt counts from the moment it started, for a
// minute, however long it took.
//
// The window holds two kinds of start: attempts this process started and has not yet read
// back from the outbox, and attempts read back from it (its own once recorded, Send
// Test's, those of an earlier run). An attempt moves from the first kind to the second when
// it is read back, so it is never counted twice, and an attempt that was never recorded
// (cut short at shutdown) still counts until its minute is over. The outbox can give the
// same start twice (read while in flight, then recorded): it counts once.

export const RATE_WINDOW_MS = 60_000;

export class RateWindow {
  /** Starts read back from the outbox, oldest first. */
  private readonly recordedStarts: { delivery: number; at: number }[] = [];
  /** Attempts started here and not yet read back, by delivery: a delivery has one attempt in flight at most. */
  private readonly unread = new Map<number, number>();

  /** This process starts an attempt at the delivery `delivery`. */
  started(delivery: number, at: number): void {
    this.unread.set(delivery, at);
  }

  /** An attempt read back from the outbox; if it was one started here, it stops counting as unread. */
  recorded(delivery: number, startedAt: number): void {
    this.unread.delete(delivery);
    const starts = this.recordedStarts;
    let i = starts.length;
    while (i > 0 && starts[i - 1]!.at > startedAt) i--;
    for (let same = i - 1; same >= 0 && starts[same]!.at === startedAt; same--) {
      if (starts[same]!.delivery === delivery) return;
    }
    starts.splice(i, 0, { delivery, at: startedAt });
  }

  /** Forgets what was read back, before the outbox's last minute is read afresh. */
  forgetRecorded(): void {
    this.recordedStarts.length = 0;
  }

  /** How many more attempts may start at `now` (none when 0 or less). */
  room(limit: number, now: number): number {
    this.prune(now);
    return limit - this.recordedStarts.length - this.unread.size;
  }

  /** When `room` is next above 0: now if it is, else when enough of the oldest starts have left the minute. */
  freesAt(limit: number, now: number): number {
    const over = -this.room(limit, now);
    if (over < 0) return now;
    const starts = [...this.recordedStarts.map((start) => start.at), ...this.unread.values()].sort((a, b) => a - b);
    return starts[over]! + RATE_WINDOW_MS;
  }

  /**
   * Drops the starts that have left the minute. A start later than `now` was counted by a
   * clock that has since been set back: it counts as starting now, so that it holds the
   * endpoint back for a minute at most rather than until the clock catches up.
   */
  private prune(now: number): void {
    const starts = this.recordedStarts;
    let gone = 0;
    while (gone < starts.length && starts[gone]!.at <= now - RATE_WINDOW_MS) gone++;
    starts.splice(0, gone);
    for (let i = starts.length - 1; i >= 0 && starts[i]!.at > now; i--) starts[i]!.at = now;
    for (const [delivery, at] of this.unread) {
      if (at <= now - RATE_WINDOW_MS) this.unread.delete(delivery);
      else if (at > now) this.unread.set(delivery, now);
    }
  }
}
