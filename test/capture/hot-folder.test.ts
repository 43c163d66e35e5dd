// The hot folder with files written slowly, in bursts, renamed into place, copied, with
// sidecars, as watching begins and across a restart: nothing taken twice, nothing missed,
// nothing skipped without a word.
import { createHash, randomBytes } from 'node:crypto';
import fs, { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/agent.js';
import { hotFolderFiles } from '../../src/capture/hot-folder.js';
import { configure, FAST } from '../helpers/agent.js';
import { runCli, spawnAgent, type AgentProcess } from '../helpers/cli.js';
import { holding } from '../helpers/files.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const running: Agent[] = [];
const children: AgentProcess[] = [];
const restores: (() => void)[] = [];
afterEach(async () => {
  for (const restore of restores.splice(0)) restore();
  for (const agent of running.splice(0)) await agent.stop();
  for (const child of children.splice(0)) child.child.kill('SIGKILL');
});

function setup(extra = {}) {
  const dataDir = tempDir('hot-agent-');
  const folder = join(tempDir('hot-folder-'), 'Output');
  mkdirSync(folder);
  configure(dataDir, {
    ...FAST,
    event_id: 5,
    device_id: 9,
    media_url_template: 'https://cdn.example.com/{event_id}/{file}',
    hot_folder: folder,
    hot_folder_settle_ms: 200,
    ...extra,
  });
  return { dataDir, folder };
}

async function start(dataDir: string): Promise<Agent> {
  const agent = await startAgent({ dataDir, port: 0, managedConfig: [] });
  running.push(agent);
  return agent;
}

const bodies = (agent: Agent) =>
  (agent.store.db.prepare('SELECT body FROM events ORDER BY seq').pluck().all() as Buffer[]).map((b) => JSON.parse(b.toString()));
const files = (agent: Agent) => bodies(agent).map((p) => decodeURIComponent(String(String(p.session.direct_url).split('/').pop())));
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** The agent's log lines written so far; a line still being written is left for later. */
const logLines = (dataDir: string) =>
  readFileSync(join(dataDir, 'logs', 'agent.log'), 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const pause = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));

/**
 * Runs `write` just as chokidar starts watching `folder`, after it has read the folder's
 * files: the gap the rescan is for, hit every time instead of by chance. chokidar imports
 * fs.watch (and fs.watchFile, for polling) by name; syncBuiltinESMExports points those
 * names at the wrappers.
 */
function writeInTheGap(folder: string, write: () => void): { written: () => boolean } {
  const original = { watch: fs.watch, watchFile: fs.watchFile };
  let written = false;
  const wrap = <F extends (...args: never[]) => unknown>(fn: F): F =>
    function (this: unknown, ...args: unknown[]) {
      if (!written && resolve(String(args[0])) === resolve(folder)) {
        written = true;
        write();
      }
      return Reflect.apply(fn, fs, args);
    } as unknown as F;
  fs.watch = wrap(original.watch);
  fs.watchFile = wrap(original.watchFile);
  syncBuiltinESMExports();
  restores.push(() => {
    fs.watch = original.watch;
    fs.watchFile = original.watchFile;
    syncBuiltinESMExports();
  });
  return { written: () => written };
}

describe('the hot folder', () => {
  it('takes a file written slowly once, whole, after it settles', async () => {
    const { dataDir, folder } = setup();
    const agent = await start(dataDir);
    const handle = await open(join(folder, 'slow.jpg'), 'w');
    for (let i = 0; i < 5; i++) {
      await handle.write(randomBytes(50_000));
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    await handle.close();
    await waitFor('the file taken', () => bodies(agent).length === 1, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(bodies(agent)).toHaveLength(1);
    expect(bodies(agent)[0]).toMatchObject({
      type: 'session',
      event_id: 5,
      session: {
        id: expect.stringMatching(/^9-[0-9a-f]{16}$/),
        type: 'still',
        direct_url: 'https://cdn.example.com/5/slow.jpg',
        device: { id: 9 },
      },
    });
    const whole = createHash('sha256')
      .update(readFileSync(join(folder, 'slow.jpg')))
      .digest('hex');
    expect(agent.store.db.prepare('SELECT hash, path FROM hot_folder_files').all()).toEqual([
      { hash: whole, path: join(folder, 'slow.jpg') },
    ]);
  });

  it('takes a burst of 100 files, each exactly once, by type from the extension', async () => {
    const { dataDir, folder } = setup();
    const agent = await start(dataDir);
    const names = Array.from(
      { length: 100 },
      (_, i) => `burst-${String(i).padStart(3, '0')}.${['jpg', 'png', 'gif', 'mp4', 'mov'][i % 5]}`,
    );
    for (const name of names) writeFileSync(join(folder, name), randomBytes(2000));
    writeFileSync(join(folder, 'notes.txt'), 'not media');
    await waitFor('100 files taken', () => bodies(agent).length === 100, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(files(agent).sort()).toEqual([...names].sort());
    const types = Object.fromEntries(bodies(agent).map((p) => [String(p.session.direct_url).split('/').pop(), p.session.type]));
    expect(types['burst-000.jpg']).toBe('still');
    expect(types['burst-002.gif']).toBe('gif');
    expect(types['burst-004.mov']).toBe('video');
  });

  it('takes a file renamed into place once, and not again when renamed later', async () => {
    const { dataDir, folder } = setup();
    const agent = await start(dataDir);
    writeFileSync(join(folder, 'photo.jpg.part'), randomBytes(10_000));
    renameSync(join(folder, 'photo.jpg.part'), join(folder, 'photo.jpg'));
    await waitFor('the file taken', () => bodies(agent).length === 1, 10_000);
    renameSync(join(folder, 'photo.jpg'), join(folder, 'photo-renamed.jpg'));
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(files(agent)).toEqual(['photo.jpg']);
  });

  it("applies a sidecar's fields, and takes a sidecar that is a whole share payload as a share", async () => {
    const { dataDir, folder } = setup();
    const agent = await start(dataDir);
    writeFileSync(join(folder, 'ai.png.json'), JSON.stringify({ session: { type: 'ai', still_template_id: 7 }, campaign: 'spring' }));
    writeFileSync(join(folder, 'ai.png'), randomBytes(3000));
    writeFileSync(
      join(folder, 'shared.jpg.json'),
      JSON.stringify({ type: 'share', share: { id: 'sh-1', type: 'sms', value: '+44 7700 900123' }, data_capture: { sections: [] } }),
    );
    writeFileSync(join(folder, 'shared.jpg'), randomBytes(3000));
    await waitFor('both taken', () => bodies(agent).length === 2, 10_000);
    const byType = Object.fromEntries(bodies(agent).map((p) => [p.type === 'share' ? 'share' : p.session.type, p]));
    expect(byType.ai).toMatchObject({
      campaign: 'spring',
      session: { type: 'ai', still_template_id: 7, direct_url: 'https://cdn.example.com/5/ai.png' },
    });
    expect(byType.share).toMatchObject({
      type: 'share',
      event_id: 5,
      share: { id: 'sh-1', type: 'sms' },
      session: { type: 'still', direct_url: 'https://cdn.example.com/5/shared.jpg' },
    });
  });

  it('leaves files already there at first start alone, then across a restart takes what came meanwhile, nothing twice', async () => {
    const { dataDir, folder } = setup();
    writeFileSync(join(folder, 'old-1.jpg'), randomBytes(1000));
    writeFileSync(join(folder, 'old-2.jpg'), randomBytes(1000));
    let agent = await start(dataDir);
    writeFileSync(join(folder, 'new-1.jpg'), randomBytes(1000));
    await waitFor('new-1 taken', () => bodies(agent).length === 1, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(files(agent)).toEqual(['new-1.jpg']);
    await agent.stop();
    running.splice(0);

    writeFileSync(join(folder, 'while-stopped.jpg'), randomBytes(1000));
    agent = await start(dataDir);
    await waitFor('while-stopped taken', () => bodies(agent).length === 2, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(files(agent)).toEqual(['new-1.jpg', 'while-stopped.jpg']);
    const notSent = hotFolderFiles(agent.store.db, { limit: 10 }).filter((f) => !f.sent);
    expect(notSent.map(({ path, outcome, eventId }) => ({ path, outcome, eventId })).sort((a, b) => a.path.localeCompare(b.path))).toEqual(
      ['old-1.jpg', 'old-2.jpg'].map((name) => ({
        path: join(folder, name),
        outcome: 'already in the folder when it was first watched: not sent',
        eventId: null,
      })),
    );
  });

  it('counts as already there, for a folder set while running, what it held when first watched, not when chokidar looked', async () => {
    const { dataDir, folder } = setup({ hot_folder: null });
    writeFileSync(join(folder, 'old.jpg'), randomBytes(1000));
    const agent = await start(dataDir);
    agent.store.settings.write('hot_folder', folder);
    // Written the moment the folder is recorded as watched, before chokidar has read it.
    const watched = agent.store.db.prepare('SELECT 1 FROM hot_folders WHERE folder = ?').pluck();
    await waitFor('the folder recorded as watched', () => watched.get(resolve(folder)), 10_000, 1);
    writeFileSync(join(folder, 'new.jpg'), randomBytes(1000));
    await waitFor('both files listed', () => hotFolderFiles(agent.store.db, { limit: 10 }).length === 2, 10_000);
    expect(files(agent)).toEqual(['new.jpg']);
    expect(hotFolderFiles(agent.store.db, { limit: 10 }).find((f) => f.path === join(folder, 'old.jpg'))?.outcome).toBe(
      'already in the folder when it was first watched: not sent',
    );
  });

  it('sends the files already there when the operator asks', async () => {
    const { dataDir, folder } = setup({ hot_folder_import_existing: true });
    writeFileSync(join(folder, 'old.jpg'), randomBytes(1000));
    const agent = await start(dataDir);
    await waitFor('old taken', () => bodies(agent).length === 1, 10_000);
  });

  it('polls a folder on a network drive when told to', async () => {
    const { dataDir, folder } = setup({ hot_folder_polling: true });
    const agent = await start(dataDir);
    // Written once the folder has been looked at again, so that only polling can find it.
    await waitFor(
      'the second look at the folder',
      () => logLines(dataDir).some((l) => String(l.msg).startsWith('hot folder: looked again')),
      10_000,
    );
    writeFileSync(join(folder, 'nas.jpg'), randomBytes(1000));
    await waitFor('the file taken by polling', () => bodies(agent).length === 1, 10_000);
  });

  it('lists and logs a copy, and the taken file renamed, never sends either, and says it once across a restart', async () => {
    const { dataDir, folder } = setup();
    let agent = await start(dataDir);
    const content = randomBytes(5000);
    const [first, copy, renamed] = ['first.jpg', 'copy.jpg', 'renamed.jpg'].map((name) => join(folder, name)) as [string, string, string];
    writeFileSync(first, content);
    await waitFor('the first taken', () => bodies(agent).length === 1, 10_000);
    const eventId = agent.store.db.prepare('SELECT id FROM events').pluck().get() as string;
    writeFileSync(copy, content);
    await waitFor('the copy listed', () => hotFolderFiles(agent.store.db, { limit: 10 }).length === 2, 10_000);
    renameSync(first, renamed);
    await waitFor('the renamed file listed', () => hotFolderFiles(agent.store.db, { limit: 10 }).length === 3, 10_000);
    await agent.stop();
    running.splice(0);

    const looks = () => logLines(dataDir).filter((l) => String(l.msg).startsWith('hot folder: looked again')).length;
    const looksBefore = looks();
    agent = await start(dataDir);
    writeFileSync(join(folder, 'later.jpg'), randomBytes(5000));
    await waitFor('the later file taken', () => bodies(agent).length === 2, 10_000);
    // By the second look, the files found at the start have long settled and been hashed.
    await waitFor('the second look at the folder', () => looks() > looksBefore, 10_000);
    const listed = hotFolderFiles(agent.store.db, { limit: 10 });
    const laterId = agent.store.db.prepare('SELECT id FROM events ORDER BY seq DESC LIMIT 1').pluck().get() as string;
    const repeat = `same content as ${first}, already sent as ${eventId}: not sent again`;
    const ref = `${sha256(renamed).slice(0, 12)}.jpg`;
    const laterRef = `${sha256(join(folder, 'later.jpg')).slice(0, 12)}.jpg`;
    expect(listed).toEqual([
      {
        path: join(folder, 'later.jpg'),
        ref: laterRef,
        seenAt: expect.any(Number),
        outcome: `sent as ${laterId}`,
        eventId: laterId,
        sent: true,
      },
      { path: renamed, ref, seenAt: expect.any(Number), outcome: repeat, eventId, sent: false },
      { path: copy, ref, seenAt: expect.any(Number), outcome: repeat, eventId, sent: false },
      { path: first, ref, seenAt: expect.any(Number), outcome: `sent as ${eventId}`, eventId, sent: true },
    ]);
    expect(hotFolderFiles(agent.store.db, { limit: 1 })).toEqual(listed.slice(0, 1));
    expect(files(agent)).toEqual(['first.jpg', 'later.jpg']);
    await agent.stop();
    running.splice(0);
    const warned = logLines(dataDir).filter((l) => l.msg === 'hot folder: file not sent, its content was taken before');
    // Named by their reference (the logs never hold a file's name), which the listing resolves.
    expect(warned.map((l) => [l.level, l.file, l.sameAs, l.event])).toEqual([
      [40, ref, ref, eventId],
      [40, ref, ref, eventId],
    ]);
    // The operator's listing says the same, newest first.
    const cli = await runCli(['--data-dir', dataDir, 'hot-folder']);
    expect(cli.code).toBe(0);
    const heads = cli.stdout.split('\n').filter((line) => line !== '' && !line.startsWith('    '));
    expect(heads.map((line) => line.slice(line.indexOf('  ') + 2))).toEqual([
      `${laterRef}  ${join(folder, 'later.jpg')}`,
      `${ref}  ${renamed}`,
      `${ref}  ${copy}`,
      `${ref}  ${first}`,
    ]);
    expect(cli.stdout.split('\n').filter((line) => line.startsWith('    '))).toEqual([
      `    sent as ${laterId}`,
      `    ${repeat}`,
      `    ${repeat}`,
      `    sent as ${eventId}`,
    ]);
    expect(JSON.parse((await runCli(['--data-dir', dataDir, '--json', 'hot-folder', '--limit', '2'])).stdout)).toEqual(listed.slice(0, 2));
  });

  it("never writes a file's name, which holds a guest's address and number, to the logs; the listing shows it until an erase", async () => {
    /** The guest's address and number, as the logs must never hold them, in any case. */
    const GUEST = ['jane.doe@', '7700 900123', '7700900123'];
    const { dataDir, folder } = setup();
    const cli = async (...args: string[]) => {
      const result = await runCli(['--data-dir', dataDir, '--json', ...args]);
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout);
    };
    const agent = await spawnAgent(dataDir);
    children.push(agent);
    const content = randomBytes(3000);
    // Sent; a copy under another of the guest's names, not sent; one whose sidecar is broken, not sent.
    writeFileSync(join(folder, 'Jane.Doe@Example.com +44 7700 900123.jpg'), content);
    await waitFor('the first listed', async () => (await cli('hot-folder')).length === 1, 10_000);
    writeFileSync(join(folder, 'jane.doe@example.com (copy) 07700900123.JPG'), content);
    writeFileSync(join(folder, 'JANE.DOE@EXAMPLE.COM 2.png.json'), '{"session": ');
    writeFileSync(join(folder, 'JANE.DOE@EXAMPLE.COM 2.png'), randomBytes(3000));
    const listed = await waitFor(
      'all three listed',
      async () => {
        const files = (await cli('hot-folder')) as { path: string; ref: string; outcome: string }[];
        return files.length === 3 && files;
      },
      10_000,
    );
    expect(listed.every((file) => file.path.toLowerCase().includes('jane.doe@example.com'))).toBe(true);
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);

    const logs = join(dataDir, 'logs');
    for (const text of GUEST) expect(holding(logs, text)).toEqual([]);
    const about = (msg: string) => logLines(dataDir).filter((line) => line.msg === msg);
    // Each file is named by the reference the listing gives it.
    const refs = listed.map((file) => file.ref).sort();
    expect(
      [
        ...about('hot folder: file taken'),
        ...about('hot folder: file not sent'),
        ...about('hot folder: file not sent, its content was taken before'),
      ]
        .map((line) => line.file)
        .sort(),
    ).toEqual(refs);
    expect(about('hot folder: file not sent')[0]!.reason).toMatch(/^\w{12}\.png\.json is not valid JSON/);

    expect((await cli('erase', '--email', 'jane.doe@example.com')).counts.hotFolderRecords).toBe(3);
    const erased = (await cli('hot-folder')) as { path: string; outcome: string }[];
    // The two files taken keep their content's hash, so neither is taken again; the copy's record goes.
    expect(erased.map((file) => [file.path, file.outcome])).toEqual([
      ['(erased)', "erased at the guest's request"],
      ['(erased)', "erased at the guest's request"],
    ]);
    for (const text of GUEST) expect(holding(logs, text)).toEqual([]);
  });

  it.each([false, true])('takes a file written as watching begins without a later file to reveal it (polling: %s)', async (polling) => {
    const { dataDir, folder } = setup({ hot_folder_polling: polling });
    const gap = writeInTheGap(folder, () => writeFileSync(join(folder, 'first.jpg'), randomBytes(1000)));
    const agent = await start(dataDir);
    expect(gap.written()).toBe(true);
    await waitFor('the file taken', () => bodies(agent).length === 1, 10_000);
    expect(files(agent)).toEqual(['first.jpg']);
  });

  it.each([false, true])(
    'takes a file still being written when the folder is looked at again once it is whole, once (polling: %s)',
    async (polling) => {
      const settleMs = 600;
      const { dataDir, folder } = setup({ hot_folder_polling: polling, hot_folder_settle_ms: settleMs });
      const path = join(folder, 'growing.mp4');
      const gap = writeInTheGap(folder, () => writeFileSync(path, randomBytes(20_000)));
      const agent = await start(dataDir);
      expect(gap.written()).toBe(true);
      // A step every 100 ms, far inside the settle time, from the start to well past the
      // second look at the folder (1 s after watching begins).
      for (let step = 0; step < 20; step++) {
        await pause(100);
        expect(hotFolderFiles(agent.store.db, { limit: 10 })).toEqual([]);
        appendFileSync(path, randomBytes(20_000));
      }
      expect(logLines(dataDir).find((l) => String(l.msg).startsWith('hot folder: looked again'))).toMatchObject({ found: 1 });
      await waitFor('the file taken', () => bodies(agent).length === 1, 10_000);
      // The watcher may report it too, once it has settled by the watcher's own count.
      await pause(settleMs + 400);
      expect(files(agent)).toEqual(['growing.mp4']);
      expect(agent.store.db.prepare('SELECT hash, path FROM hot_folder_files').all()).toEqual([{ hash: sha256(path), path }]);
      expect(hotFolderFiles(agent.store.db, { limit: 10 })).toHaveLength(1);
    },
  );
});
