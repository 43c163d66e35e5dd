// Looking for a guest's data in the bytes of every file of a folder: the outbox, its -wal,
// the logs, whatever else is there.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under `dir`, with its bytes. */
export function filesOf(dir: string): { file: string; bytes: Buffer }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((file) => statSync(file).isFile())
    .map((file) => ({ file, bytes: readFileSync(file) }));
}

/** The files under `dir` that hold `text` in any case, as UTF-8 or UTF-16. */
export function holding(dir: string, text: string): string[] {
  const needles = [Buffer.from(text.toLowerCase(), 'utf8'), Buffer.from(text.toLowerCase(), 'utf16le')];
  return filesOf(dir)
    .filter(({ bytes }) => {
      const lower = Buffer.from(bytes.toString('latin1').toLowerCase(), 'latin1');
      return needles.some((needle) => lower.includes(needle));
    })
    .map(({ file }) => file);
}
