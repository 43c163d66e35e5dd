// Words and times for the panel: pure functions, unit-tested in Node (test/renderer/).

import type { EndpointView, PanelState, PayloadType, StatusCounts, TypeFilter } from './types.js';

export const TYPE_WORDS: Record<PayloadType, string> = {
  session: 'Photo sessions',
  share: 'Shares',
  survey: 'Surveys',
  competition_win: 'Prize wins',
};
/** Every payload type, in the order the page offers them (TYPE_WORDS names each one). */
export const PAYLOAD_TYPES = Object.keys(TYPE_WORDS) as PayloadType[];
/** In an endpoint's types: every alert, those of later versions too. */
export const ALL_ALERTS = 'agent.*';

export const isPayloadType = (type: string): type is PayloadType => (PAYLOAD_TYPES as string[]).includes(type);

export type HeadlineInput = Pick<PanelState, 'counts' | 'recovering' | 'heldSince' | 'paused'>;

export type Tone = 'good' | 'busy' | 'warn' | 'bad';

/** The one sentence an operator reads first: what needs them, or that all is well. */
export function headline(state: HeadlineInput): { tone: Tone; text: string } {
  const { counts, recovering } = state;
  const needy = counts.failed - recovering.count;
  if (needy > 0)
    return {
      tone: 'bad',
      text: `${needy} failed: needs you${recovering.count > 0 ? ` (${recovering.count} more retrying by themselves)` : ''}`,
    };
  if (counts.failed > 0 && !state.paused) {
    const at = recovering.nextAt === null ? '' : `, next at ${clock(recovering.nextAt)}`;
    return { tone: 'warn', text: `${counts.failed} failed, retrying by themselves${at}` };
  }
  if (state.paused) return { tone: 'warn', text: `Delivery paused${pending(counts) ? `: ${pending(counts)} held back` : ''}` };
  if (counts.waiting > 0) {
    const since = state.heldSince === null ? '' : ` since ${clock(state.heldSince)}`;
    return { tone: 'warn', text: `${counts.waiting} waiting for the network${since}` };
  }
  if (counts.queued > 0) return { tone: 'busy', text: `Sending ${counts.queued}…` };
  return { tone: 'good', text: 'All delivered' };
}

/**
 * The types to ask for when these boxes are ticked. No types means every booth payload and
 * no alert, so that is sent only for all four payloads without alerts; nothing ticked is
 * sent as it is, for the agent to refuse in its own words.
 */
export function chosenTypes(ticked: readonly TypeFilter[]): TypeFilter[] | null {
  const alerts = ticked.some((type) => !isPayloadType(type));
  return !alerts && PAYLOAD_TYPES.every((type) => ticked.includes(type)) ? null : [...ticked];
}

/** What an endpoint receives, in words: "Shares, Alerts", "Alerts only", "all booth events". */
export function subscriptionWords(types: readonly TypeFilter[] | null): string {
  if (types === null) return 'all booth events';
  const payloads = types.filter(isPayloadType).map((type) => TYPE_WORDS[type]);
  const named = types.filter((type) => !isPayloadType(type) && type !== ALL_ALERTS);
  const alerts = types.includes(ALL_ALERTS) ? 'Alerts' : named.length > 0 ? `Alerts (${named.join(', ')})` : null;
  if (alerts === null) return payloads.join(', ');
  return payloads.length === 0 ? `${alerts} only` : [...payloads, alerts].join(', ');
}

/** How an endpoint differs from the plain default, one phrase each (its types and status apart). */
export function endpointFacts(endpoint: EndpointView): string[] {
  const facts: string[] = [];
  if (endpoint.strictOrder) facts.push('one at a time');
  else if (endpoint.inFlightLimit !== null) facts.push(`up to ${endpoint.inFlightLimit} at once`);
  if (endpoint.format === 'flat') facts.push('flat format');
  if (endpoint.format === 'chat') facts.push('chat messages');
  if (endpoint.maxPerMinute !== null) facts.push(`at most ${endpoint.maxPerMinute} a minute`);
  if (endpoint.autoRecover === 'off') facts.push('no automatic retries');
  if (endpoint.autoRecover === 'all') facts.push('automatic retries, also after a refusal');
  if (endpoint.headerNames.length > 0) facts.push(`headers: ${endpoint.headerNames.join(', ')}`);
  return facts;
}

function pending(counts: StatusCounts): number {
  return counts.queued + counts.waiting;
}

/** HH:MM in the booth's local time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A full local date and time, e.g. 2026-11-27 21:04:05. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "just now", "3 min ago", "2 h ago", "yesterday", "4 days ago". */
export function relative(ms: number, now: number): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 0) return 'in the future';
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h ago`;
  const days = Math.floor(h / 24);
  return days === 1 ? 'yesterday' : `${days} days ago`;
}

/** A length of time in words: "850 ms", "42 s", "6 min", "3 h 20 min". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
}

/** A size as an operator reads it: "812 B", "4.2 MB", "1.3 GB" (powers of 1,000, as file managers show them). */
export function size(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const [value, unit] = [
    [bytes / 1e12, 'TB'],
    [bytes / 1e9, 'GB'],
    [bytes / 1e6, 'MB'],
    [bytes / 1e3, 'kB'],
  ].find(([v]) => (v as number) >= 0.99995) as [number, string];
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
