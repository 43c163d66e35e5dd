// Runs the built booth-agent command as a real child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

export const CLI = fileURLToPath(new URL('../../dist/booth-agent.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `booth-agent args`; `prefix` is a command that runs it (the command line is added to its arguments). */
export function runCli(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; prefix?: string[]; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [command = process.execPath, ...rest] = [...(options.prefix ?? []), process.execPath, CLI, ...args];
    const child = spawn(command, rest, { env: { ...process.env, ...options.env }, ...(options.cwd ? { cwd: options.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`booth-agent ${args.join(' ')} did not finish in time\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A `booth-agent run --port 0` process. */
export interface LaunchedAgent {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  ended(): boolean;
}

export interface AgentProcess extends LaunchedAgent {
  port: number;
}

/**
 * Starts `booth-agent run --port 0`, without waiting for anything; `prefix` is a command that
 * runs it (the agent's command line is added to its arguments).
 */
export function launchAgent(dataDir: string, env: NodeJS.ProcessEnv = {}, prefix: string[] = []): LaunchedAgent {
  const [command = process.execPath, ...args] = [...prefix, process.execPath, CLI, '--data-dir', dataDir, 'run', '--port', '0'];
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    // A command that could not be started (not installed, say) ends here, saying why.
    child.on('error', (error) => {
      out += `${command}: ${error.message}\n`;
      resolve(null);
    });
  });
  let ended = false;
  void exited.then(() => (ended = true));
  return { child, output: () => out, exited, ended: () => ended };
}

/** Starts `booth-agent run --port 0` and waits for its "listening" log line. */
export async function spawnAgent(dataDir: string, env: NodeJS.ProcessEnv = {}, prefix: string[] = []): Promise<AgentProcess> {
  const agent = launchAgent(dataDir, env, prefix);
  const port = await waitFor(
    'the agent to listen',
    () => {
      if (agent.ended()) throw new Error(`booth-agent run exited early:\n${agent.output()}`);
      const match = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(agent.output());
      return match ? Number(match[1]) : 0;
    },
    15_000,
  );
  return { ...agent, port };
}
