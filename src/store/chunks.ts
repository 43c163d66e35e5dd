// The operator's long work on the outbox (a replay, an erase) and the hourly retention run
// in chunks: each chunk is one short transaction over a range of the events' `seq`, and
// between two chunks the write lock is free. A capture in the same process (the agent
// running the admin API's replay) gets its turn because the event loop runs between
// chunks; a writer in another process (the agent while the CLI replays) gets it because the
// lock stays free for as long as the chunk held it: SQLite's busy handler only looks again
// every few milliseconds, and would miss a gap of microseconds.

/** Events' `seq` values one chunk covers: a few milliseconds of work, up to about 20. */
export const CHUNK_SEQS = 500;

/** The longest pause between two chunks, however long the chunk before took. */
const MAX_PAUSE_MS = 20;

/**
 * Runs `step` (one short transaction) until it says there is nothing more to do, with the
 * event loop running and the write lock free between two steps.
 */
export async function inChunks(step: () => boolean): Promise<void> {
  for (;;) {
    const started = performance.now();
    if (!step()) return;
    const held = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_PAUSE_MS, Math.max(1, held))));
  }
}
