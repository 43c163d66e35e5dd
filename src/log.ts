// Structured logs: one JSON line per attempt and per state change, to a rotating file in
// the data folder (and to stdout under `booth-agent run`).
import { pino, type Logger } from 'pino';
import { createStream } from 'rotating-file-stream';

export type { Logger };

export interface LogOptions {
  logsDir: string;
  stdout: boolean;
  level?: string;
  /** The file's name in logsDir (the desktop app's main process writes its own). */
  file?: string;
}

export function createLogger(options: LogOptions): { log: Logger; close(): Promise<void> } {
  const file = createStream(options.file ?? 'agent.log', { path: options.logsDir, size: '5M', maxFiles: 5, mode: 0o600 });
  const streams: pino.StreamEntry[] = [{ stream: file }];
  if (options.stdout) streams.push({ stream: process.stdout });
  const log = pino({ level: options.level ?? 'info', base: { pid: process.pid } }, pino.multistream(streams));
  return {
    log,
    close: () => new Promise((resolve) => file.end(() => resolve())),
  };
}
