// How events come in, from the command line: `emit` captures one, `hot-folder` shows what
// the hot folder made of the files it saw.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { hotFolderFiles } from '../capture/hot-folder.js';
import { mediaCaptureOf } from '../media/capture.js';
import { storageConfig } from '../storage/config.js';
import { withOperations } from './context.js';
import { parseLimit } from './options.js';
import { count, localTime, print, UsageError } from './output.js';

export function emitCommand(program: Command): void {
  program
    .command('emit [file]')
    .description('capture one event from a JSON file, or from standard input with - (or nothing)')
    .option('--idempotency-key <key>', 'a key that makes a repeat of this command create nothing new')
    .action(async (file: string | undefined, options: { idempotencyKey?: string }, command: Command) => {
      const body = readPayload(file);
      await withOperations(command, async (ctx, dir) => {
        const { store } = ctx;
        const media = mediaCaptureOf(store, dir.media, {
          storage: () => storageConfig(store),
          commit: (event, now, window) => store.queue.capture(event, now, window),
          // The running agent's alert monitor lives in its own process: a refusal here is
          // told on standard error and in the log.
          diskLow: () => {},
          log: ctx.log,
        });
        const result = await media.capture(body, { idempotencyKey: options.idempotencyKey ?? null }, store.settings.read(), Date.now());
        switch (result.kind) {
          case 'accepted':
          case 'duplicate': {
            const { links } = result;
            const captured =
              result.kind === 'accepted'
                ? `captured ${result.id} (${count(result.deliveries, 'delivery', 'deliveries')})`
                : `already captured as ${result.id}; nothing new was created`;
            print(
              command,
              {
                kind: result.kind,
                id: result.id,
                deliveries: result.deliveries,
                ...(links && { direct_url: links.directUrl, site_url: links.siteUrl }),
              },
              links === undefined
                ? captured
                : `${captured}\nthe file goes to ${links.directUrl}${links.siteUrl === links.directUrl ? '' : `\nits page: ${links.siteUrl}`}`,
            );
            return;
          }
          case 'invalid':
            throw new UsageError(`${result.error}:\n${result.issues.map((i) => `  ${i.path || '(body)'}: ${i.message}`).join('\n')}`);
          case 'unavailable':
          case 'insufficient-storage':
            process.stderr.write(`booth-agent: ${result.error}\n`);
            process.exitCode = 1;
        }
      });
    });
}

function readPayload(file: string | undefined): Buffer {
  if (file === undefined || file === '-') return readFileSync(0);
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

export function hotFolderCommand(program: Command): void {
  program
    .command('hot-folder')
    .description('the files the hot folder has seen, newest first, each with the reference the logs name it by, and what became of it')
    .option('--limit <n>', 'at most this many', (v) => parseLimit(v), 50)
    .action(async (options: { limit: number }, command: Command) => {
      await withOperations(command, ({ store }) => {
        const files = hotFolderFiles(store.db, { limit: options.limit });
        const folder = store.settings.read().hot_folder;
        const text =
          files.length === 0
            ? `no files seen yet${folder === null ? ' (no hot folder is set: booth-agent config set hot_folder DIR)' : ` in ${folder}`}`
            : files.map((f) => `${localTime(f.seenAt)}  ${f.ref}  ${f.path}\n    ${f.outcome}`).join('\n');
        print(command, files, text);
      });
    });
}
