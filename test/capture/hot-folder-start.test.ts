// The hot folder as a booth program meets it: start `booth-agent run`, wait until the capture
// API answers, save a photo. "Already there" means what the folder held before the agent
// answered, whenever the watcher gets round to looking, across a restart, and whatever the
// modification time of a file copied in.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hotFolderFiles } from '../../src/capture/hot-folder.js';
import type { Settings } from '../../src/core/settings.js';
import { openStore } from '../../src/store/store.js';
import { FAST } from '../helpers/agent.js';
import { launchAgent, spawnAgent, type LaunchedAgent } from '../helpers/cli.js';
import { endpointTo, startReceiver, type Receiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const ALREADY_THERE = 'already in the folder when it was first watched: not sent';

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());

const children: LaunchedAgent[] = [];
afterEach(async () => {
  for (const agent of children.splice(0)) {
    agent.child.kill('SIGKILL');
    await agent.exited;
  }
});

/** A data folder that delivers to the receiver, and a hot folder holding `existing`. */
function setup(existing: string[], settings: Partial<Settings> = {}) {
  const dataDir = tempDir('hot-start-agent-');
  const folder = join(tempDir('hot-start-folder-'), 'Output');
  mkdirSync(folder);
  for (const name of existing) writeFileSync(join(folder, name), randomBytes(1000));
  const store = openStore(join(dataDir, 'outbox.db'));
  const all: Partial<Settings> = {
    ...FAST,
    event_id: 5,
    media_url_template: 'https://cdn.example.com/{event_id}/{file}',
    hot_folder: folder,
    hot_folder_settle_ms: 100,
    ...settings,
  };
  for (const [key, value] of Object.entries(all)) store.settings.write(key as keyof Settings, value as never);
  store.endpoints.add(endpointTo(receiver), Date.now());
  store.close();
  return { dataDir, folder };
}

/** What the hot folder has listed, by file name, read beside the running agent. */
function listed(dataDir: string): Map<string, string> {
  const db = new BetterSqlite3(join(dataDir, 'outbox.db'), { readonly: true });
  try {
    return new Map(hotFolderFiles(db, { limit: 100 }).map((f) => [f.path.split(/[\\/]/).pop()!, f.outcome]));
  } finally {
    db.close();
  }
}

/** The files whose sessions the receiver got, by the name in their media URL. */
const delivered = () =>
  receiver.requests.map((r) => String((JSON.parse(r.body.toString()) as { session: { direct_url: string } }).session.direct_url));

/** Polls the way a booth program does: until the capture API answers. */
async function answering(agent: LaunchedAgent, dataDir: string): Promise<number> {
  return waitFor(
    'the capture API to answer',
    async () => {
      if (agent.ended()) throw new Error(`booth-agent run exited early:\n${agent.output()}`);
      let port: number;
      try {
        port = (JSON.parse(readFileSync(join(dataDir, 'agent.json'), 'utf8')) as { port: number }).port;
      } catch {
        return 0;
      }
      const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      return response?.ok ? port : 0;
    },
    15_000,
    5,
  );
}

describe('the hot folder as the agent starts', () => {
  it('sends a photo saved the moment the capture API answers, in 20 starts out of 20, and never the one already there', async () => {
    const rounds: { old: string | undefined; fresh: string | undefined }[] = [];
    for (let round = 0; round < 20; round++) {
      const { dataDir, folder } = setup(['old.jpg']);
      const agent = launchAgent(dataDir, { NODE_EXTRA_CA_CERTS: receiver.certificate.file });
      children.push(agent);
      await answering(agent, dataDir);
      const fresh = `new-${round}.jpg`;
      writeFileSync(join(folder, fresh), randomBytes(1000));
      const seen = await waitFor('both files listed', () => {
        const files = listed(dataDir);
        return files.has('old.jpg') && files.has(fresh) && files;
      });
      if (seen.get(fresh)!.startsWith('sent as ')) {
        await waitFor(`${fresh} delivered`, () => delivered().some((url) => url.endsWith(`/${fresh}`)));
      }
      rounds.push({ old: seen.get('old.jpg'), fresh: seen.get(fresh) });
      agent.child.kill('SIGKILL');
      await agent.exited;
      children.splice(0);
    }
    const missed = rounds.filter((r) => !r.fresh?.startsWith('sent as ')).length;
    expect({ missed, outcomes: rounds }).toEqual({
      missed: 0,
      outcomes: Array.from({ length: 20 }, () => ({ old: ALREADY_THERE, fresh: expect.stringMatching(/^sent as evt_/) })),
    });
    expect(delivered().filter((url) => url.endsWith('/old.jpg'))).toEqual([]);
  }, 120_000);

  it('keeps files already there unsent across a restart before they were hashed; sends a different file under their name, and one copied in with an old time', async () => {
    // A settle time no start-up reaches: the files of the first scan are never hashed.
    const { dataDir, folder } = setup(['old-1.jpg', 'old-2.jpg', 'old-3.jpg'], { hot_folder_settle_ms: 600_000 });
    const env = { NODE_EXTRA_CA_CERTS: receiver.certificate.file };
    const first = await spawnAgent(dataDir, env);
    children.push(first);
    first.child.kill('SIGKILL');
    await first.exited;
    children.splice(0);
    expect(listed(dataDir)).toEqual(new Map());

    // While it is down, another photo is saved as old-2.jpg, keeping the first one's time,
    // and old-3.jpg is deleted.
    const replaced = join(folder, 'old-2.jpg');
    const { mtime } = statSync(replaced);
    writeFileSync(replaced, randomBytes(2000));
    utimesSync(replaced, mtime, mtime);
    rmSync(join(folder, 'old-3.jpg'));
    const store = openStore(join(dataDir, 'outbox.db'));
    store.settings.write('hot_folder_settle_ms', 100);
    store.close();

    const second = await spawnAgent(dataDir, env);
    children.push(second);
    // A copy keeps its modification time: an old photo copied in, in one step.
    const outside = join(tempDir('hot-start-copy-'), 'copied.jpg');
    writeFileSync(outside, randomBytes(1000));
    const longAgo = new Date('2001-02-03T04:05:06Z');
    utimesSync(outside, longAgo, longAgo);
    renameSync(outside, join(folder, 'copied.jpg'));

    await waitFor('three files listed', () => listed(dataDir).size === 3);
    await waitFor('two delivered', () => delivered().filter((url) => /\/(old-2|copied)\.jpg$/.test(url)).length === 2);
    const outcomes = listed(dataDir);
    expect(outcomes.get('old-1.jpg')).toBe(ALREADY_THERE);
    expect(outcomes.get('old-2.jpg')).toMatch(/^sent as evt_/);
    expect(outcomes.get('copied.jpg')).toMatch(/^sent as evt_/);
    expect(delivered().filter((url) => url.endsWith('/old-1.jpg'))).toEqual([]);
    // Once its files are taken or gone, nothing is left of the folder's first listing.
    await waitFor('the second look at the folder', () => second.output().includes('hot folder: looked again'));
    const db = new BetterSqlite3(join(dataDir, 'outbox.db'), { readonly: true });
    expect(db.prepare('SELECT * FROM hot_folder_existing').all()).toEqual([]);
    db.close();
  });
});
