// SIGKILL five times at random points of a 64 MiB multipart upload: each time the agent, started
// again, takes the upload up at the next part (the same upload id, its recorded parts kept) and
// sends at most the one part that was under way again. At the end the object is the file, byte
// for byte, no multipart upload is left open in the storage, and the session's webhook arrives
// once, after the object can be read through its direct_url. Nothing it logged holds the secret.
//
// The points are positions in the file, drawn from a seed; the test storage kills the agent the
// moment a part's body reaches one, so each kill lands inside the upload whatever the machine's
// speed. A failure names its seed: KILL_SEED=<seed> replays the same points.
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PART_BYTES } from '../../src/media/uploader.js';
import { spawnAgent, type AgentProcess } from '../helpers/cli.js';
import { agentLogs, mediaDataDir, setStorageWithCli, useMediaServices } from '../helpers/media.js';
import type { S3Request } from '../helpers/s3-server.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const PARTS = SIZE / PART_BYTES;
const KILLS = 5;
const KEY = 'booths/1/kill-1/clip.mp4';

const m = useMediaServices();

/** mulberry32: a small generator whose draws a seed fixes. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Where in the file a request of the upload has come to: its part's offset and the bytes of the part arrived. */
function position(request: S3Request): number {
  return request.operation === 'UploadPart' && request.key === KEY ? ((request.partNumber ?? 1) - 1) * PART_BYTES + request.received : -1;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('a multipart upload killed with SIGKILL five times', () => {
  it('resumes at the next part after each restart, sending at most one part again per kill, and delivers once', async () => {
    const seed = Number(process.env.KILL_SEED ?? Math.floor(Math.random() * 2 ** 32));
    const draw = generator(seed);
    const points = Array.from({ length: KILLS }, () => Math.floor(draw() * SIZE)).sort((a, b) => a - b);
    try {
      const { dataDir, output, token } = mediaDataDir(m);
      // Set as an operator sets it; no public URL, so the links are presigned.
      await setStorageWithCli(dataDir, m.s3);
      const bytes = randomBytes(SIZE);
      writeFileSync(join(output, 'clip.mp4'), bytes);

      /** The parts each life of the agent sent, by part number: a life ends with a kill, the last with the webhook. */
      const lives: number[][] = [];
      const outputs: string[] = [];
      const sentIn = (from: number) =>
        m.s3.requests
          .slice(from)
          .filter((r) => r.operation === 'UploadPart' && r.key === KEY)
          .map((r) => r.partNumber ?? 0);
      for (const [kill, point] of points.entries()) {
        const started = Date.now();
        const agent = await spawnAgent(dataDir);
        const from = m.s3.requests.length;
        let killed = false;
        m.s3.watch((r) => {
          // A part the last life was sending may still be arriving: only this life's requests count.
          if (!killed && r.at >= started && position(r) >= point) {
            killed = true;
            agent.child.kill('SIGKILL');
          }
        });
        try {
          if (kill === 0) {
            const answer = await fetch(`http://127.0.0.1:${agent.port}/v1/events`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
              body: JSON.stringify({ type: 'session', session: { id: 'kill-1', type: 'video', file: join(output, 'clip.mp4') } }),
            });
            expect(answer.status).toBe(202);
            rmSync(join(output, 'clip.mp4'));
          }
          await waitFor(`kill ${kill + 1} at byte ${point}`, () => killed, 60_000);
        } finally {
          m.s3.watch(null);
          await stop(agent);
          outputs.push(agent.output());
        }
        lives.push(sentIn(from));
      }

      const last = await spawnAgent(dataDir);
      const from = m.s3.requests.length;
      const sessions = () => m.receiver.requests.filter((r) => JSON.parse(r.body.toString()).session?.id === 'kill-1');
      let readable: { status: number; body: Buffer };
      try {
        const [webhook] = await waitFor('the session webhook after the last restart', () => sessions().length > 0 && sessions(), 60_000);
        readable = await m.s3.open(JSON.parse(webhook!.body.toString()).session.direct_url);
        // Long enough for a second delivery to show: the receiver answers in a millisecond.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
      } finally {
        await stop(last);
        outputs.push(last.output());
      }
      lives.push(sentIn(from));

      const sent = lives.flat();
      const again = lives.map((parts, life) => parts.filter((part) => lives.slice(0, life).flat().includes(part)).length);
      expect(new Set(sent)).toEqual(new Set(Array.from({ length: PARTS }, (_n, i) => i + 1)));
      expect(
        again.every((count) => count <= 1),
        `parts sent again after each kill: ${again.slice(1).join(', ')}`,
      ).toBe(true);
      expect(sent.length - PARTS).toBeLessThanOrEqual(KILLS);
      expect(new Set(m.s3.requests.filter((r) => r.operation === 'UploadPart').map((r) => r.uploadId)).size).toBe(1);
      expect(m.s3.count('CreateMultipartUpload')).toBe(1);

      expect(sha256((await m.s3.readObject(KEY)) ?? Buffer.alloc(0))).toBe(sha256(bytes));
      expect(m.s3.incompleteUploads()).toEqual([]);

      expect(sessions()).toHaveLength(1);
      const [webhook] = sessions();
      // Readable from the first completion the storage made, whether or not its answer reached the
      // agent: a slow one times out, and the agent completes again or finds the object there.
      const [completed] = m.s3.requests.filter((r) => r.operation === 'CompleteMultipartUpload' && r.stored === 200);
      expect(completed?.storedAt).toBeLessThanOrEqual(webhook!.at);
      expect(JSON.parse(webhook!.body.toString()).session.direct_url).toMatch(/X-Amz-Signature=/);
      expect(readable.status).toBe(200);
      expect(sha256(readable.body)).toBe(sha256(bytes));
      const logged = agentLogs(dataDir, ...outputs);
      expect(logged).toContain('taking up uploads cut short by the last stop');
      expect(logged).not.toContain(m.s3.secretAccessKey);
    } catch (error) {
      const story = m.s3.requests
        .filter((r) => r.key === KEY)
        .map((r) => `${r.operation}${r.partNumber ?? ''}:${r.status}`)
        .join(' ');
      (error as Error).message += `\n(kill points ${points.join(', ')}; replay with KILL_SEED=${seed})\n${story}`;
      throw error;
    }
  }, 240_000);
});

describe('a multipart upload killed as the storage answers its start or its end', () => {
  // The windows a random point almost never hits: the storage has begun (or completed) the upload,
  // and the agent is killed before it can record the answer.
  it.each([['CreateMultipartUpload'], ['CompleteMultipartUpload']] as const)(
    'after %s, sends no part again and leaves no upload open',
    async (operation) => {
      const { dataDir, output, token } = mediaDataDir(m);
      await setStorageWithCli(dataDir, m.s3);
      const sessionId = `cut-${operation}`;
      const key = `booths/1/${sessionId}/clip.mp4`;
      const bytes = randomBytes(2 * PART_BYTES + 1);
      writeFileSync(join(output, 'clip.mp4'), bytes);
      const first = await spawnAgent(dataDir);
      let killed = false;
      m.s3.watch((r) => {
        if (!killed && r.key === key && r.operation === operation && r.stored === 200) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      });
      try {
        const answer = await fetch(`http://127.0.0.1:${first.port}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ type: 'session', session: { id: sessionId, type: 'video', file: join(output, 'clip.mp4') } }),
        });
        expect(answer.status).toBe(202);
        await waitFor(`the kill after ${operation}`, () => killed, 30_000);
      } finally {
        m.s3.watch(null);
        await stop(first);
      }
      const sessions = () => m.receiver.requests.filter((r) => JSON.parse(r.body.toString()).session?.id === sessionId);
      const second = await spawnAgent(dataDir);
      try {
        await waitFor('the session webhook after the restart', () => sessions().length > 0, 30_000);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      } finally {
        await stop(second);
      }
      const ofKey = m.s3.requests.filter((r) => r.key === key);
      expect(ofKey.filter((r) => r.operation === 'UploadPart').map((r) => r.partNumber)).toEqual([1, 2, 3]);
      expect(sha256((await m.s3.readObject(key)) ?? Buffer.alloc(0))).toBe(sha256(bytes));
      expect(m.s3.incompleteUploads().filter((u) => u.key === key)).toEqual([]);
      expect(sessions()).toHaveLength(1);
    },
    60_000,
  );
});

async function stop(agent: AgentProcess): Promise<void> {
  if (!agent.ended()) agent.child.kill('SIGKILL');
  await agent.exited;
}
