#!/usr/bin/env node
// The booth-agent command (docs/capture-api.md, "The command line"). Every command works on a
// data folder whether or not an agent is running there: SQLite's WAL lets the CLI and a
// running agent share the outbox, and the agent notices the CLI's changes within a second.
// Operator actions are the operations of src/operations/; a command parses its arguments,
// calls one, and prints what it answered.
import { createWriteStream, openSync, readFileSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, CommanderError, Option } from 'commander';
import { hostAgent, type HostPort } from './agent-host.js';
import { hotFolderFiles } from './capture/hot-folder.js';
import { ingest } from './capture/ingest.js';
import { parseDuration } from './core/closeout.js';
import { EXPORT_FORMATS, type ExportFormat } from './core/export-format.js';
import { TYPE_FILTERS, type TypeFilter } from './core/event-types.js';
import { PAYLOAD_FORMATS, type PayloadFormat } from './core/formats.js';
import { PAYLOAD_TYPES, type PayloadType } from './core/payload.js';
import { AUTO_RECOVER_MODES, type AutoRecover } from './core/recovery.js';
import type { CloseoutReport, EndpointView, EraseResult, ReplayResult } from './core/read-model.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from './core/policy.js';
import { isSettingKey, parseSetting, SETTING_KEYS, type Settings } from './core/settings.js';
import { proxyConfigured, Sender } from './delivery/sender.js';
import { createLogger } from './log.js';
import { closeout } from './operations/closeout.js';
import { Refusal, type OperationContext } from './operations/context.js';
import { retryAllFailed, retryDelivery, setPaused } from './operations/deliveries.js';
import {
  addEndpoint,
  confirmRotation,
  editEndpoint,
  removeEndpoint,
  revealSecret,
  rotateSecret,
  sendTestEvent,
  setEndpointEnabled,
  verifyEndpoint,
  type EndpointChangesInput,
} from './operations/endpoints.js';
import { eraseGuest, type EraseInput } from './operations/erase.js';
import { exportEvents } from './operations/export.js';
import { replayToEndpoint } from './operations/replay.js';
import { changeSettings, rotateIngestToken } from './operations/settings.js';
import { agentUrls, type AgentUrls } from './operations/urls.js';
import { prepareDataDir, resolveDataDir, type DataDir } from './store/data-dir.js';
import { publicEndpoint } from './store/endpoints.js';
import { liveAgent } from './store/live-agent.js';
import { openStore, summarize } from './store/store.js';
import { USER_AGENT, VERSION } from './version.js';

/** Bad input from the operator: exit status 2 and a message that says what is wrong. */
class UsageError extends Error {}

interface GlobalOptions {
  dataDir?: string;
  json?: boolean;
}

const program = new Command('booth-agent')
  .description('On-device webhook agent for photobooths')
  .version(VERSION)
  .option('--data-dir <dir>', 'data folder (default: BOOTH_AGENT_DATA_DIR, else the per-user data folder)')
  .option('--json', 'print machine-readable JSON')
  .showHelpAfterError()
  .exitOverride();

function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

function dataDir(command: Command): DataDir {
  return prepareDataDir(resolveDataDir(globals(command).dataDir));
}

/**
 * Runs one command against its data folder: the outbox is opened for it, and the log and
 * the HTTP client only when an operation uses them; all are closed afterwards.
 */
async function withOperations<T>(command: Command, work: (ctx: OperationContext, dir: DataDir) => T | Promise<T>): Promise<T> {
  const dir = dataDir(command);
  const store = openStore(dir.database);
  const opened: { logger?: ReturnType<typeof createLogger>; sender?: Sender } = {};
  const ctx: OperationContext = {
    store,
    get log() {
      return (opened.logger ??= createLogger({ logsDir: dir.logs, stdout: false })).log;
    },
    // A running agent sees the change within a second on its own.
    wake: () => {},
    livePort: () => {
      const live = liveAgent(dir);
      return live.running ? live.port : null;
    },
    sender: () => (opened.sender ??= cliSender(store.settings.read())),
    owner: `cli:${process.pid}`,
    now: Date.now,
  };
  try {
    return await work(ctx, dir);
  } finally {
    await opened.sender?.close();
    await opened.logger?.close();
    store.close();
  }
}

function print(command: Command, json: unknown, text: string): void {
  process.stdout.write(globals(command).json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);
}

function localTime(ms: number | null): string {
  if (ms === null) return 'never';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `--types`: "all", or a comma-separated list (the operation checks each type). */
function typesOption(value: string): string[] | null {
  return value === 'all'
    ? null
    : value
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
}

/** `--header 'Name: value'`, repeatable: collected by name. */
function collectHeader(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new UsageError(`--header must be written 'Name: value', not "${value.split(':')[0]}…"`);
  return { ...previous, [value.slice(0, colon).trim()]: value.slice(colon + 1).trim() };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function parseRate(value: string): number | null {
  if (value === 'off') return null;
  const n = Number(value);
  if (!/^\d+$/.test(value)) throw new UsageError(`--max-per-minute must be a whole number or off, not "${value}"`);
  return n;
}

/** The options add and edit share: how deliveries to the endpoint are shaped, paced and recovered. */
function deliveryOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--format <format>', 'the body: the contract as it is, one level of keys, or a chat message').choices(PAYLOAD_FORMATS),
    )
    .addOption(
      new Option('--auto-recover <mode>', 'retry failures by themselves on recover_schedule (all: 4xx refusals too)').choices(
        AUTO_RECOVER_MODES,
      ),
    )
    .option('--max-per-minute <n>', 'start at most n attempts a minute (off: no limit)', parseRate)
    .option('--header <header>', "send this header with each delivery, 'Name: value' (repeatable)", collectHeader);
}

interface DeliveryFlags {
  format?: PayloadFormat;
  autoRecover?: AutoRecover;
  maxPerMinute?: number | null;
  header?: Record<string, string>;
}

function deliveryInput(options: DeliveryFlags) {
  return {
    ...(options.format !== undefined ? { format: options.format } : {}),
    ...(options.autoRecover !== undefined ? { autoRecover: options.autoRecover } : {}),
    ...(options.maxPerMinute !== undefined ? { maxPerMinute: options.maxPerMinute } : {}),
    ...(options.header !== undefined ? { headers: options.header } : {}),
  };
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the CA file ${file}: ${(error as Error).message}`);
  }
}

function readPayload(file: string | undefined): Buffer {
  if (file === undefined || file === '-') return readFileSync(0);
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

function cliSender(settings: Settings): Sender {
  return new Sender({
    userAgent: USER_AGENT,
    connectTimeoutMs: settings.connect_timeout_ms,
    attemptTimeoutMs: settings.attempt_timeout_ms,
    useProxy: proxyConfigured(process.env),
  });
}

function describeEndpoint(endpoint: EndpointView): string {
  const state = !endpoint.enabled
    ? `disabled${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`
    : endpoint.unreachableSince !== null
      ? `unreachable since ${localTime(endpoint.unreachableSince)}`
      : 'enabled';
  const types = endpoint.types === null ? 'all types' : endpoint.types.join(',');
  const traits = [
    ...(endpoint.format !== 'snappic' ? [`${endpoint.format} format`] : []),
    ...(endpoint.strictOrder ? ['strict order'] : []),
    ...(!endpoint.strictOrder && endpoint.inFlightLimit !== null ? [`up to ${endpoint.inFlightLimit} in flight`] : []),
    ...(endpoint.hasCa ? ['own CA'] : []),
    ...(endpoint.autoRecover !== 'on' ? [`auto-recover ${endpoint.autoRecover}`] : []),
    ...(endpoint.maxPerMinute !== null ? [`at most ${endpoint.maxPerMinute}/min`] : []),
    ...(endpoint.headerNames.length > 0 ? [`headers ${endpoint.headerNames.join(', ')}`] : []),
  ];
  return `${endpoint.id}  ${endpoint.url}  [${types}]${traits.map((t) => ` ${t}`).join('')}  ${state}`;
}

program
  .command('run')
  .description('run the agent in the foreground: capture server and delivery')
  .option('--port <n>', 'loopback port (default: the port setting, 7480; 0 picks a free one)', (v) => parsePort(v))
  .action(async (options: { port?: number }, command: Command) => {
    const { stopped } = await hostAgent(
      {
        dataDir: resolveDataDir(globals(command).dataDir),
        ...(options.port !== undefined ? { port: options.port } : {}),
        logToStdout: true,
      },
      signalPort(),
    );
    await stopped;
  });

/** `run` is hosted on the process's signals: SIGINT or SIGTERM stop it cleanly, once. */
function signalPort(): HostPort {
  return {
    onCommand(handler) {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        handler({ type: 'stop' });
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    post() {},
  };
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0 to 65535, not "${value}"`);
  return port;
}

const endpoint = program.command('endpoint').description('manage the endpoints webhooks are sent to');

const TYPES_HELP = `comma-separated types (${TYPE_FILTERS.join(', ')}), or all (every payload, no alert)`;

deliveryOptions(
  endpoint
    .command('add <url>')
    .description('add an endpoint; prints its id, url and secret')
    .option('--types <list>', TYPES_HELP, 'all')
    .option('--secret <secret>', 'use this secret (whsec_…) instead of a generated one')
    .option('--ca <file>', 'also trust this CA certificate (PEM) for this endpoint')
    .option('--strict-order', 'one delivery in flight at a time, strictly in capture order'),
).action(
  async (
    url: string,
    options: DeliveryFlags & { types: string; secret?: string; ca?: string; strictOrder?: boolean },
    command: Command,
  ) => {
    const input = {
      url,
      types: typesOption(options.types),
      strictOrder: options.strictOrder ?? false,
      ...(options.secret !== undefined ? { secret: options.secret } : {}),
      ca: options.ca === undefined ? null : readCa(options.ca),
      ...deliveryInput(options),
    };
    await withOperations(command, (ctx) => {
      const added = addEndpoint(ctx, input);
      print(command, added, `id      ${added.id}\nurl     ${added.url}\nsecret  ${added.secret}`);
    });
  },
);

deliveryOptions(
  endpoint
    .command('edit <id>')
    .description("change an endpoint's URL, types, order, CA, format, recovery, rate or headers (its secret and deliveries stay)")
    .option('--url <url>', 'the new URL (HTTPS only)')
    .option('--types <list>', TYPES_HELP)
    .option('--strict-order', 'one delivery in flight at a time, strictly in capture order')
    .option('--no-strict-order', 'several deliveries in flight at once')
    .option('--ca <file>', 'also trust this CA certificate (PEM) for this endpoint')
    .option('--no-ca', 'stop trusting the CA given earlier'),
)
  .option('--remove-header <name>', 'stop sending this header (repeatable)', collect)
  .action(
    async (
      id: string,
      options: DeliveryFlags & { url?: string; types?: string; strictOrder?: boolean; ca?: string | false; removeHeader?: string[] },
      command: Command,
    ) => {
      const changes: EndpointChangesInput = {
        ...(options.url !== undefined ? { url: options.url } : {}),
        ...(options.types !== undefined ? { types: typesOption(options.types) } : {}),
        ...(options.strictOrder !== undefined ? { strictOrder: options.strictOrder } : {}),
        ...(options.ca !== undefined ? { ca: options.ca === false ? null : readCa(options.ca) } : {}),
        ...deliveryInput(options),
        ...(options.removeHeader !== undefined ? { removeHeaders: options.removeHeader } : {}),
      };
      if (Object.keys(changes).length === 0)
        throw new UsageError(
          'say what to change: --url, --types, --strict-order/--no-strict-order, --ca/--no-ca, --format, --auto-recover, --max-per-minute, --header, --remove-header',
        );
      await withOperations(command, (ctx) => {
        const edited = editEndpoint(ctx, id, changes);
        print(command, edited, describeEndpoint(edited));
      });
    },
  );

endpoint
  .command('list')
  .description('list the endpoints')
  .action(async (_options, command: Command) => {
    await withOperations(command, ({ store }) => {
      const endpoints = store.endpoints.list().map(publicEndpoint);
      print(
        command,
        endpoints,
        endpoints.length === 0 ? 'no endpoints yet: booth-agent endpoint add https://…' : endpoints.map(describeEndpoint).join('\n'),
      );
    });
  });

endpoint
  .command('remove <id>')
  .description('remove an endpoint, with its deliveries')
  .action(async (id: string, _options, command: Command) => {
    await withOperations(command, (ctx) => {
      const result = removeEndpoint(ctx, id);
      const dropped = result.undeliveredDropped;
      print(command, result, `removed ${id}${dropped ? `; ${dropped} undelivered deliveries to it were dropped` : ''}`);
    });
  });

for (const [name, enabled] of [
  ['enable', true],
  ['disable', false],
] as const) {
  endpoint
    .command(`${name} <id>`)
    .description(`${name} an endpoint`)
    .action(async (id: string, _options, command: Command) => {
      await withOperations(command, (ctx) => {
        const changed = setEndpointEnabled(ctx, id, enabled);
        print(command, changed, `${id} ${enabled ? 'enabled' : 'disabled'}`);
      });
    });
}

endpoint
  .command('rotate-secret <id>')
  .description('give the endpoint a new secret; the previous one keeps signing webhook-signature for 24 hours')
  .action(async (id: string, _options, command: Command) => {
    await withOperations(command, (ctx) => {
      const rotated = rotateSecret(ctx, id);
      print(
        command,
        rotated,
        `secret  ${rotated.secret}\nThe previous secret keeps signing webhook-signature for 24 hours, and X-Signature until ` +
          `"booth-agent endpoint confirm-rotation ${id}": run that once every receiver has the new secret.`,
      );
    });
  });

endpoint
  .command('secret <id>')
  .description("print the endpoint's secret, to give to the receiver (and the previous one while a rotation is pending)")
  .action(async (id: string, _options, command: Command) => {
    await withOperations(command, (ctx) => {
      const revealed = revealSecret(ctx, id);
      print(
        command,
        revealed,
        revealed.previousSecret === null ? revealed.secret : `${revealed.secret}\nprevious ${revealed.previousSecret}`,
      );
    });
  });

endpoint
  .command('confirm-rotation <id>')
  .description('the receivers have the new secret: X-Signature switches to it')
  .action(async (id: string, _options, command: Command) => {
    await withOperations(command, (ctx) => {
      const confirmed = confirmRotation(ctx, id);
      print(command, confirmed, `${id} signs X-Signature with its new secret`);
    });
  });

endpoint
  .command('verify <id>')
  .description('send one small signed request and report what happened')
  .action(async (id: string, _options, command: Command) => {
    await withOperations(command, async (ctx) => {
      const report = await verifyEndpoint(ctx, id);
      print(command, report, `${report.ok ? 'OK' : 'NOT OK'}: ${report.url}\n${report.findings.map((f) => `  ${f}`).join('\n')}`);
      if (!report.ok) process.exitCode = 1;
    });
  });

endpoint
  .command('test <id>')
  .description('send the example payload of a type, marked X-Booth-Agent-Test: true')
  .addOption(new Option('--type <type>', 'payload type').choices(PAYLOAD_TYPES).default('session'))
  .action(async (id: string, options: { type: PayloadType }, command: Command) => {
    await withOperations(command, async (ctx) => {
      const result = await sendTestEvent(ctx, id, options.type);
      print(command, result, `${result.status}: ${result.reason}\ndelivery ${result.deliveryId}`);
      if (result.status !== 'delivered') process.exitCode = 1;
    });
  });

const config = program.command('config').description('read and change settings');

config
  .command('get [key]')
  .description('print one setting, or all of them')
  .action(async (key: string | undefined, _options, command: Command) => {
    if (key !== undefined && !isSettingKey(key))
      throw new UsageError(`unknown setting "${key}"; the settings are ${SETTING_KEYS.join(', ')}`);
    await withOperations(command, ({ store }) => {
      const settings = store.settings.read();
      if (key !== undefined) {
        print(command, { [key]: settings[key] }, String(settings[key]));
      } else {
        print(command, settings, SETTING_KEYS.map((k) => `${k} = ${String(settings[k])}`).join('\n'));
      }
    });
  });

config
  .command('set <key> <value>')
  .description('change a setting (a running agent picks it up within a second; port at its next start)')
  .action(async (key: string, value: string, _options, command: Command) => {
    if (!isSettingKey(key)) throw new UsageError(`unknown setting "${key}"; the settings are ${SETTING_KEYS.join(', ')}`);
    const parsed = parseSetting(key, value);
    if (!parsed.ok) throw new UsageError(parsed.message);
    await withOperations(command, (ctx) => {
      const settings = changeSettings(ctx, { [key]: parsed.value });
      print(command, { [key]: settings[key] }, `${key} = ${String(settings[key])}`);
    });
  });

program
  .command('emit [file]')
  .description('capture one event from a JSON file, or from standard input with - (or nothing)')
  .option('--idempotency-key <key>', 'a key that makes a repeat of this command create nothing new')
  .action(async (file: string | undefined, options: { idempotencyKey?: string }, command: Command) => {
    const body = readPayload(file);
    await withOperations(command, ({ store }) => {
      const result = ingest(body, { idempotencyKey: options.idempotencyKey ?? null }, store.queue, store.settings.read(), Date.now());
      switch (result.kind) {
        case 'accepted':
        case 'duplicate':
          print(
            command,
            result,
            result.kind === 'accepted'
              ? `captured ${result.id} (${result.deliveries} deliver${result.deliveries === 1 ? 'y' : 'ies'})`
              : `already captured as ${result.id}; nothing new was created`,
          );
          return;
        case 'invalid':
          throw new UsageError(`${result.error}:\n${result.issues.map((i) => `  ${i.path || '(body)'}: ${i.message}`).join('\n')}`);
        case 'unavailable':
          process.stderr.write(`booth-agent: ${result.error}\n`);
          process.exitCode = 1;
      }
    });
  });

program
  .command('status')
  .description('whether the agent runs and where, online or not, counts by delivery status, endpoints, last success')
  .action(async (_options, command: Command) => {
    await withOperations(command, ({ store }, dir) => {
      const live = liveAgent(dir);
      const { online, heldSince, counts, recovering, lastDeliveredAt } = summarize(store);
      const retrying = recovering.count > 0 ? ` (${recovering.count} retrying by themselves, next at ${localTime(recovering.nextAt)})` : '';
      const endpoints = store.endpoints.list().map(publicEndpoint);
      const agent = !live.running ? 'not running' : live.port === null ? 'starting' : `running on http://127.0.0.1:${live.port}`;
      print(
        command,
        { running: live.running, port: live.running ? live.port : null, online, counts, recovering, endpoints, lastDeliveredAt },
        [
          `agent      ${agent}`,
          `network    ${online ? 'online' : `endpoint(s) unreachable since ${localTime(heldSince)}`}`,
          `deliveries ${DELIVERY_STATUSES.map((s) => `${counts[s]} ${s}`).join(', ')}${retrying}`,
          `endpoints  ${endpoints.length === 0 ? 'none' : `\n${endpoints.map((e) => `  ${describeEndpoint(e)}`).join('\n')}`}`,
          `last delivered ${localTime(lastDeliveredAt)}`,
        ].join('\n'),
      );
    });
  });

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

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit must be a whole number of 1 or more, not "${value}"`);
  return n;
}

program
  .command('retry [id]')
  .description('retry one failed delivery, or every failed one with --failed')
  .option('--failed', 'retry every failed delivery')
  .action(async (id: string | undefined, options: { failed?: boolean }, command: Command) => {
    if ((id === undefined) === !options.failed) throw new UsageError('give one delivery id, or --failed (not both)');
    await withOperations(command, (ctx) => {
      if (id === undefined) {
        const { retried } = retryAllFailed(ctx);
        print(command, { retried }, `${retried} failed deliver${retried === 1 ? 'y' : 'ies'} queued again`);
      } else {
        print(command, retryDelivery(ctx, id), `${id} queued again`);
      }
    });
  });

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
      print(command, { output: file, format: options.format, rows }, `exported ${rows} event${rows === 1 ? '' : 's'} to ${file}`);
    });
  });

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

function describeReplay(result: ReplayResult, url: string, types: TypeFilter[] | null): string {
  const events = (n: number) => `${n} event${n === 1 ? '' : 's'}`;
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

program
  .command('hot-folder')
  .description('the files the hot folder has seen, newest first, and what became of each')
  .option('--limit <n>', 'at most this many', (v) => parseLimit(v), 50)
  .action(async (options: { limit: number }, command: Command) => {
    await withOperations(command, ({ store }) => {
      const files = hotFolderFiles(store.db, { limit: options.limit });
      const folder = store.settings.read().hot_folder;
      const text =
        files.length === 0
          ? `no files seen yet${folder === null ? ' (no hot folder is set: booth-agent config set hot_folder DIR)' : ` in ${folder}`}`
          : files.map((f) => `${localTime(f.seenAt)}  ${f.path}\n    ${f.outcome}`).join('\n');
      print(command, files, text);
    });
  });

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

function describeErasure(result: EraseResult): string {
  const { counts } = result;
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  const types = Object.entries(counts.events)
    .filter(([, count]) => count > 0)
    .map(([type, count]) => `${count} ${type}`);
  return [
    result.dryRun ? 'dry run: nothing was changed; an erase would take' : 'erased',
    `  events       ${types.length === 0 ? 'none named this guest' : `${types.join(', ')} (their personal data)`}`,
    `  undelivered  ${n(counts.undeliveredDropped, 'delivery', 'deliveries')} not made yet, dropped: never sent`,
    `  answers      ${n(counts.responseSnippets, "receiver's answer", "receivers' answers")} stored with the attempts`,
    `  hot folder   ${n(counts.hotFolderRecords, 'record', 'records')}`,
    `  dslrBooth    ${n(counts.dslrSessions, 'session record', 'session records')}`,
    ...(result.events.length > 0
      ? [
          'events:',
          ...result.events.map(
            (e) =>
              `  ${e.eventId}  ${e.type}  captured ${localTime(e.capturedAt)}  ${e.delivered} delivered, ${e.undelivered} not delivered`,
          ),
        ]
      : []),
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

/** How often `closeout --wait` looks at the outbox again. */
const CLOSEOUT_POLL_MS = 1000;

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

function describeCloseout(report: CloseoutReport): string {
  return [
    report.verdict,
    ...report.endpoints.map((e) => {
      const state = !e.enabled ? '  disabled' : e.unreachableSince !== null ? `  unreachable since ${localTime(e.unreachableSince)}` : '';
      return `  ${e.url}  ${e.delivered} delivered · ${e.queued} queued · ${e.waiting} waiting · ${e.failed} failed${state}`;
    }),
    ...(report.unsent > 0 ? [`  no endpoint  ${report.unsent} event${report.unsent === 1 ? '' : 's'} captured with none to send to`] : []),
    ...(report.advice.length > 0 ? ['what to do:', ...report.advice.map((line) => `  - ${line}`)] : []),
  ].join('\n');
}

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

/** The running agent's URLs, or null when none is running on the data folder. */
function urlsIfRunning(ctx: OperationContext): AgentUrls | null {
  try {
    return agentUrls(ctx);
  } catch (error) {
    if (error instanceof Refusal && error.kind === 'not-running') return null;
    throw error;
  }
}

program
  .command('token')
  .description('print the ingest token booth software uses to capture events (and the capture URLs, on standard error)')
  .option('--rotate', 'replace it with a new one (booth software must then use the new one)')
  .action(async (options: { rotate?: boolean }, command: Command) => {
    await withOperations(command, (ctx) => {
      const token = options.rotate ? rotateIngestToken(ctx).token : ctx.store.settings.token('ingest_token');
      const urls = urlsIfRunning(ctx);
      print(command, { token, running: urls !== null, port: urls?.port ?? null, urls: urls?.capture ?? null }, token);
      // The token alone goes to standard output, so that TOKEN=$(booth-agent token) works.
      if (!globals(command).json) {
        process.stderr.write(
          urls === null
            ? 'no agent is running on this data folder: the capture URLs appear here once one runs (booth-agent run)\n'
            : `JSON API   ${urls.capture.url} (Authorization: Bearer <token>)\ntoken in path ${urls.capture.pathUrl}\ndslrBooth  ${urls.capture.dslrBoothUrl}\n`,
        );
      }
    });
  });

program
  .command('panel-url')
  .description("print the running agent's panel link (it carries the admin token: keep it to yourself)")
  .action(async (_options, command: Command) => {
    await withOperations(command, (ctx) => {
      const { panel, port } = agentUrls(ctx);
      print(command, { url: panel, port }, panel);
    });
  });

program
  .command('receive')
  .description('a local HTTPS receiver that prints and checks the webhooks it gets, to try things before the real endpoint exists')
  .option('--port <n>', 'port on 127.0.0.1 (default 9443)', (v) => parsePort(v), 9443)
  .option('--secret <secret>', "the endpoint's secret (default: the secrets of this data folder's endpoints on that port)")
  .action(async (options: { port: number; secret?: string }, command: Command) => {
    const dir = dataDir(command);
    // Loaded here: its certificate library alone takes a fifth of a second to load, which
    // `run` should not pay at every start.
    const { startTryReceiver } = await import('./receive.js');
    const receiver = await startTryReceiver({
      port: options.port,
      dataDir: dir.root,
      secrets: () => {
        if (options.secret) return [options.secret];
        const store = openStore(dir.database);
        try {
          return store.endpoints
            .list()
            .filter((e) => new URL(e.url).host === `127.0.0.1:${receiver.port}` && !e.secretsLocked)
            .flatMap((e) => [e.secret, ...(e.previousSecret ? [e.previousSecret] : [])]);
        } finally {
          store.close();
        }
      },
      print: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(
      `listening on ${receiver.url}\nsend webhooks here with:\n  booth-agent endpoint add ${receiver.url} --ca ${receiver.caFile}\n(Ctrl-C to stop)\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => void receiver.close().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });

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

function refusalMessage(refusal: Refusal): string {
  if (refusal.issues.length === 0) return refusal.message;
  return refusal.issues
    .map((issue) => {
      const field = issue.path.split('.')[0]!;
      return issue.path ? `${FLAG_OF_FIELD[field] ?? field}: ${issue.message}` : issue.message;
    })
    .join('\n');
}

async function main(): Promise<void> {
  // Everything the agent writes (database, logs, lock) is for this user's eyes only.
  process.umask(0o077);
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof Refusal) {
      process.stderr.write(`booth-agent: ${refusalMessage(error)}\n`);
      process.exitCode = error.kind === 'not-running' ? 1 : 2;
      return;
    }
    process.stderr.write(`booth-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

void main();
