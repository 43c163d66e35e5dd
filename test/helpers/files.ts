// Looking for a guest's data in the bytes of every file of a folder: the outbox, its -wal,
// the logs, whatever else is there. And a file another process goes on writing.
import { spawn, type ChildProcess } from 'node:child_process';
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

/**
 * Starts another process that goes on appending to `path` for 10 s, as a booth program does
 * until its video is done; resolves once it is writing. The caller kills it.
 */
export async function keepWriting(path: string): Promise<ChildProcess> {
  const writer = spawn(process.execPath, [
    '-e',
    `const fs = require('fs'); const fd = fs.openSync(${JSON.stringify(path)}, 'a'); const chunk = Buffer.alloc(65536, 2);
     const end = Date.now() + 10000; const tick = () => { fs.writeSync(fd, chunk); if (Date.now() < end) setTimeout(tick, 1); }; tick();
     process.stdout.write('writing\\n');`,
  ]);
  await new Promise((resolve) => writer.stdout.once('data', resolve));
  return writer;
}
