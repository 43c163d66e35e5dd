// What a command runs with: the global options, its data folder, and the operations'
// context over that folder's outbox (and over the agent running there, if one is).
import type { Command } from 'commander';
import type { Settings } from '../core/settings.js';
import { proxyConfigured, Sender } from '../delivery/sender.js';
import { createLogger } from '../log.js';
import type { OperationContext } from '../operations/context.js';
import { prepareDataDir, resolveDataDir, type DataDir } from '../store/data-dir.js';
import { liveAgent } from '../store/live-agent.js';
import { openStore } from '../store/store.js';
import { USER_AGENT } from '../version.js';

interface GlobalOptions {
  dataDir?: string;
  json?: boolean;
}

export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

export function dataDir(command: Command): DataDir {
  return prepareDataDir(resolveDataDir(globals(command).dataDir));
}

/**
 * Runs one command against its data folder: the outbox is opened for it, and the log and
 * the HTTP client only when an operation uses them; all are closed afterwards.
 */
export async function withOperations<T>(command: Command, work: (ctx: OperationContext, dir: DataDir) => T | Promise<T>): Promise<T> {
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

function cliSender(settings: Settings): Sender {
  return new Sender({
    userAgent: USER_AGENT,
    connectTimeoutMs: settings.connect_timeout_ms,
    attemptTimeoutMs: settings.attempt_timeout_ms,
    useProxy: proxyConfigured(process.env),
  });
}
