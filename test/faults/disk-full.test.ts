// A disk that fills up in the middle of a photo's copy, on a real file system: the agent runs
// with its data folder on a small tmpfs of its own. A file sent as a body of unknown length
// (a booth program streaming what it holds in memory) is checked against the free space only
// as it is written, so a body larger than the disk hits ENOSPC in the copy itself. The answer is
// the same 507 and alert as a low disk found before the copy, nothing of the file stays in the
// data folder, the event that names it is not taken, and an event without media still is.
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { configure } from '../helpers/agent.js';
import { mediaDataDir, useMediaServices } from '../helpers/media.js';
import { endpointTo } from '../helpers/receiver.js';
import { spawnAgentOnSmallDisk } from '../helpers/small-disk.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const DISK_MB = 24;

const m = useMediaServices();

/** PUTs `size` random bytes in chunks, with no Content-Length, and reads the answer however early it comes. */
function putUnknownLength(port: number, path: string, token: string, size: number): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const put = request({ host: '127.0.0.1', port, path, method: 'PUT', headers: { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      res.on('error', reject);
    });
    // The agent closes the connection once it has answered, which may reach this side first:
    // the answer is given a moment to be read before the error counts.
    put.on('error', (error) => setTimeout(() => reject(error), 2_000).unref());
    put.setTimeout(30_000, () => reject(new Error('the PUT had no answer within 30 s')));
    let sent = 0;
    const more = () => {
      while (sent < size) {
        sent += MiB;
        if (!put.write(randomBytes(MiB))) return void put.once('drain', more);
      }
      put.end();
    };
    more();
  });
}

describe('a full disk during the copy of a photo', () => {
  it('answers 507 with the reason and agent.disk_low, keeps nothing of the file, and takes the next event without media', async () => {
    const { dataDir, token } = mediaDataDir(m);
    configure(dataDir, {}, m.storage());
    const setup = openStore(join(dataDir, 'outbox.db'));
    setup.endpoints.add({ ...endpointTo(m.receiver), types: ['agent.disk_low'] }, Date.now());
    setup.close();

    const agent = await spawnAgentOnSmallDisk(dataDir, DISK_MB);
    try {
      const freeBefore = agent.free();
      expect(freeBefore).toBeGreaterThan(8 * MiB);
      const answer = await putUnknownLength(agent.port, '/v1/sessions/full-1/media/clip.mp4', token, freeBefore + 8 * MiB);
      expect(answer, agent.output()).toEqual({
        status: 507,
        json: { error: "the booth's disk filled up while the file was copied: the file was not taken; free some space" },
      });
      expect(readdirSync(agent.seen('media'))).toEqual([]);
      // The copy's room is given back: what is free is what was free, give or take the outbox's pages.
      expect(agent.free()).toBeGreaterThan(freeBefore - MiB);

      const post = (body: object) =>
        fetch(`http://127.0.0.1:${agent.port}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
      const naming = await post({ type: 'session', session: { id: 'full-1', type: 'video', file: 'clip.mp4' } });
      expect(naming.status).toBe(400);
      expect(await naming.json()).toMatchObject({ error: 'session.file: no such file' });

      const alert = await waitFor(
        'agent.disk_low',
        () => m.receiver.requests.map((r) => JSON.parse(r.body.toString())).find((body) => body.type === 'agent.disk_low'),
        15_000,
      );
      // What the disk held when it filled up, not the room given back since.
      expect(alert).toMatchObject({ free_mb: 0, min_free_mb: 0 });

      const survey = {
        type: 'survey',
        session: { id: 'full-2', type: 'still', direct_url: 'https://x.test/a', site_url: 'https://x.test/a' },
        survey: { completed_at: '2026-06-01T10:00:00Z', data_capture: { sections: [] } },
      };
      expect((await post(survey)).status).toBe(202);
      await waitFor('the survey', () => m.receiver.requests.some((r) => JSON.parse(r.body.toString()).session?.id === 'full-2'), 10_000);

      const exported = await agent.cli(['export', '--format', 'jsonl']);
      expect(exported.code, exported.stderr).toBe(0);
      const events = exported.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(events.map((event) => [event.payload.type, event.payload.session.id, event.media_key])).toEqual([['survey', 'full-2', null]]);
    } finally {
      agent.child.kill('SIGKILL');
      await agent.exited;
    }
  }, 60_000);

  it('takes a body that fits, however little room it leaves above media_min_free_mb', async () => {
    const { dataDir, token } = mediaDataDir(m);
    configure(dataDir, {}, m.storage());
    const agent = await spawnAgentOnSmallDisk(dataDir, DISK_MB);
    try {
      const bytes = randomBytes(agent.free() - 3 * MiB);
      const answer = await fetch(`http://127.0.0.1:${agent.port}/v1/sessions/fits-1/media/clip.mp4`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}` },
        body: bytes,
        signal: AbortSignal.timeout(10_000),
      });
      expect(answer.status, JSON.stringify(await answer.clone().json())).toBe(201);
      const [id] = readdirSync(agent.seen('media'));
      expect(readdirSync(agent.seen('media', id!))).toEqual(['clip.mp4']);
      expect(statSync(agent.seen('media', id!, 'clip.mp4')).size).toBe(bytes.length);
    } finally {
      agent.child.kill('SIGKILL');
      await agent.exited;
    }
  }, 60_000);
});
