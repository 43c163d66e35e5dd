// The booth's clock against an endpoint's, read from the Date header of its answers.
// Receivers that check webhook-timestamp (Standard Webhooks) reject signatures made more
// than 5 minutes off their own clock, so the operator is warned past that.

export const CLOCK_SKEW_LIMIT_MS = 5 * 60 * 1000;

/** The endpoint's clock minus ours, in ms (0 within the header's one-second precision), or null. */
export function clockSkew(dateHeader: string | null, localMs: number): number | null {
  if (dateHeader === null) return null;
  const remote = Date.parse(dateHeader);
  if (Number.isNaN(remote)) return null;
  const diff = remote - localMs;
  return Math.abs(diff) < 1000 ? 0 : Math.round(diff);
}
