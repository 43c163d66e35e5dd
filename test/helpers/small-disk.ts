// `booth-agent run` with its data folder on a small disk of its own: a tmpfs mounted in a mount
// namespace made for the agent (unshare), so a test fills a real file system and the machine's
// own disks are never touched. The test sees that disk through /proc/<pid>/root, the agent's
// view of the file system.
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnAgent, type AgentProcess, type CliResult } from './cli.js';
import { tempDir } from './temp.js';

export interface AgentOnSmallDisk extends AgentProcess {
  /** A path in the agent's data folder, as the test can read it. */
  seen(...path: string[]): string;
  /** Bytes free on the small disk. */
  free(): number;
  /**
   * Runs `booth-agent args --data-dir <the data folder>` where the agent runs, in its mount
   * namespace: SQLite resolves /proc/<pid>/root to this process's own root, so the test cannot
   * open the outbox through it.
   */
  cli(args: string[]): Promise<CliResult>;
}

/**
 * Mounts a tmpfs of `sizeMb` where the agent keeps its data, copies the data folder prepared in
 * `dataDir` onto it, and starts the agent there. Where a mount namespace cannot be made, this
 * fails and says so: the test needs a real full disk and has no stand-in for it.
 */
export async function spawnAgentOnSmallDisk(dataDir: string, sizeMb: number): Promise<AgentOnSmallDisk> {
  const disk = tempDir('disk-');
  const mountThenRun = 'mount -t tmpfs -o "size=$0" tmpfs "$1" && cp -a "$2/." "$1/" && shift 2 && exec "$@"';
  let agent: AgentProcess;
  try {
    agent = await spawnAgent(disk, {}, ['unshare', '-rm', 'sh', '-c', mountThenRun, `${sizeMb}m`, disk, dataDir]);
  } catch (error) {
    throw new Error(
      `the agent could not be started on a tmpfs of its own (unshare -rm, then mount -t tmpfs); ` +
        `this test needs user and mount namespaces, or root:\n${(error as Error).message}`,
    );
  }
  const seen = (...path: string[]) => join(`/proc/${agent.child.pid}/root`, disk, ...path);
  return {
    ...agent,
    seen,
    free: () => {
      const stats = statfsSync(seen());
      return stats.bavail * stats.bsize;
    },
    cli: (args) => runCli([...args, '--data-dir', disk], { prefix: ['nsenter', '-t', String(agent.child.pid), '-m', '--'] }),
  };
}
