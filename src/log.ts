// Structured logs: one JSON line per attempt and per state change, to a rotating file in
// the data folder (and to stdout under `booth-agent run`).
//
// Both are pino's own background writer (sonic-boom): lines written together go out in one
// write. A draining backlog logs a line per attempt, and a stream-based file writer cost
// more per line than the attempt's database work (measured in `npm run bench`).
import { existsSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  logsDir: string;
  stdout: boolean;
  level?: string;
  /** The file's name in logsDir (the desktop app's main process writes its own). */
  file?: string;
}

const ROTATE_AT_BYTES = 5 * 1024 * 1024;
const FILES_KEPT = 5;

export function createLogger(options: LogOptions): { log: Logger; close(): Promise<void> } {
  const file = rotatingFile(join(options.logsDir, options.file ?? 'agent.log'), ROTATE_AT_BYTES, FILES_KEPT);
  const streams: pino.StreamEntry[] = [{ stream: file }];
  const stdout = options.stdout ? pino.destination({ dest: 1, sync: false }) : null;
  if (stdout) streams.push({ stream: stdout });
  const log = pino({ level: options.level ?? 'info', base: { pid: process.pid } }, pino.multistream(streams));
  return {
    log,
    close: async () => {
      stdout?.flushSync();
      await new Promise<void>((resolve) => {
        file.once('close', () => resolve());
        file.end();
      });
    },
  };
}

type Destination = ReturnType<typeof pino.destination> & DestinationStream;

/**
 * A log file written in the background and rotated once it reaches `maxBytes`:
 * `agent.log` becomes `agent.log.1` (and `.1` becomes `.2` …), keeping `keep` files in all.
 */
export function rotatingFile(path: string, maxBytes: number, keep: number): Destination {
  let size = existsSync(path) ? statSync(path).size : 0;
  const destination = pino.destination({ dest: path, sync: false, mkdir: true, mode: 0o600 }) as Destination;
  destination.on('write', (bytes: number) => {
    size += bytes;
    if (size < maxBytes) return;
    size = 0;
    try {
      for (let n = keep - 1; n >= 1; n--) {
        const from = n === 1 ? path : `${path}.${n - 1}`;
        if (existsSync(from)) renameSync(from, `${path}.${n}`);
      }
    } catch {
      // A file held open elsewhere (an editor on Windows): keep writing, try again later.
      return;
    }
    destination.reopen();
  });
  return destination;
}
