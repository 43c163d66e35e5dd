// `booth-agent receive`: an operator watches webhooks arrive, signatures checked.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

describe('booth-agent receive', () => {
  it("prints each webhook with its signatures checked against the endpoint's secret", async () => {
    const dataDir = tempDir('receive-');
    const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'receive', '--port', '0']);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    try {
      const [, url, ca] = await waitFor(
        'the receiver to listen',
        () => /endpoint add (https:\/\/127\.0\.0\.1:\d+\/) --ca (\S+)/.exec(out),
        15_000,
      );
      const added = await runCli(['--data-dir', dataDir, '--json', 'endpoint', 'add', url!, '--ca', ca!]);
      expect(added.code).toBe(0);
      const { id } = JSON.parse(added.stdout);
      const test = await runCli(['--data-dir', dataDir, 'endpoint', 'test', id, '--type', 'share']);
      expect(test.code).toBe(0);
      await waitFor('the webhook printed', () => out.includes('share (test)'), 5000);
      expect(out).toContain('X-Signature: valid · webhook-signature: valid · timestamp fresh');
      expect(out).toContain('"share789"');

      const wrong = await runCli([
        '--data-dir',
        dataDir,
        '--json',
        'endpoint',
        'add',
        url!,
        '--ca',
        ca!,
        '--secret',
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      ]);
      const other = JSON.parse(wrong.stdout).id;
      out = '';
      await runCli(['--data-dir', dataDir, 'endpoint', 'test', other]);
      await waitFor('the second webhook printed', () => out.includes('session (test)'), 5000);
      // Both endpoints point at this receiver, so either secret is accepted.
      expect(out).toContain('X-Signature: valid');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
