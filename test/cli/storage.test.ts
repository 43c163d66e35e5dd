// `booth-agent storage …` as a real process against the S3-compatible test service: the secret
// only from standard input, never printed, logged or stored in clear; refusals name the flag.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { tempDir } from '../helpers/temp.js';

/** The desktop app's key, as the agent it starts gets it: secrets are sealed at rest. */
const KEYED = { BOOTH_AGENT_SECRET_KEY: Buffer.alloc(32, 5).toString('base64') };
let server: S3Server;
let caFile: string;

beforeAll(async () => {
  server = await startS3Server({ publicPrefixes: ['booth/'] });
  caFile = join(tempDir('storage-ca-'), 'ca.pem');
  writeFileSync(caFile, server.certificate.cert);
});
afterAll(() => server.close());

function setArgs(dataDir: string, ...extra: string[]): string[] {
  return [
    '--data-dir',
    dataDir,
    'storage',
    'set',
    '--url',
    server.endpoint,
    '--bucket',
    server.bucket,
    '--prefix',
    'booth/',
    '--access-key-id',
    server.accessKeyId,
    '--path-style',
    '--ca',
    caFile,
    ...extra,
  ];
}

/** Every file of the data folder (database, WAL, logs), as one text. */
function everythingStored(dataDir: string): string {
  const files = readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return files.map((entry) => readFileSync(join(entry.parentPath, entry.name)).toString('latin1')).join('\n');
}

describe('booth-agent storage', () => {
  it('sets the storage from standard input, shows it without the secret, verifies it and removes it', async () => {
    const dataDir = tempDir('storage-cli-');
    // A secret piped with echo ends in a line break, which is not part of it.
    const set = await runCli(setArgs(dataDir, '--secret-stdin', '--public-url', `${server.endpoint}/${server.bucket}`), {
      input: `${server.secretAccessKey}\r\n`,
      env: KEYED,
    });
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain(`bucket     ${server.bucket}`);
    expect(set.stdout).toContain('secret     set');

    const show = await runCli(['--data-dir', dataDir, 'storage', 'show'], { env: KEYED });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`links      public: ${server.endpoint}/${server.bucket}/<file in the bucket>`);
    const json = await runCli(['--data-dir', dataDir, '--json', 'storage', 'show'], { env: KEYED });
    expect(JSON.parse(json.stdout)).toMatchObject({ bucket: server.bucket, prefix: 'booth/', links: 'public', secretLocked: false });

    const verify = await runCli(['--data-dir', dataDir, 'storage', 'verify'], { env: KEYED });
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^OK\n {2}upload ok {6}Uploaded a test file/);
    expect(verify.stdout).toContain('  read   ok      Opened https://127.0.0.1:');
    expect(verify.stdout).toContain('  delete ok      Deleted the test file.');

    for (const output of [set, show, json, verify]) expect(output.stdout + output.stderr).not.toContain(server.secretAccessKey);
    expect(everythingStored(dataDir)).not.toContain(server.secretAccessKey);

    // The headless CLI cannot open a secret the desktop app sealed, and says so.
    const locked = await runCli(['--data-dir', dataDir, 'storage', 'verify']);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain('the secrets in this data folder are encrypted by the Booth Agent desktop app');
    expect((await runCli(['--data-dir', dataDir, 'storage', 'show'])).stdout).toContain('secret     set, sealed by the desktop app');

    const removed = await runCli(['--data-dir', dataDir, 'storage', 'remove'], { env: KEYED });
    expect(removed).toMatchObject({ code: 0, stdout: 'storage removed\n' });
    expect((await runCli(['--data-dir', dataDir, '--json', 'storage', 'show'])).stdout).toBe('null\n');
    expect(await runCli(['--data-dir', dataDir, 'storage', 'remove'])).toMatchObject({
      code: 2,
      stderr: 'booth-agent: no storage is set\n',
    });
  });

  it('says a failed verify in plain words, exits 1, and says that presigned links stop after 7 days', async () => {
    const dataDir = tempDir('storage-cli-');
    const set = await runCli(setArgs(dataDir, '--secret-stdin', '--prefix', 'private/'), { input: server.secretAccessKey });
    expect(set.code).toBe(0);
    const presigned = await runCli(['--data-dir', dataDir, 'storage', 'verify']);
    expect(presigned.code).toBe(0);
    expect(presigned.stdout).toContain('Links are presigned: they stop working 7 days after they are made.');

    await runCli(setArgs(dataDir, '--secret-stdin', '--prefix', 'private/', '--public-url', `${server.endpoint}/${server.bucket}`), {
      input: server.secretAccessKey,
    });
    const notPublic = await runCli(['--data-dir', dataDir, '--json', 'storage', 'verify']);
    expect(notPublic.code).toBe(1);
    const report = JSON.parse(notPublic.stdout) as { ok: boolean; steps: { step: string; ok: boolean; message: string }[] };
    expect(report.ok).toBe(false);
    expect(report.steps.map((s) => [s.step, s.ok])).toEqual([
      ['upload', true],
      ['read', false],
      ['delete', true],
    ]);
    expect(report.steps[1]!.message).toContain('the upload works but guests cannot open the link');
  });

  it('takes the secret from standard input only, and names the flag of each bad value (exit 2)', async () => {
    const dataDir = tempDir('storage-cli-');
    const asArgument = await runCli(setArgs(dataDir, '--secret', server.secretAccessKey));
    expect(asArgument.code).toBe(2);
    expect(asArgument.stderr).toContain('the secret is read from standard input only');
    expect(asArgument.stderr).not.toContain(server.secretAccessKey);
    const otherName = await runCli(setArgs(dataDir, '--secret-access-key', 'x'));
    expect(otherName).toMatchObject({ code: 2 });
    expect(otherName.stderr).toContain('use --secret-stdin');
    const withoutSecret = await runCli(setArgs(dataDir));
    expect(withoutSecret.code).toBe(2);
    expect(withoutSecret.stderr).toContain('--secret-stdin: the secret is read from standard input only');
    expect(await runCli(setArgs(dataDir, '--secret-stdin'), { input: '\n' })).toMatchObject({
      code: 2,
      stderr: 'booth-agent: --secret-stdin: standard input was empty; pipe the secret in\n',
    });

    const bad = await runCli(
      [...setArgs(dataDir, '--secret-stdin'), '--url', 'http://minio.lan:9000', '--prefix', 'booth', '--public-url', 'nope'],
      { input: 'two\nlines\n' },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--url: HTTPS is required');
    expect(bad.stderr).toContain('--prefix: must end with /, like booth/');
    expect(bad.stderr).toContain('--secret-stdin: must not contain spaces or line breaks');
    expect(bad.stderr).toContain('--public-url: "nope" is not a URL');
    expect(bad.stderr).not.toContain('lines');
    expect(await runCli(['--data-dir', dataDir, 'storage', 'set', '--bucket', 'b'])).toMatchObject({ code: 2 });
    expect((await runCli(['--data-dir', dataDir, '--json', 'storage', 'show'])).stdout).toBe('null\n');
  });
});
