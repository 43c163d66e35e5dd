// Where the agent of a data folder listens, for the commands that print its URLs. The
// `port` setting is only what the next start asks for: `run --port`, or a port chosen by
// the system, can differ. So a running agent writes the port it actually listens on to
// `agent.json` in the data folder, and removes it when it stops cleanly.
//
// A record left behind by an agent that was killed is never trusted on its own: the
// instance lock says whether an agent holds the folder (the operating system frees it
// with the process), and a record found while the lock is free is stale and removed.
import { renameSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { DataDir } from './data-dir.js';
import { AlreadyRunningError, acquireInstanceLock } from './instance-lock.js';

const recordSchema = z.object({ port: z.number().int().min(1).max(65535), pid: z.number().int() });

export type LiveAgent =
  | { running: false }
  /** `port` is null while the agent is still starting (it holds the folder, not yet the port). */
  | { running: true; port: number | null };

/** Records that this process listens on `port`; returns what removes the record again. */
export function recordListening(dir: DataDir, port: number): () => void {
  const temporary = `${dir.liveRecord}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ port, pid: process.pid })}\n`, { mode: 0o600 });
  renameSync(temporary, dir.liveRecord);
  return () => rmSync(dir.liveRecord, { force: true });
}

/** Whether an agent runs on this data folder, and on which port. */
export function liveAgent(dir: DataDir): LiveAgent {
  let lock;
  try {
    lock = acquireInstanceLock(dir.lock, dir.root);
  } catch (error) {
    if (error instanceof AlreadyRunningError) return { running: true, port: readRecord(dir)?.port ?? null };
    throw error;
  }
  try {
    // Holding the lock, no agent can be starting: whatever record is here is stale.
    rmSync(dir.liveRecord, { force: true });
  } finally {
    lock.release();
  }
  return { running: false };
}

function readRecord(dir: DataDir): z.infer<typeof recordSchema> | null {
  try {
    const parsed = recordSchema.safeParse(JSON.parse(readFileSync(dir.liveRecord, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
