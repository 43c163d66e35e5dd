// `booth-agent uploads` as a real process, on the data folder of an agent that uploaded one
// photo and failed two on a wrong secret: the list with its filter and JSON, the retry of one
// and of all, and bad input refused with exit status 2.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UploadView } from '../../src/core/read-model.js';
import { setStorage, startTestAgent } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { useMediaServices } from '../helpers/media.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();
let dataDir: string;

beforeAll(async () => {
  const output = tempDir('output-');
  const t = await startTestAgent({ media_roots: [output], media_min_free_mb: 0 }, m.storage());
  try {
    const status = (session: string) =>
      t.agent.store.db.prepare('SELECT status FROM media WHERE session_id = ?').pluck().get(session) as string | undefined;
    const capture = async (session: string, size: number) => {
      writeFileSync(join(output, `${session}.jpg`), randomBytes(size));
      const file = join(output, `${session}.jpg`);
      expect((await t.post(JSON.stringify({ type: 'session', session: { id: session, type: 'still', file } }))).status).toBe(202);
    };
    await capture('ok-1', 2_000);
    await waitFor('the first upload', () => status('ok-1') === 'uploaded');
    setStorage(t.agent.store, { ...m.storage(), secretAccessKey: 'wrong-secret-0000000000000000000000000000' });
    await capture('bad-1', 3_000);
    await capture('bad-2', 4_000);
    await waitFor('both uploads failed', () => status('bad-1') === 'failed' && status('bad-2') === 'failed');
    dataDir = t.dataDir;
  } finally {
    await t.stop();
  }
});

const uploads = (...args: string[]) => runCli(['--data-dir', dataDir, ...args]);
const listed = async (...args: string[]) => JSON.parse((await uploads('--json', 'uploads', ...args)).stdout) as UploadView[];

describe('booth-agent uploads', () => {
  it('lists the uploads newest first, with size, progress and the reason of a failure', async () => {
    const text = await uploads('uploads');
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^med_\w+ {2}failed {5}4\.0 kB {2}0 B of 4\.0 kB \(0%\) {2}bad-2\.jpg {2}session bad-2$/);
    expect(lines[1]).toBe('    the storage refused the secret key: check it (booth-agent storage set)');
    expect(lines[2]).toMatch(/^med_\w+ {2}failed {5}3\.0 kB .* bad-1\.jpg {2}session bad-1$/);
    expect(lines[4]).toMatch(/^med_\w+ {2}uploaded {3}2\.0 kB {2}uploaded \d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}ok-1\.jpg {2}session ok-1$/);
    expect(lines).toHaveLength(5);

    const all = await listed();
    expect(all.map((u) => [u.sessionId, u.status, u.size, u.bytesDone])).toEqual([
      ['bad-2', 'failed', 4000, 0],
      ['bad-1', 'failed', 3000, 0],
      ['ok-1', 'uploaded', 2000, 2000],
    ]);
    expect(all[0]).toMatchObject({ name: 'bad-2.jpg', attempts: 1, lastError: expect.stringContaining('secret key'), uploadedAt: null });
    expect((await listed('--status', 'uploaded')).map((u) => u.sessionId)).toEqual(['ok-1']);
    expect((await listed('--status', 'failed', '--limit', '1')).map((u) => u.sessionId)).toEqual(['bad-2']);
    expect(await listed('--status', 'uploading')).toEqual([]);
    expect((await uploads('uploads', '--status', 'waiting')).stdout).toBe('no uploads\n');
  });

  it('counts the uploads in status', async () => {
    const status = await uploads('status');
    expect(status.stdout).toContain('\nuploads    0 waiting, 0 uploading (0 B of 0 B sent), 2 failed\n');
    expect(JSON.parse((await uploads('--json', 'status')).stdout).uploads).toEqual({
      waiting: 0,
      uploading: 0,
      failed: 2,
      bytes: 0,
      bytesDone: 0,
    });
  });

  it('refuses bad input with exit status 2', async () => {
    const [uploaded] = await listed('--status', 'uploaded');
    for (const [args, message] of [
      [['uploads', '--status', 'lost'], /argument 'lost' is invalid/],
      [['uploads', '--limit', '0'], /--limit must be a whole number/],
      [['uploads', 'retry'], /give one upload id, or --all \(not both\)/],
      [['uploads', 'retry', 'med_x', '--all'], /give one upload id, or --all \(not both\)/],
      [['uploads', 'retry', 'med_nothing'], /there is no upload med_nothing/],
      [['uploads', 'retry', uploaded!.id], new RegExp(`upload ${uploaded!.id} is uploaded; only failed uploads can be retried`)],
    ] as const) {
      const refused = await uploads(...args);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr).toMatch(message);
    }
  });

  it('retries one failed upload by its id, then every failed one', async () => {
    const [bad2, bad1] = await listed('--status', 'failed');
    const one = await uploads('uploads', 'retry', bad1!.id);
    expect(one).toMatchObject({ code: 0, stdout: '1 failed upload to be tried again\n', stderr: '' });
    expect(await listed('--status', 'waiting')).toMatchObject([{ id: bad1!.id, attempts: 0, lastError: null }]);

    const all = await uploads('--json', 'uploads', 'retry', '--all');
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual({ retried: 1 });
    expect((await listed('--status', 'waiting')).map((u) => u.id)).toEqual([bad2!.id, bad1!.id]);
    expect((await uploads('uploads', 'retry', '--all')).stdout).toBe('0 failed uploads to be tried again\n');
  });
});
