// The captured events once the booth has them: export them for the organiser, replay them
// to an endpoint, erase a guest's personal data, and close out (is it safe to pack up?).
import { createWriteStream, openSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { parseDuration } from '../core/closeout.js';
import { EXPORT_FORMATS, type ExportFormat } from '../core/export-format.js';
import type { TypeFilter } from '../core/event-types.js';
import { PAYLOAD_TYPES, type PayloadType } from '../core/payload.js';
import { photosWords, sizeWords } from '../core/media.js';
import type { CloseoutReport, EraseResult, ReplayResult, StorageErasure } from '../core/read-model.js';
import { closeout } from '../operations/closeout.js';
import { eraseGuest, type EraseInput } from '../operations/erase.js';
import { exportEvents } from '../operations/export.js';
import { replayToEndpoint } from '../operations/replay.js';
import { globals, withOperations } from './context.js';
import { count, localTime, print, UsageError } from './output.js';

interface SelectionOptions {
  event?: string;
  since?: string;
  until?: string;
  type?: PayloadType[];
}

/** The options that choose captured events, the same for export and replay. */
function selectionOptions(command: Command): Command {
  return command
    .option('--event <id>', "only the organiser's event with this id (the payload's event_id)")
    .option('--since <iso>', 'only events captured at or after this ISO 8601 date or date-time')
    .option('--until <iso>', 'only events captured before this ISO 8601 date or date-time')
    .addOption(new Option('--type <type...>', 'only events of this type (repeat for more)').choices(PAYLOAD_TYPES));
}

function selection(options: SelectionOptions) {
  return {
    ...(options.event !== undefined ? { event: options.event } : {}),
    ...(options.since !== undefined ? { since: options.since } : {}),
    ...(options.until !== undefined ? { until: options.until } : {}),
    ...(options.type !== undefined ? { types: options.type } : {}),
  };
}

export function exportCommand(program: Command): void {
  selectionOptions(
    program
      .command('export')
      .description("the captured events for the organiser, as CSV (a row per event) or JSON lines, with each endpoint's delivery"),
  )
    .addOption(new Option('--format <format>', 'csv or jsonl').choices(EXPORT_FORMATS).default('csv'))
    .option('--output <file>', 'write to this file (default: standard output)')
    .action(async (options: SelectionOptions & { format: ExportFormat; output?: string }, command: Command) => {
      await withOperations(command, async (ctx) => {
        const download = exportEvents(ctx, { format: options.format, ...selection(options) });
        if (options.output === undefined) {
          await pipeline(download.stream, process.stdout);
          return;
        }
        const file = options.output;
        let fd: number;
        try {
          fd = openSync(file, 'w');
        } catch (error) {
          download.stream.destroy();
          throw new UsageError(`cannot write ${file}: ${(error as Error).message}`);
        }
        try {
          await pipeline(download.stream, createWriteStream(file, { fd }));
        } catch (error) {
          // Half a file would pass for the whole export.
          rmSync(file, { force: true });
          throw error;
        }
        const rows = download.rows();
        print(command, { output: file, format: options.format, rows }, `exported ${count(rows, 'event', 'events')} to ${file}`);
      });
    });
}

export function replayCommand(program: Command): void {
  selectionOptions(
    program
      .command('replay')
      .description('send captured events to an endpoint that does not have them yet (an endpoint added mid-event, say)')
      .requiredOption('--endpoint <id>', 'the endpoint to send them to'),
  )
    .option('--again', 'also send again the events it already received, under the same webhook-ids')
    .action(async (options: SelectionOptions & { endpoint: string; again?: boolean }, command: Command) => {
      await withOperations(command, async (ctx) => {
        const result = await replayToEndpoint(ctx, options.endpoint, { ...selection(options), again: options.again ?? false });
        const endpoint = ctx.store.endpoints.get(options.endpoint)!;
        print(command, result, describeReplay(result, endpoint.url, endpoint.types));
      });
    });
}

function describeReplay(result: ReplayResult, url: string, types: TypeFilter[] | null): string {
  const events = (n: number) => count(n, 'event', 'events');
  const { delivered, onItsWay, failed, notSubscribed } = result.skipped;
  const skipped = [
    ...(delivered ? [`${delivered} already delivered (--again sends them again)`] : []),
    ...(onItsWay ? [`${onItsWay} already on their way`] : []),
    ...(failed ? [`${failed} failed (booth-agent retry --failed sends them again)`] : []),
  ];
  return [
    `queued ${events(result.queued)} to ${result.endpointId} (${url})${result.waiting ? ', waiting: it cannot be reached right now' : ''}`,
    ...(result.resent ? [`sent ${events(result.resent)} again, with the same webhook-ids`] : []),
    ...(skipped.length ? [`skipped ${skipped.join(', ')}`] : []),
    ...(notSubscribed ? [`left out ${events(notSubscribed)} of types it does not subscribe to (it takes ${types?.join(', ')})`] : []),
  ].join('\n');
}

export function eraseCommand(program: Command): void {
  program
    .command('erase')
    .description("erase a guest's personal data at the organiser's request: by email address, phone number or session id")
    .option('--email <address>', "the guest's email address (any case)")
    .option('--phone <number>', "the guest's phone number (compared by its digits)")
    .option('--session <id>', 'a session id: every event of that session')
    .option('--dry-run', 'count and list what would be erased, changing nothing')
    .action(async (options: { email?: string; phone?: string; session?: string; dryRun?: boolean }, command: Command) => {
      const { email, phone, session } = options;
      const input: EraseInput = {
        ...(email !== undefined ? { email } : {}),
        ...(phone !== undefined ? { phone } : {}),
        ...(session !== undefined ? { session } : {}),
        dryRun: options.dryRun ?? false,
      };
      if ([email, phone, session].filter((given) => given !== undefined).length !== 1) {
        throw new UsageError('give exactly one of --email, --phone or --session');
      }
      await withOperations(command, async (ctx) => {
        const result = await eraseGuest(ctx, input);
        print(command, result, describeErasure(result));
      });
    });
}

function describeErasure(result: EraseResult): string {
  const { counts } = result;
  const types = Object.entries(counts.events)
    .filter(([, n]) => n > 0)
    .map(([type, n]) => `${n} ${type}`);
  return [
    result.dryRun ? 'dry run: nothing was changed; an erase would take' : 'erased',
    `  events       ${types.length === 0 ? 'none named this guest' : `${types.join(', ')} (their personal data)`}`,
    `  undelivered  ${count(counts.undeliveredDropped, 'delivery', 'deliveries')} not made yet, dropped: never sent`,
    `  answers      ${count(counts.responseSnippets, "receiver's answer", "receivers' answers")} stored with the attempts`,
    `  hot folder   ${count(counts.hotFolderRecords, 'record', 'records')}`,
    `  dslrBooth    ${count(counts.dslrSessions, 'session record', 'session records')}`,
    `  photos       ${photosWords(
      result.media.length,
      result.media.reduce((sum, m) => sum + m.bytes, 0),
    )} of the sessions, on the booth and in the storage`,
    ...(result.events.length > 0
      ? [
          'events:',
          ...result.events.map(
            (e) =>
              `  ${e.eventId}  ${e.type}  captured ${localTime(e.capturedAt)}  ${e.delivered} delivered, ${e.undelivered} not delivered`,
          ),
        ]
      : []),
    ...(result.media.length > 0
      ? [
          'photos:',
          ...result.media.map(
            (m) =>
              `  ${m.mediaId}  session ${m.sessionId}  ${m.name}  ${sizeWords(m.bytes)}  ${m.onBooth ? 'on the booth' : 'not on the booth'}, ` +
              `${m.inStorage ? 'in the storage' : 'not in the storage'}`,
          ),
        ]
      : []),
    ...(result.storage ? storageErasureLines(result.storage) : []),
    ...(result.alreadySent.length > 0
      ? [
          'already sent, which an erase cannot take back: ask these receivers to delete it',
          ...result.alreadySent.map(
            (e) =>
              `  ${e.url}  ${e.delivered} delivered${e.attempted > 0 ? `, ${e.attempted} sent but not delivered (they may have kept it)` : ''}`,
          ),
        ]
      : []),
    result.auditId === null
      ? `identifier hash ${result.identifierHash}`
      : `audit entry ${result.auditId}, identifier hash ${result.identifierHash}`,
  ].join('\n');
}

function storageErasureLines({ deleted, owed, reason }: StorageErasure): string[] {
  return [
    ...(deleted > 0 ? [`deleted ${count(deleted, 'photo', 'photos')} from the storage`] : []),
    ...(owed > 0
      ? [
          `the uploaded ${owed === 1 ? 'photo' : 'photos'} (${owed}) will be deleted from the storage when it can be reached` +
            (reason ? ` (${reason})` : ''),
        ]
      : []),
  ];
}

/** How often `closeout --wait` looks at the outbox again. */
const CLOSEOUT_POLL_MS = 1000;

export function closeoutCommand(program: Command): void {
  program
    .command('closeout')
    .description(
      'safe to pack up? the deliveries of each endpoint, what is still on this booth, and what to do; exit 0 only when all are delivered',
    )
    .option('--event <id>', "only this organiser's event (a payload's event_id)")
    .option('--wait <duration>', 'wait up to this long (30s, 5m, 1h) for every delivery to finish')
    .action(async (options: { event?: string; wait?: string }, command: Command) => {
      const waitMs = options.wait === undefined ? 0 : parseDuration(options.wait);
      if (waitMs === null) throw new UsageError(`--wait must be a duration such as 30s, 5m or 1h (at most 24h), not "${options.wait}"`);
      const input = options.event === undefined ? {} : { event: options.event };
      await withOperations(command, async (ctx) => {
        let report = closeout(ctx, input);
        const deadline = Date.now() + waitMs;
        if (!report.safe && waitMs > 0 && !globals(command).json) {
          process.stderr.write(
            ctx.livePort() === null
              ? `no agent is running on this data folder, so nothing is sent while this waits (booth-agent run)\n`
              : `waiting up to ${options.wait} for the deliveries to finish…\n`,
          );
        }
        while (!report.safe && Date.now() < deadline) {
          await sleep(Math.min(CLOSEOUT_POLL_MS, deadline - Date.now()));
          report = closeout(ctx, input);
        }
        print(command, report, describeCloseout(report));
        if (!report.safe) process.exitCode = 1;
      });
    });
}

function describeCloseout(report: CloseoutReport): string {
  return [
    report.verdict,
    ...report.endpoints.map((e) => {
      const state = !e.enabled ? '  disabled' : e.unreachableSince !== null ? `  unreachable since ${localTime(e.unreachableSince)}` : '';
      return `  ${e.url}  ${e.delivered} delivered · ${e.queued} queued · ${e.waiting} waiting · ${e.failed} failed${state}`;
    }),
    ...(report.unsent > 0 ? [`  no endpoint  ${count(report.unsent, 'event', 'events')} captured with none to send to`] : []),
    ...(report.advice.length > 0 ? ['what to do:', ...report.advice.map((line) => `  - ${line}`)] : []),
  ].join('\n');
}
