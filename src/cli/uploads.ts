// `uploads`: sessions' files on their way to the organiser's storage, and the retry of those
// that failed once the storage is fixed (docs/capture-api.md, "The command line").
import { Option, type Command } from 'commander';
import { sizeWords, UPLOAD_STATUSES } from '../core/media.js';
import type { UploadStatus, UploadView } from '../core/read-model.js';
import { retryUploads } from '../operations/uploads.js';
import { withOperations } from './context.js';
import { parseLimit } from './options.js';
import { count, localTime, print, UsageError } from './output.js';

export function uploadsCommand(program: Command): void {
  const uploads = program
    .command('uploads')
    .description("sessions' files and their uploads to the storage, newest first, with size and progress")
    .addOption(new Option('--status <status>', 'only this status').choices(UPLOAD_STATUSES))
    .option('--limit <n>', 'at most this many', (v) => parseLimit(v), 50)
    .action(async (options: { status?: UploadStatus; limit: number }, command: Command) => {
      await withOperations(command, ({ store }) => {
        const listed = store.media.list({ status: options.status, limit: options.limit });
        print(command, listed, listed.length === 0 ? 'no uploads' : listed.map(describe).join('\n'));
      });
    });

  uploads
    .command('retry [id]')
    .description('retry one failed upload, or every failed one with --all (after fixing the storage)')
    .option('--all', 'retry every failed upload')
    .action(async (id: string | undefined, options: { all?: boolean }, command: Command) => {
      if ((id === undefined) === !options.all) throw new UsageError('give one upload id, or --all (not both)');
      await withOperations(command, (ctx) => {
        const result = retryUploads(ctx, id === undefined ? { all: true } : { id });
        print(command, result, `${count(result.retried, 'failed upload', 'failed uploads')} to be tried again`);
      });
    });
}

function describe(upload: UploadView): string {
  const progress =
    upload.status === 'uploaded'
      ? `uploaded ${localTime(upload.uploadedAt)}`
      : `${sizeWords(upload.bytesDone)} of ${sizeWords(upload.size)} (${Math.floor((100 * upload.bytesDone) / Math.max(upload.size, 1))}%)`;
  return [
    `${upload.id}  ${upload.status.padEnd(9)} ${sizeWords(upload.size).padStart(7)}  ${progress}  ${upload.name}  session ${upload.sessionId}`,
    ...(upload.lastError ? [`    ${upload.lastError}`] : []),
    ...(upload.nextAttemptAt !== null && upload.attempts > 0 ? [`    next try at ${localTime(upload.nextAttemptAt)}`] : []),
  ].join('\n');
}
