// Where an agent keeps its state: one folder, readable by the current user only.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import envPaths from 'env-paths';

export interface DataDir {
  root: string;
  database: string;
  lock: string;
  /** Where the running agent records the port it listens on (see live-agent.ts). */
  liveRecord: string;
  logs: string;
  /** Sessions' files taken in, one folder each (media/intake.ts); made when the first one comes. */
  media: string;
}

/** --data-dir, else BOOTH_AGENT_DATA_DIR, else the platform's per-user data folder. */
export function resolveDataDir(explicit?: string): string {
  return explicit ?? process.env.BOOTH_AGENT_DATA_DIR ?? envPaths('booth-agent', { suffix: '' }).data;
}

export function prepareDataDir(root: string): DataDir {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') chmodSync(root, 0o700);
  const logs = join(root, 'logs');
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  return {
    root,
    database: join(root, 'outbox.db'),
    lock: join(root, 'agent.lock'),
    liveRecord: join(root, 'agent.json'),
    logs,
    media: join(root, 'media'),
  };
}
