#!/usr/bin/env node
// The booth-agent command (capture.md §2). Every command works on a data folder whether or
// not an agent is running there: SQLite's WAL lets the CLI and a running agent share the
// outbox, and the agent notices the CLI's changes within a second.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { Command, CommanderError, Option } from 'commander';
import { hostAgent, type HostPort } from './agent-host.js';
import { ingest } from './capture/ingest.js';
import { endpointUrlProblem } from './core/endpoint-url.js';
import { PAYLOAD_TYPES, payloadTypeSchema, type PayloadType } from './core/payload.js';
import { isSettingKey, parseSetting, SETTING_KEYS, type Settings } from './core/settings.js';
import { generateSecret, secretProblem } from './core/signing.js';
import { sendTest } from './delivery/send-test.js';
import { proxyConfigured, Sender } from './delivery/sender.js';
import { verifyEndpoint } from './delivery/verify.js';
import { createLogger } from './log.js';
import { prepareDataDir, resolveDataDir, type DataDir } from './store/data-dir.js';
import { publicEndpoint, type Endpoint } from './store/endpoints.js';
import { AlreadyRunningError, acquireInstanceLock } from './store/instance-lock.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from './core/policy.js';
import { openStore, summarize, type Store } from './store/store.js';
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

/** Opens the outbox for one command and closes it afterwards. */
async function withStore<T>(command: Command, work: (store: Store, dir: DataDir) => T | Promise<T>): Promise<T> {
  const dir = dataDir(command);
  const store = openStore(dir.database);
  try {
    return await work(store, dir);
  } finally {
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

/** The endpoint `id`; with `signing`, one whose secrets this process can sign with. */
function requireEndpoint(store: Store, id: string, signing = false): Endpoint {
  const endpoint = signing ? store.endpoints.unlocked(id) : store.endpoints.get(id);
  if (!endpoint) throw new UsageError(`there is no endpoint ${id} (booth-agent endpoint list shows them)`);
  return endpoint;
}

function parseTypes(value: string): PayloadType[] | null {
  if (value === 'all') return null;
  const types = value.split(',').map((t) => t.trim()).filter(Boolean);
  for (const type of types) {
    if (!payloadTypeSchema.safeParse(type).success) {
      throw new UsageError(`unknown type "${type}"; the types are ${PAYLOAD_TYPES.join(', ')} (or all)`);
    }
  }
  if (types.length === 0) throw new UsageError('--types needs at least one type');
  return [...new Set(types)] as PayloadType[];
}

function readCa(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the CA file ${file}: ${(error as Error).message}`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new UsageError(`${file} is not a PEM certificate`);
  }
  return pem;
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

function describeEndpoint(endpoint: Endpoint): string {
  const state = !endpoint.enabled
    ? `disabled${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`
    : endpoint.unreachableSince !== null
      ? `unreachable since ${localTime(endpoint.unreachableSince)}`
      : 'enabled';
  const types = endpoint.types === null ? 'all types' : endpoint.types.join(',');
  return `${endpoint.id}  ${endpoint.url}  [${types}]${endpoint.strictOrder ? ' strict order' : ''}  ${state}`;
}

program
  .command('run')
  .description('run the agent in the foreground: capture server and delivery')
  .option('--port <n>', 'loopback port (default: the port setting, 7480)', (v) => parsePort(v))
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

endpoint
  .command('add <url>')
  .description('add an endpoint; prints its id, url and secret')
  .option('--types <list>', `comma-separated payload types (${PAYLOAD_TYPES.join(', ')}) or all`, 'all')
  .option('--secret <secret>', 'use this secret (whsec_…) instead of a generated one')
  .option('--ca <file>', 'also trust this CA certificate (PEM) for this endpoint')
  .option('--strict-order', 'one delivery in flight at a time, strictly in capture order')
  .action(async (url: string, options: { types: string; secret?: string; ca?: string; strictOrder?: boolean }, command: Command) => {
    const problem = endpointUrlProblem(url);
    if (problem) throw new UsageError(problem);
    const secret = options.secret ?? generateSecret();
    const secretIssue = secretProblem(secret);
    if (secretIssue) throw new UsageError(`--secret: ${secretIssue}`);
    const types = parseTypes(options.types);
    const ca = options.ca === undefined ? null : readCa(options.ca);
    await withStore(command, (store) => {
      const added = store.endpoints.add({ url: new URL(url).href, secret, types, strictOrder: options.strictOrder ?? false, ca }, Date.now());
      print(command, { ...publicEndpoint(added), secret: added.secret }, `id      ${added.id}\nurl     ${added.url}\nsecret  ${added.secret}`);
    });
  });

endpoint
  .command('list')
  .description('list the endpoints')
  .action(async (_options, command: Command) => {
    await withStore(command, (store) => {
      const endpoints = store.endpoints.list();
      print(
        command,
        endpoints.map(publicEndpoint),
        endpoints.length === 0 ? 'no endpoints yet: booth-agent endpoint add https://…' : endpoints.map(describeEndpoint).join('\n'),
      );
    });
  });

endpoint
  .command('remove <id>')
  .description('remove an endpoint, with its deliveries')
  .action(async (id: string, _options, command: Command) => {
    await withStore(command, (store) => {
      requireEndpoint(store, id);
      const pending = store.views.undeliveredCount(id);
      store.endpoints.remove(id);
      print(command, { removed: id, undeliveredDropped: pending }, `removed ${id}${pending ? `; ${pending} undelivered deliveries to it were dropped` : ''}`);
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
      await withStore(command, (store) => {
        requireEndpoint(store, id);
        store.endpoints.setEnabled(id, enabled, 'disabled by the operator');
        print(command, { id, enabled }, `${id} ${enabled ? 'enabled' : 'disabled'}`);
      });
    });
}

endpoint
  .command('verify <id>')
  .description('send one small signed request and report what happened')
  .action(async (id: string, _options, command: Command) => {
    await withStore(command, async (store) => {
      const target = requireEndpoint(store, id, true);
      const settings = store.settings.read();
      const sender = cliSender(settings);
      try {
        const report = await verifyEndpoint(target, sender, settings.event_id, settings.connect_timeout_ms);
        print(command, report, `${report.ok ? 'OK' : 'NOT OK'}: ${target.url}\n${report.findings.map((f) => `  ${f}`).join('\n')}`);
        if (!report.ok) process.exitCode = 1;
      } finally {
        await sender.close();
      }
    });
  });

endpoint
  .command('test <id>')
  .description('send the example payload of a type, marked X-Booth-Agent-Test: true')
  .addOption(new Option('--type <type>', 'payload type').choices(PAYLOAD_TYPES).default('session'))
  .action(async (id: string, options: { type: PayloadType }, command: Command) => {
    await withStore(command, async (store, dir) => {
      const target = requireEndpoint(store, id, true);
      const settings = store.settings.read();
      const sender = cliSender(settings);
      const logger = createLogger({ logsDir: dir.logs, stdout: false });
      try {
        const result = await sendTest(
          { queue: store.queue, sender, log: logger.log, owner: `cli:${process.pid}` },
          target,
          options.type,
          settings,
        );
        print(command, result, `${result.status}: ${result.reason}\ndelivery ${result.deliveryId}`);
        if (result.status !== 'delivered') process.exitCode = 1;
      } finally {
        await sender.close();
        await logger.close();
      }
    });
  });

const config = program.command('config').description('read and change settings');

config
  .command('get [key]')
  .description('print one setting, or all of them')
  .action(async (key: string | undefined, _options, command: Command) => {
    if (key !== undefined && !isSettingKey(key)) throw new UsageError(`unknown setting "${key}"; the settings are ${SETTING_KEYS.join(', ')}`);
    await withStore(command, (store) => {
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
    await withStore(command, (store) => {
      store.settings.write(key, parsed.value as Settings[typeof key]);
      print(command, { [key]: parsed.value }, `${key} = ${String(parsed.value)}`);
    });
  });

program
  .command('emit [file]')
  .description('capture one event from a JSON file, or from standard input with - (or nothing)')
  .option('--idempotency-key <key>', 'a key that makes a repeat of this command create nothing new')
  .action(async (file: string | undefined, options: { idempotencyKey?: string }, command: Command) => {
    const body = readPayload(file);
    await withStore(command, (store) => {
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
  .description('online or not, counts by delivery status, endpoints, last success')
  .action(async (_options, command: Command) => {
    await withStore(command, (store, dir) => {
      const running = agentRunning(dir);
      const { online, heldSince, counts, lastDeliveredAt } = summarize(store);
      const endpoints = store.endpoints.list();
      print(
        command,
        { running, online, counts, endpoints: endpoints.map(publicEndpoint), lastDeliveredAt },
        [
          `agent      ${running ? 'running' : 'not running'}`,
          `network    ${online ? 'online' : `endpoint(s) unreachable since ${localTime(heldSince)}`}`,
          `deliveries ${DELIVERY_STATUSES.map((s) => `${counts[s]} ${s}`).join(', ')}`,
          `endpoints  ${endpoints.length === 0 ? 'none' : `\n${endpoints.map((e) => `  ${describeEndpoint(e)}`).join('\n')}`}`,
          `last delivered ${localTime(lastDeliveredAt)}`,
        ].join('\n'),
      );
    });
  });

function agentRunning(dir: DataDir): boolean {
  try {
    acquireInstanceLock(dir.lock, dir.root).release();
    return false;
  } catch (error) {
    if (error instanceof AlreadyRunningError) return true;
    throw error;
  }
}

program
  .command('deliveries')
  .description('the deliveries, newest first, with their attempts')
  .addOption(new Option('--status <status>', 'only this status').choices(DELIVERY_STATUSES))
  .option('--limit <n>', 'at most this many', (v) => parseLimit(v), 50)
  .action(async (options: { status?: DeliveryStatus; limit: number }, command: Command) => {
    await withStore(command, (store) => {
      const deliveries = store.views.list({ status: options.status, limit: options.limit }).map((d) => ({
        ...d,
        attempts: store.views.attempts(d.id).map((a) => ({ ...a, responseHead: a.responseHead?.toString('utf8') ?? null })),
      }));
      const text = deliveries
        .map((d) =>
          [
            `${d.id}  ${d.status.padEnd(9)} ${d.type}${d.test ? ' (test)' : ''}  ${d.eventId}  → ${d.endpointUrl}  captured ${localTime(d.capturedAt)}`,
            ...(d.lastError ? [`    ${d.lastError}`] : []),
            ...d.attempts.map(
              (a) => `    ${localTime(a.startedAt)}  ${a.statusCode ?? a.outcome}  ${a.durationMs} ms  ${a.reason}`,
            ),
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
    await withStore(command, async (store, dir) => {
      const logger = createLogger({ logsDir: dir.logs, stdout: false });
      try {
        if (options.failed) {
          const count = store.queue.retryAllFailed(Date.now());
          logger.log.info({ retried: count, by: 'operator' }, 'retry all failed');
          print(command, { retried: count }, `${count} failed deliver${count === 1 ? 'y' : 'ies'} queued again`);
          return;
        }
        const result = store.queue.retry(id!, Date.now());
        if (!result.ok) throw new UsageError(result.reason);
        logger.log.info({ delivery: id, from: 'failed', to: 'queued', by: 'operator' }, 'delivery state');
        print(command, { retried: 1, id }, `${id} queued again`);
      } finally {
        await logger.close();
      }
    });
  });

program
  .command('token')
  .description('print the ingest token booth software uses to capture events')
  .option('--rotate', 'replace it with a new one (booth software must then use the new one)')
  .action(async (options: { rotate?: boolean }, command: Command) => {
    await withStore(command, (store) => {
      const token = options.rotate ? store.settings.rotateToken('ingest_token') : store.settings.token('ingest_token');
      const port = store.settings.read().port;
      print(command, { token, url: `http://127.0.0.1:${port}/t/${token}/v1/events` }, token);
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

program
  .command('panel-url')
  .description("print the operator's panel link (it carries the admin token: keep it to yourself)")
  .action(async (_options, command: Command) => {
    await withStore(command, (store) => {
      const port = store.settings.read().port;
      const url = `http://127.0.0.1:${port}/#token=${store.settings.token('admin_token')}`;
      print(command, { url }, url);
    });
  });

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
    process.stderr.write(`booth-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

await main();
