// A kill between a session's file and its page, with the real `booth-agent run`: the storage
// stalls on the page's objects once the file is in, the agent is killed (SIGKILL) while it
// waits, and the next start puts up the preview and the page without sending the file again;
// the webhook goes only then, with the links the capture gave.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { spawnAgent } from '../helpers/cli.js';
import { mediaDataDir, setStorageWithCli, useMediaServices } from '../helpers/media.js';
import { noisyPhoto } from '../helpers/photo.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();

describe('a kill between the file and the page', () => {
  it('resumes with the page, not sending the file again', async () => {
    const { dataDir, output, token } = mediaDataDir(m);
    const publicUrl = m.s3.objectUrl('').replace(/\/$/, '');
    await setStorageWithCli(dataDir, m.s3, ['--public-url', publicUrl]);
    const photo = join(output, 'kill.jpg');
    writeFileSync(photo, await noisyPhoto(1600, 1200));
    const fileKey = 'booths/1/resume-1/kill.jpg';
    const pageObjects = /^booths\/1\/resume-1\/(kill\.preview\.jpg|index\.html)$/;

    m.s3.stall(pageObjects);
    let agent = await spawnAgent(dataDir);
    let answer: { direct_url: string; site_url: string };
    try {
      const captured = await fetch(`http://127.0.0.1:${agent.port}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ type: 'session', session: { id: 'resume-1', type: 'still', file: photo } }),
      });
      expect(captured.status).toBe(202);
      answer = (await captured.json()) as typeof answer;
      await waitFor('the page’s objects held by the storage', () => m.s3.requests.some((r) => pageObjects.test(r.key ?? '')), 20_000);
      const store = openStore(join(dataDir, 'outbox.db'));
      try {
        expect(
          store.db.prepare(`SELECT status, file_done_at IS NOT NULL AS fileDone FROM media WHERE session_id = 'resume-1'`).get(),
        ).toEqual({
          status: 'uploading',
          fileDone: 1,
        });
      } finally {
        store.close();
      }
    } finally {
      agent.child.kill('SIGKILL');
      await agent.exited;
    }
    expect(m.s3.count('PutObject')).toBeGreaterThan(0);
    expect(m.receiver.requests).toEqual([]);

    m.s3.stall(null);
    agent = await spawnAgent(dataDir);
    try {
      await waitFor('the session webhook', () => m.receiver.requests.length === 1, 30_000);
      const webhook = JSON.parse(m.receiver.requests[0]!.body.toString());
      expect(webhook.session).toMatchObject({ direct_url: answer.direct_url, site_url: answer.site_url });
      const puts = (key: string) => m.s3.requests.filter((r) => r.operation === 'PutObject' && r.key === key && r.status === 200).length;
      expect(puts(fileKey)).toBe(1);
      expect(m.s3.requests.filter((r) => r.key === fileKey && r.operation === 'PutObject')).toHaveLength(1);
      expect(puts('booths/1/resume-1/index.html')).toBe(1);
      expect(puts('booths/1/resume-1/kill.preview.jpg')).toBe(1);
      expect((await m.s3.readObject('booths/1/resume-1/index.html'))?.toString()).toContain(answer.direct_url);
    } finally {
      agent.child.kill('SIGKILL');
      await agent.exited;
    }
  }, 90_000);
});
