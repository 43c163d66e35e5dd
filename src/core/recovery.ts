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
