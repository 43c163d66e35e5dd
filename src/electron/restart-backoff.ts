// The agent runs in a utility process; if it dies, the tray stays and the agent is started
// again: at once the first time, then 1 s, 2 s, 4 s … up to a minute while it keeps dying.
// A run that lasted five minutes counts as healthy and resets the count.

export const HEALTHY_RUN_MS = 5 * 60 * 1000;
const MAX_DELAY_MS = 60_000;

export interface RestartState {
  /** Consecutive crashes of runs shorter than HEALTHY_RUN_MS. */
  crashes: number;
}

export function nextRestart(state: RestartState, ranForMs: number): { delayMs: number; state: RestartState } {
  const crashes = ranForMs >= HEALTHY_RUN_MS ? 1 : state.crashes + 1;
  const delayMs = crashes <= 1 ? 0 : Math.min(1000 * 2 ** (crashes - 2), MAX_DELAY_MS);
  return { delayMs, state: { crashes } };
}
