// A SIGKILL in the middle of a multipart upload: the agent, started again, takes the upload up
// at the next part (the same upload id, its recorded parts kept), sends at most the one part
// that was under way again, and then the session's webhook, with the whole file in the bucket.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { CLI } from '../helpers/cli.js';
import { mediaDataDir, setStorageWithCli, useMediaServices } from '../helpers/media.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;

const m = useMediaServices();

function startChild(dataDir: string) {
  const child = spawn(process.execPath, [CLI, 'run', '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const port = waitFor('the agent to listen', () => Number(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out)?.[1] ?? 0), 15_000);
  return { child, port, exited, output: () => out };
}

describe('a multipart upload killed with SIGKILL', () => {
  it('resumes at the next part after a restart, sending at most one part again', async () => {
    const { dataDir, output, token } = mediaDataDir(m);
    // Set as an operator sets it; no public URL, so the links are presigned.
    await setStorageWithCli(dataDir, m.s3);

    const bytes = randomBytes(64 * MiB);
    writeFileSync(join(output, 'clip.mp4'), bytes);
    const first = startChild(dataDir);
    try {
      const answer = await fetch(`http://127.0.0.1:${await first.port}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ type: 'session', session: { id: 'kill-1', type: 'video', file: join(output, 'clip.mp4') } }),
      });
      expect(answer.status).toBe(202);
      rmSync(join(output, 'clip.mp4'));
      const finished = () => m.s3.requests.filter((r) => r.operation === 'UploadPart' && r.status === 200).length;
      await waitFor('three parts in', () => finished() >= 3, 60_000, 2);
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }
    const check = openStore(join(dataDir, 'outbox.db'));
    const recorded = check.db.prepare('SELECT part_number FROM media_parts ORDER BY part_number').pluck().all() as number[];
    const row = check.db.prepare(`SELECT status, upload_id FROM media`).get() as { status: string; upload_id: string };
    check.close();
    const sentBeforeKill = m.s3.requests.filter((r) => r.operation === 'UploadPart' && r.status === 200).length;
    // Parts go one after another, so at most one had been answered and not yet recorded.
    expect(recorded.length).toBeGreaterThanOrEqual(sentBeforeKill - 1);
    expect(recorded.length).toBeGreaterThanOrEqual(2);
    expect(recorded).toEqual(recorded.map((_n, i) => i + 1));
    expect(row).toMatchObject({ status: 'uploading', upload_id: expect.any(String) });

    const second = startChild(dataDir);
    try {
      await second.port;
      await waitFor('the session webhook after the restart', () => m.receiver.requests.length === 1, 60_000);
    } finally {
      second.child.kill('SIGKILL');
      await second.exited;
    }
    const parts = m.s3.requests.filter((r) => r.operation === 'UploadPart' && r.status === 200);
    const sentAfter = parts.length - sentBeforeKill;
    // Eight parts in all; after the restart, those not recorded, of which at most one had been sent.
    expect(sentAfter).toBe(8 - recorded.length);
    expect(parts.length).toBeLessThanOrEqual(9);
    expect(new Set(parts.map((r) => r.uploadId))).toEqual(new Set([row.upload_id]));
    expect(m.s3.count('CreateMultipartUpload')).toBe(1);
    expect((await m.s3.readObject('booths/1/kill-1/clip.mp4'))?.equals(bytes)).toBe(true);
    expect(m.s3.incompleteUploads()).toEqual([]);
    expect(JSON.parse(m.receiver.requests[0]!.body.toString()).session.direct_url).toMatch(/X-Amz-Signature=/);
  }, 120_000);
});
