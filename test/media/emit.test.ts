// `booth-agent emit` of a session that names its file, against a running agent: the command
// copies the file in before it answers (so the booth may delete it at once), and the agent's
// upload lane, which reads the outbox, uploads it and sends the webhook with the link.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { CLI, runCli, spawnAgent } from '../helpers/cli.js';
import { mediaDataDir, setStorageWithCli, useMediaServices } from '../helpers/media.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();

const session = (id: string, file: string) => JSON.stringify({ type: 'session', session: { id, type: 'still', file } });

describe('booth-agent emit with session.file', () => {
  it('copies the file in, answers with its link, and the running agent uploads it before the webhook', async () => {
    const { dataDir, output } = mediaDataDir(m);
    const publicUrl = m.s3.objectUrl('').replace(/\/$/, '');
    await setStorageWithCli(dataDir, m.s3, ['--public-url', publicUrl]);
    const link = `${publicUrl}/booths/1/emit-1/0042.jpg`;
    const page = `${publicUrl}/booths/1/emit-1/index.html`;

    const agent = await spawnAgent(dataDir);
    try {
      const bytes = randomBytes(3 * 1024 * 1024);
      const photo = join(output, '0042.jpg');
      writeFileSync(photo, bytes);
      const emitted = await runCli(['--data-dir', dataDir, '--json', 'emit', '-'], { input: session('emit-1', photo) });
      // The booth deletes its file as soon as the command has answered.
      rmSync(photo);
      expect(emitted.code, emitted.stderr).toBe(0);
      expect(JSON.parse(emitted.stdout)).toEqual({
        kind: 'accepted',
        id: expect.stringMatching(/^evt_/),
        deliveries: 1,
        direct_url: link,
        site_url: page,
      });

      await waitFor('the session webhook', () => m.receiver.requests.length === 1, 30_000);
      const webhook = JSON.parse(m.receiver.requests[0]!.body.toString());
      expect(webhook.session).toMatchObject({ id: 'emit-1', direct_url: link, site_url: page });
      expect(webhook.session).not.toHaveProperty('file');
      expect((await m.s3.readObject('booths/1/emit-1/0042.jpg'))?.equals(bytes)).toBe(true);

      // A repeat names the same link, though the booth's file is gone: nothing is taken again.
      const again = await runCli(['--data-dir', dataDir, 'emit', '-'], { input: session('emit-1', photo) });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe(
        `already captured as ${JSON.parse(emitted.stdout).id}; nothing new was created\nthe file goes to ${link}\nits page: ${page}\n`,
      );

      const outside = join(tempDir('elsewhere-'), '0043.jpg');
      writeFileSync(outside, bytes);
      const refused = await runCli(['--data-dir', dataDir, 'emit', '-'], { input: session('emit-2', outside) });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('session.file: is outside the folders the agent takes media from (the media_roots setting)');
      const check = openStore(join(dataDir, 'outbox.db'));
      expect(check.db.prepare("SELECT count(*) FROM events WHERE type = 'session'").pluck().get()).toBe(1);
      check.close();
      // Only the uploaded session's folder, if any: the refused file left no copy.
      expect(readdirSync(join(dataDir, 'media'), { recursive: true }).filter((f) => String(f).includes('0043'))).toEqual([]);
    } finally {
      agent.child.kill('SIGKILL');
      await agent.exited;
    }
  }, 60_000);

  it('refuses a file the disk takes only part of, keeping neither a copy nor an event', async () => {
    const { dataDir, output } = mediaDataDir(m);
    await setStorageWithCli(dataDir, m.s3, ['--public-url', m.s3.objectUrl('').replace(/\/$/, '')]);
    // A limit on the size of any file the command writes (RLIMIT_FSIZE), just under the photo's:
    // the write that crosses it takes only part of its bytes, and the next one fails.
    const limit = 1_536_000;
    const photo = join(output, '0044.jpg');
    writeFileSync(photo, randomBytes(limit + 100));
    const emitted = spawnSync('prlimit', [`--fsize=${limit}`, process.execPath, CLI, '--data-dir', dataDir, '--json', 'emit', '-'], {
      input: session('emit-3', photo),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(emitted.status, emitted.stdout).toBe(1);
    expect(emitted.stderr).toContain('EFBIG');
    const check = openStore(join(dataDir, 'outbox.db'));
    expect(check.db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(0);
    expect(check.db.prepare('SELECT count(*) FROM media').pluck().get()).toBe(0);
    check.close();
    expect(readdirSync(join(dataDir, 'media'))).toEqual([]);
  }, 60_000);
});
