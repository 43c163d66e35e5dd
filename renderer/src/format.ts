// Words and times for the panel: pure functions, unit-tested in Node (test/renderer/).

import type { PanelState, StatusCounts } from './types.js';

export type HeadlineInput = Pick<PanelState, 'counts' | 'heldSince' | 'paused'>;

export type Tone = 'good' | 'busy' | 'warn' | 'bad';

/** The one sentence an operator reads first: what needs them, or that all is well. */
export function headline(state: HeadlineInput): { tone: Tone; text: string } {
  const { counts } = state;
  if (counts.failed > 0) return { tone: 'bad', text: `${counts.failed} failed: needs you` };
  if (state.paused) return { tone: 'warn', text: `Delivery paused${pending(counts) ? `: ${pending(counts)} held back` : ''}` };
  if (counts.waiting > 0) {
    const since = state.heldSince === null ? '' : ` since ${clock(state.heldSince)}`;
    return { tone: 'warn', text: `${counts.waiting} waiting for the network${since}` };
  }
  if (counts.queued > 0) return { tone: 'busy', text: `Sending ${counts.queued}…` };
  return { tone: 'good', text: 'All delivered' };
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

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
