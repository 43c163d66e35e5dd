// The organiser's storage down for a whole minute, under a real `booth-agent run`: it goes away
// in the middle of a video's second part, and a photo is captured while it is away. Both uploads
// wait, spending no attempts (as `booth-agent uploads --json` shows the operator all along), their
// webhooks wait with them, and once the storage is back both go by themselves within the
// offline-check bound, the webhooks after them, once each. Nothing it logged holds the secret.
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { UploadView } from '../../src/core/read-model.js';
import { configure } from '../helpers/agent.js';
import { runCli, spawnAgent } from '../helpers/cli.js';
import { agentLogs, mediaDataDir, setStorageWithCli, useMediaServices } from '../helpers/media.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const OUTAGE_MS = 60_000;
/** The longest wait between two looks at a storage that cannot be reached. */
const OFFLINE_CHECK_MAX_MS = 5_000;

const m = useMediaServices();

const sha256 = (bytes: Buffer | null) =>
  createHash('sha256')
    .update(bytes ?? Buffer.alloc(0))
    .digest('hex');

describe('the storage down for 60 s', () => {
  it('keeps the uploads waiting without spending attempts, and they go by themselves once it is back', async () => {
    const { dataDir, output, token } = mediaDataDir(m);
    configure(dataDir, { offline_check_min_ms: 1_000, offline_check_max_ms: OFFLINE_CHECK_MAX_MS });
    await setStorageWithCli(dataDir, m.s3, ['--public-url', m.s3.objectUrl('').replace(/\/$/, '')]);
    const agent = await spawnAgent(dataDir);
    const capture = async (sessionId: string, name: string, bytes: Buffer) => {
      writeFileSync(join(output, name), bytes);
      const answer = await fetch(`http://127.0.0.1:${agent.port}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ type: 'session', session: { id: sessionId, type: 'still', file: join(output, name) } }),
      });
      expect(answer.status).toBe(202);
      rmSync(join(output, name));
    };
    const uploads = async () => {
      const listed = await runCli(['--data-dir', dataDir, '--json', 'uploads']);
      expect(listed.code, listed.stderr).toBe(0);
      return JSON.parse(listed.stdout) as UploadView[];
    };
    const webhooks = (sessionId: string) => m.receiver.requests.filter((r) => JSON.parse(r.body.toString()).session?.id === sessionId);

    try {
      const clip = randomBytes(20 * MiB);
      const photo = randomBytes(300_000);
      let downAt = 0;
      m.s3.watch((r) => {
        if (downAt === 0 && r.operation === 'UploadPart' && r.partNumber === 2 && r.received >= MiB) {
          downAt = Date.now();
          void m.s3.down('refuse');
        }
      });
      await capture('out-clip', 'clip.mp4', clip);
      await waitFor('the storage to go down in the second part', () => downAt > 0, 30_000);
      m.s3.watch(null);
      await capture('out-photo', 'photo.jpg', photo);

      let looks = 0;
      while (Date.now() - downAt < OUTAGE_MS) {
        const listed = await uploads();
        expect(listed.map((u) => [u.sessionId, u.attempts])).toEqual([
          ['out-photo', 0],
          ['out-clip', 0],
        ]);
        expect(listed.every((u) => u.status === 'waiting' || u.status === 'uploading')).toBe(true);
        // Parts in before the storage went away stay in: the clip does not start again.
        expect(listed[1]!.bytesDone).toBe(8 * MiB);
        expect(webhooks('out-clip').concat(webhooks('out-photo'))).toEqual([]);
        looks++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, Math.max(0, OUTAGE_MS - (Date.now() - downAt)))));
      }
      expect(looks).toBeGreaterThanOrEqual(8);
      // Tried, and found away: not a lane that simply stopped looking.
      expect((await uploads()).map((u) => u.lastError)).toEqual([
        expect.stringMatching(/cannot be reached/),
        expect.stringMatching(/cannot be reached/),
      ]);

      await m.s3.up();
      const upAt = Date.now();
      await waitFor(
        'both webhooks after the storage came back',
        () => webhooks('out-clip').length > 0 && webhooks('out-photo').length > 0,
        OFFLINE_CHECK_MAX_MS + 10_000,
      );
      const backIn = Date.now() - upAt;
      expect(backIn).toBeLessThanOrEqual(OFFLINE_CHECK_MAX_MS + 5_000);

      const done = await uploads();
      expect(done.map((u) => [u.sessionId, u.status, u.attempts, u.bytesDone])).toEqual([
        ['out-photo', 'uploaded', 0, photo.length],
        ['out-clip', 'uploaded', 0, clip.length],
      ]);
      expect(sha256(await m.s3.readObject('booths/1/out-clip/clip.mp4'))).toBe(sha256(clip));
      expect(sha256(await m.s3.readObject('booths/1/out-photo/photo.jpg'))).toBe(sha256(photo));
      expect(m.s3.count('CreateMultipartUpload')).toBe(1);
      expect(m.s3.incompleteUploads()).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect([webhooks('out-clip').length, webhooks('out-photo').length]).toEqual([1, 1]);
      // A minute of failed tries logged, and the secret in none of it.
      const logged = agentLogs(dataDir, agent.output());
      expect(logged).toContain('upload put off');
      expect(logged).not.toContain(m.s3.secretAccessKey);
    } finally {
      m.s3.watch(null);
      await m.s3.up();
      agent.child.kill('SIGKILL');
      await agent.exited;
    }
  }, 120_000);
});
