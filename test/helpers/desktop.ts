// The desktop app's real main process (dist/electron/main.js) run under Node, with the test
// stand-in for 'electron' (test/electron/stand-in/) resolved in its place. The agent runs in a
// real child process of it; the tray, windows and notifications are read, and menus clicked,
// over the app process's IPC channel.
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlExit, ControlReply, ControlRequest, ShellState } from '../electron/stand-in/electron.mjs';
import { tempDir } from './temp.js';
import { waitFor, type Truthy } from './wait.js';

const MAIN = fileURLToPath(new URL('../../dist/electron/main.js', import.meta.url));
const REGISTER = new URL('../electron/stand-in/register.mjs', import.meta.url).href;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type ControlCommand = DistributiveOmit<ControlRequest, 'id'>;

export interface DesktopExit {
  code: number | null;
  at: number;
  /** What the stand-in recorded as the app quit (null if it was killed). */
  final: ShellState | null;
}

export interface Desktop {
  child: ChildProcess;
  userData: string;
  configHome: string;
  /** Runs a control command and resolves with the state after it (null if the app exited first). */
  send(command: ControlCommand): Promise<ShellState | null>;
  state(): Promise<ShellState>;
  /** Polls the state until `check` returns a truthy value. */
  until<T>(what: string, check: (state: ShellState) => T, timeoutMs?: number): Promise<Truthy<T>>;
  exited: Promise<DesktopExit>;
}

const launched: Desktop[] = [];
/** Agent processes as last seen: pid → whether it was still running then. */
const agentPids = new Map<number, boolean>();

/** A port that was free a moment ago, for the agent's `port` setting (which has no 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function launchDesktop(dataDir: string, options: { args?: string[] } = {}): Desktop {
  const userData = tempDir('desktop-user-data-');
  const configHome = tempDir('desktop-config-');
  const child = fork(MAIN, options.args ?? [], {
    execArgv: ['--import', REGISTER],
    env: { ...process.env, BOOTH_AGENT_DATA_DIR: dataDir, ELECTRON_STAND_IN_USER_DATA: userData, XDG_CONFIG_HOME: configHome },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));

  let nextId = 1;
  const pending = new Map<number, { resolve: (state: ShellState | null) => void; reject: (error: Error) => void }>();
  const remember = (state: ShellState) => {
    for (const record of state.processes) if (record.pid !== undefined) agentPids.set(record.pid, record.exitedAt === null);
  };
  let final: ShellState | null = null;
  child.on('message', (message: ControlReply | ControlExit) => {
    if (message.type === 'exiting') {
      final = message.state;
      return remember(message.state);
    }
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if ('error' in message) return waiter?.reject(new Error(message.error));
    remember(message.state);
    waiter?.resolve(message.state);
  });
  const exited = new Promise<DesktopExit>((resolve) =>
    child.on('exit', (code) => {
      for (const waiter of pending.values()) waiter.resolve(null);
      pending.clear();
      resolve({ code, at: Date.now(), final });
    }),
  );

  /** The app process's output and the agent's and desktop's log files, for a failure's message. */
  const diagnostics = () => {
    const logs = join(dataDir, 'logs');
    const files = (() => {
      try {
        return readdirSync(logs).map((file) => `--- ${file}\n${readFileSync(join(logs, file), 'utf8')}`);
      } catch {
        return [];
      }
    })();
    return [`--- app process output\n${output}`, ...files].join('\n');
  };

  const send = (command: ControlCommand) =>
    new Promise<ShellState | null>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null || !child.connected) return resolve(null);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ ...command, id } as ControlRequest);
    });
  const state = async () => {
    const current = await send({ type: 'state' });
    if (!current) throw new Error(`the desktop app has exited\n${diagnostics()}`);
    return current;
  };
  const desktop: Desktop = {
    child,
    userData,
    configHome,
    send,
    state,
    until: async (what, check, timeoutMs = 20_000) => {
      try {
        return await waitFor(what, async () => check(await state()), timeoutMs, 50);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${diagnostics()}`);
      }
    },
    exited,
  };
  launched.push(desktop);
  return desktop;
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie has ended: only its exit status waits for a parent (where there is /proc to say so).
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};

/**
 * Ends every app process launched here, and checks that their agent processes end with them
 * (as Electron's utility processes do); one that does not is killed and the test fails.
 */
export async function killDesktops(): Promise<void> {
  for (const desktop of launched.splice(0)) {
    if (desktop.child.exitCode === null && desktop.child.signalCode === null) desktop.child.kill('SIGKILL');
    await desktop.exited;
  }
  const survivors: number[] = [];
  for (const [pid, lastSeenRunning] of agentPids) {
    if (!lastSeenRunning) continue;
    const ended = await waitFor(`agent ${pid} to end with its app`, () => !running(pid), 5000).catch(() => false);
    if (!ended) {
      process.kill(pid, 'SIGKILL');
      survivors.push(pid);
    }
  }
  agentPids.clear();
  if (survivors.length > 0) throw new Error(`agent processes outlived their app and were killed: ${survivors.join(', ')}`);
}
