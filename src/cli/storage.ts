// `storage …`: the organiser's S3-compatible storage for session photos (docs/storage.md).
// The secret is read from standard input only, so it never reaches the shell's history or
// the list of running processes.
import { Option, type Command } from 'commander';
import type { StorageVerifyReport, StorageView } from '../core/read-model.js';
import { Refusal } from '../operations/context.js';
import { removeStorage, setStorage, STORAGE_REMOVED, showStorage, verifyStorage, type StorageInput } from '../operations/storage.js';
import { withOperations } from './context.js';
import { readCa } from './options.js';
import { count, localTime, print, refusalMessage, UsageError } from './output.js';

/** The operation's fields as this command names them. */
const STORAGE_FLAGS: Record<string, string> = {
  url: '--url',
  bucket: '--bucket',
  region: '--region',
  prefix: '--prefix',
  accessKeyId: '--access-key-id',
  secretAccessKey: '--secret-stdin',
  publicUrl: '--public-url',
  pathStyle: '--path-style',
  ca: '--ca',
};

const SECRET_ONLY_ON_STDIN = 'the secret is read from standard input only, so that it stays out of the shell history: use --secret-stdin';

interface SetOptions {
  url: string;
  bucket: string;
  region?: string;
  prefix?: string;
  accessKeyId: string;
  secretStdin?: boolean;
  publicUrl?: string;
  pathStyle?: boolean;
  ca?: string;
}

export function storageCommand(program: Command): void {
  const storage = program.command('storage').description("the organiser's storage for session photos (any S3-compatible service)");

  storage
    .command('set')
    .description('set the storage; the secret is read from standard input (docs/storage.md)')
    .requiredOption('--url <url>', "the service's S3 address, without the bucket (https only)")
    .requiredOption('--bucket <name>', "the bucket's name")
    .option('--region <region>', 'the region requests are signed for (default us-east-1; R2: auto)')
    .option('--prefix <prefix>', 'the folder in the bucket the files go in, ending in /')
    .requiredOption('--access-key-id <id>', "the access key's id")
    .option('--secret-stdin', "read the access key's secret from standard input (one trailing line break is dropped)")
    .option('--public-url <url>', 'the address guests open files under; without it, links are presigned and stop working after 7 days')
    .option('--path-style', 'put the bucket in the path rather than the host name (MinIO)')
    .option('--ca <file>', 'also trust this CA certificate (PEM), for a MinIO on a private certificate')
    .addOption(new Option('--secret <secret>').hideHelp().argParser(refuseSecretArgument))
    .addOption(new Option('--secret-access-key <secret>').hideHelp().argParser(refuseSecretArgument))
    .action(async (options: SetOptions, command: Command) => {
      if (!options.secretStdin) throw new UsageError(`--secret-stdin: ${SECRET_ONLY_ON_STDIN}`);
      const input: StorageInput = {
        url: options.url,
        bucket: options.bucket,
        ...(options.region !== undefined ? { region: options.region } : {}),
        ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
        accessKeyId: options.accessKeyId,
        secretAccessKey: await readSecret(),
        publicUrl: options.publicUrl ?? null,
        pathStyle: options.pathStyle ?? false,
        ca: options.ca === undefined ? null : readCa(options.ca),
      };
      await withOperations(command, (ctx) => {
        const set = namingFlags(() => setStorage(ctx, input));
        print(command, set, `${describeStorage(set)}\nCheck it with: booth-agent storage verify`);
      });
    });

  storage
    .command('show')
    .description('print the storage (never its secret)')
    .action(async (_options, command: Command) => {
      await withOperations(command, (ctx) => {
        const shown = showStorage(ctx);
        print(
          command,
          shown,
          shown === null ? 'no storage set: booth-agent storage set --url URL --bucket NAME …' : describeStorage(shown),
        );
      });
    });

  storage
    .command('remove')
    .description('forget the storage and its secret')
    .option('--force', 'remove it although photos wait to be uploaded: they fail, to be retried once another storage is set')
    .action(async (options: { force?: boolean }, command: Command) => {
      await withOperations(command, (ctx) => {
        const removed = removeStorage(ctx, { force: options.force ?? false });
        print(
          command,
          removed,
          removed.uploadsFailed > 0
            ? `storage removed; ${count(removed.uploadsFailed, 'upload', 'uploads')} failed: ${STORAGE_REMOVED}`
            : 'storage removed',
        );
      });
    });

  storage
    .command('verify')
    .description('upload a test file, open it as a guest would, delete it, and report each step')
    .action(async (_options, command: Command) => {
      await withOperations(command, async (ctx) => {
        const report = await verifyStorage(ctx);
        print(command, report, describeReport(report));
        if (!report.ok) process.exitCode = 1;
      });
    });
}

function refuseSecretArgument(): never {
  throw new UsageError(SECRET_ONLY_ON_STDIN);
}

/** Standard input, less one trailing line break (what `echo` or a here-string adds). */
async function readSecret(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UsageError(`--secret-stdin: pipe the secret in, for example: printf '%s' "$SECRET" | booth-agent storage set …`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const secret = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/(\r\n|\r|\n)$/, '');
  if (secret === '') throw new UsageError('--secret-stdin: standard input was empty; pipe the secret in');
  return secret;
}

/** Runs the operation; a refusal names this command's flags rather than the operation's fields. */
function namingFlags<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof Refusal && error.issues.length > 0) throw new Refusal(error.kind, refusalMessage(error, STORAGE_FLAGS));
    throw error;
  }
}

function describeStorage(storage: StorageView): string {
  const rows: [string, string][] = [
    ['url', storage.url],
    ['bucket', storage.bucket],
    ['region', storage.region],
    ['prefix', storage.prefix || '(none: the top of the bucket)'],
    ['key id', storage.accessKeyId],
    ['secret', storage.secretLocked ? 'set, sealed by the desktop app (give BOOTH_AGENT_SECRET_KEY to use it here)' : 'set'],
    [
      'links',
      storage.publicUrl === null
        ? 'presigned: they stop working 7 days after they are made'
        : `public: ${storage.publicUrl}/<file in the bucket>`,
    ],
    ['path style', storage.pathStyle ? 'yes' : 'no'],
    ...(storage.hasCa ? ([['CA', 'its own CA is trusted']] as [string, string][]) : []),
    ['set', localTime(storage.updatedAt)],
  ];
  return rows.map(([name, value]) => `${name.padEnd(11)}${value}`).join('\n');
}

function describeReport(report: StorageVerifyReport): string {
  const steps = report.steps.map((s) => `  ${s.step.padEnd(7)}${(s.ok ? 'ok' : 'FAILED').padEnd(8)}${s.message}`);
  return [report.ok ? 'OK' : 'NOT OK', ...steps, ...report.notes.map((n) => `  ${n}`)].join('\n');
}
