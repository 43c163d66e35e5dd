// The deliveries: list them, retry failed ones, pause and resume sending.
import { Option, type Command } from 'commander';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../core/policy.js';
import { retryAllFailed, retryDelivery, setPaused } from '../operations/deliveries.js';
import { withOperations } from './context.js';
import { parseLimit } from './options.js';
import { count, localTime, print, UsageError } from './output.js';

export function deliveriesCommand(program: Command): void {
  program
    .command('deliveries')
    .description('the deliveries, newest first, with their attempts')
    .addOption(new Option('--status <status>', 'only this status').choices(DELIVERY_STATUSES))
    .option('--limit <n>', 'at most this many', (v) => parseLimit(v), 50)
    .action(async (options: { status?: DeliveryStatus; limit: number }, command: Command) => {
      await withOperations(command, ({ store }) => {
        const deliveries = store.views.list({ status: options.status, limit: options.limit }).map((d) => ({
          ...d,
          attempts: store.views.attempts(d.id).map((a) => ({ ...a, responseHead: a.responseHead?.toString('utf8') ?? null })),
        }));
        const text = deliveries
          .map((d) =>
            [
              `${d.id}  ${d.status.padEnd(9)} ${d.type}${d.test ? ' (test)' : ''}  ${d.eventId}  → ${d.endpointUrl}  captured ${localTime(d.capturedAt)}`,
              ...(d.lastError ? [`    ${d.lastError}`] : []),
              ...(d.recoverAt !== null ? [`    next automatic retry at ${localTime(d.recoverAt)}`] : []),
              ...d.attempts.map((a) => `    ${localTime(a.startedAt)}  ${a.statusCode ?? a.outcome}  ${a.durationMs} ms  ${a.reason}`),
            ].join('\n'),
          )
          .join('\n');
        print(command, deliveries, deliveries.length === 0 ? 'no deliveries' : text);
      });
    });
}

export function retryCommand(program: Command): void {
  program
    .command('retry [id]')
    .description('retry one failed delivery, or every failed one with --failed')
    .option('--failed', 'retry every failed delivery')
    .action(async (id: string | undefined, options: { failed?: boolean }, command: Command) => {
      if ((id === undefined) === !options.failed) throw new UsageError('give one delivery id, or --failed (not both)');
      await withOperations(command, (ctx) => {
        if (id === undefined) {
          const { retried } = retryAllFailed(ctx);
          print(command, { retried }, `${count(retried, 'failed delivery', 'failed deliveries')} queued again`);
        } else {
          print(command, retryDelivery(ctx, id), `${id} queued again`);
        }
      });
    });
}

export function pauseAndResumeCommands(program: Command): void {
  for (const [name, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    program
      .command(name)
      .description(paused ? 'pause delivery (events are still captured; attempts in flight finish)' : 'resume delivery')
      .action(async (_options, command: Command) => {
        await withOperations(command, (ctx) => {
          print(command, setPaused(ctx, paused), paused ? 'delivery paused' : 'delivery resumed');
        });
      });
  }
}
