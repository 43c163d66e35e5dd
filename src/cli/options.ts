// Option values more than one command group parses the same way.
import { readFileSync } from 'node:fs';
import { UsageError } from './output.js';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0 to 65535, not "${value}"`);
  return port;
}

export function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit must be a whole number of 1 or more, not "${value}"`);
  return n;
}

/** `--ca FILE`: the PEM text of the file (the operation checks that it is a certificate). */
export function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the CA file ${file}: ${(error as Error).message}`);
  }
}
