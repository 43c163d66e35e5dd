// What the operator reads: a command's answer as text or, with --json, as JSON; times in
// the booth's own clock; and the messages of bad input and of refusals, with the flag named.
import type { Command } from 'commander';
import type { Refusal } from '../operations/context.js';
import { globals } from './context.js';

/** Bad input from the operator: exit status 2 and a message that says what is wrong. */
export class UsageError extends Error {}

export function print(command: Command, json: unknown, text: string): void {
  process.stdout.write(globals(command).json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);
}

/** A number with its noun: "1 event", "2 events". */
export function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function localTime(ms: number | null): string {
  if (ms === null) return 'never';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A field an operation refused, named as the operator typed it on this command line. */
const FLAG_OF_FIELD: Record<string, string> = {
  url: 'URL',
  types: '--types',
  secret: '--secret',
  ca: '--ca',
  strictOrder: '--strict-order',
  format: '--format',
  autoRecover: '--auto-recover',
  maxPerMinute: '--max-per-minute',
  headers: '--header',
  removeHeaders: '--remove-header',
  type: '--type',
  email: '--email',
  phone: '--phone',
  session: '--session',
  event: '--event',
  since: '--since',
  until: '--until',
};

/** The refusal's message, each issue under the flag of its field (`flags`: a command group's own names). */
export function refusalMessage(refusal: Refusal, flags: Record<string, string> = FLAG_OF_FIELD): string {
  if (refusal.issues.length === 0) return refusal.message;
  return refusal.issues
    .map((issue) => {
      const field = issue.path.split('.')[0]!;
      return issue.path ? `${flags[field] ?? field}: ${issue.message}` : issue.message;
    })
    .join('\n');
}
