// The organiser's data, end to end on real files: a guest captured every way (the running
// agent's JSON API, `emit`, the hot folder), delivered to a real HTTPS receiver, erased
// with the agent still running, and then looked for in the bytes of every file in the data
// folder. And "safe to pack up?" while a delivery waits and once it is delivered.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configure, FAST } from '../helpers/agent.js';
import { runCli, spawnAgent, type AgentProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/desktop.js';
import { holding } from '../helpers/files.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { testCertificate } from '../helpers/tls.js';
import { waitFor } from '../helpers/wait.js';

const ADDRESS = 'Guest.One@Example.com';
const OTHER = 'other.guest@example.com';

let receiver: Receiver;
const children: AgentProcess[] = [];
beforeAll(async () => {
  // Receivers that echo what they got: the stored answers then hold the address too.
  receiver = await startReceiver({ handler: (request) => ({ status: 200, body: request.body }) });
});
afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await receiver.close();
});

const session = (id: string) => ({
  id,
  direct_url: `https://cdn.example.com/${id}.jpg`,
  site_url: `https://photos.example.com/view/${id}`,
  type: 'still',
});
const dataCapture = (value: string) => ({
  sections: [
    {
      title: 'About you',
      position: 1,
      fields: [{ field_id: 'f1', field_title: 'Email', field_type: 'email', value, required: true }],
    },
  ],
});
const share = (id: string, value: string) => ({
  type: 'share',
  session: session(`s-${id}`),
  share: { id, type: 'email', value },
  data_capture: dataCapture(value),
});

describe('booth-agent erase', () => {
  it("takes a guest's address out of every file of the data folder, keeps the others', and says what went where", async () => {
    const dir = tempDir('erase-');
    const hotFolder = join(tempDir('erase-hot-'), 'Output');
    mkdirSync(hotFolder, { recursive: true });
    configure(dir, { ...FAST, hot_folder: hotFolder, hot_folder_settle_ms: 100 });
    const cli = (args: string[], input?: string) =>
      runCli(['--data-dir', dir, ...args], { input: input ?? '', env: { NODE_EXTRA_CA_CERTS: receiver.certificate.file } });
    const delivering = JSON.parse((await cli(['--json', 'endpoint', 'add', receiver.url, '--ca', receiver.certificate.file])).stdout);
    const unreachable = JSON.parse((await cli(['--json', 'endpoint', 'add', 'https://127.0.0.1:1/hook'])).stdout);
    const agent = await spawnAgent(dir);
    children.push(agent);
    const token = JSON.parse((await cli(['--json', 'token'])).stdout).token as string;
    const post = async (payload: unknown) => {
      const response = await fetch(`http://127.0.0.1:${agent.port}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      expect(response.status).toBe(202);
    };

    // The guest: a share and a survey through the JSON API, a prize through emit, a share
    // the hot folder made from a sidecar, and a broken sidecar that names them. Another guest beside them.
    await post(share('share-1', ADDRESS));
    await post({
      type: 'survey',
      session: session('s-survey'),
      survey: { completed_at: '2026-06-01T12:00:00Z', data_capture: dataCapture(ADDRESS.toLowerCase()) },
    });
    await post(share('share-other', OTHER));
    const win = {
      type: 'competition_win',
      session: session('s-win'),
      competition: { id: 1, type: 'instant' },
      prize_win: {
        id: '1',
        uuid: 'win-1',
        win_id: 'W1',
        date: '2026-06-01T12:00:00Z',
        valid: true,
        win_image_qr_url: 'https://cdn.example.com/qr.png',
      },
      prize: {
        id: 1,
        name: 'Coffee',
        winning_text: 'You won',
        image_url: 'https://cdn.example.com/p.png',
        winning_image_url: 'https://cdn.example.com/w.png',
      },
      winner: { type: 'email', value: ADDRESS.toUpperCase() },
      data_capture: dataCapture(ADDRESS),
    };
    expect((await cli(['emit', '-'], JSON.stringify(win))).code).toBe(0);
    writeFileSync(join(hotFolder, 'guest.jpg.json'), JSON.stringify(share('share-hot', ADDRESS)));
    writeFileSync(join(hotFolder, 'guest.jpg'), 'a photo');
    writeFileSync(join(hotFolder, 'broken.jpg.json'), `{"share": {"value": ${ADDRESS}}}`);
    writeFileSync(join(hotFolder, 'broken.jpg'), 'another photo');

    await waitFor('five deliveries at the receiver', () => receiver.requests.length >= 5, 15_000);
    await waitFor(
      'the receiver to be recorded as answering all five',
      async () => JSON.parse((await cli(['--json', 'deliveries', '--status', 'delivered'])).stdout).length === 5,
      10_000,
    );
    const hotListed = JSON.parse((await cli(['--json', 'hot-folder'])).stdout) as { path: string; outcome: string }[];
    expect(hotListed.find((f) => f.path.endsWith('broken.jpg'))?.outcome).toMatch(/is not valid JSON: Unexpected token/);
    expect(holding(dir, ADDRESS).length).toBeGreaterThan(0);

    const dryRun = await cli(['--json', 'erase', '--email', ` ${ADDRESS.toUpperCase()} `, '--dry-run']);
    expect(dryRun.code).toBe(0);
    const planned = JSON.parse(dryRun.stdout);
    expect(JSON.parse((await cli(['--json', 'deliveries', '--status', 'delivered'])).stdout)).toHaveLength(5);

    const erased = await cli(['--json', 'erase', '--email', ADDRESS.toLowerCase()]);
    expect(erased.code).toBe(0);
    const result = JSON.parse(erased.stdout);
    const counts = {
      events: { session: 0, share: 2, survey: 1, competition_win: 1 },
      undeliveredDropped: 4,
      responseSnippets: 4,
      hotFolderRecords: 1,
      dslrSessions: 0,
      media: 0,
    };
    expect(result).toMatchObject({ dryRun: false, kind: 'email', counts, auditId: 1 });
    expect(planned).toMatchObject({ dryRun: true, counts, auditId: null, identifierHash: result.identifierHash });
    expect(result.events).toHaveLength(4);
    expect(result.alreadySent).toEqual([{ endpointId: delivering.id, url: receiver.url, delivered: 4, attempted: 0 }]);

    // With the agent still running: none of the bytes remain, in any file, in any case.
    expect(holding(dir, ADDRESS)).toEqual([]);
    expect(holding(dir, OTHER).length).toBeGreaterThan(0);

    const text = await cli(['erase', '--email', ADDRESS]);
    expect(text.stdout).toContain('events       none named this guest');

    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(holding(dir, ADDRESS)).toEqual([]);
    const db = new BetterSqlite3(join(dir, 'outbox.db'), { readonly: true });
    try {
      const audit = db.prepare('SELECT * FROM erasures ORDER BY id').all() as { kind: string; identifier_hash: string; counts: string }[];
      expect(audit).toHaveLength(2);
      expect(audit[0]).toMatchObject({ kind: 'email', identifier_hash: result.identifierHash });
      expect(JSON.parse(audit[0]!.counts)).toEqual(counts);
      expect(JSON.stringify(audit)).not.toContain('@');
      // The other guest's event is as it was, still delivered; the erased ones keep their record.
      const bodies = db.prepare('SELECT body, stripped_at FROM events ORDER BY seq').all() as {
        body: Buffer;
        stripped_at: number | null;
      }[];
      expect(bodies.filter((b) => b.stripped_at === null).map((b) => JSON.parse(b.body.toString()).share?.value)).toContain(OTHER);
      expect(db.prepare(`SELECT endpoint_id, status FROM deliveries ORDER BY seq`).all()).toEqual(
        expect.arrayContaining([
          { endpoint_id: unreachable.id, status: 'waiting' },
          { endpoint_id: delivering.id, status: 'delivered' },
        ]),
      );
      expect(db.prepare(`SELECT COUNT(*) FROM deliveries WHERE endpoint_id = ?`).pluck().get(unreachable.id)).toBe(1);
      expect(db.prepare(`SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'`).pluck().get()).toBe(5);
    } finally {
      db.close();
    }
  });
});

describe('booth-agent closeout', () => {
  it('exits 1 while a delivery waits for an endpoint, and 0 once --wait sees it delivered', async () => {
    const dir = tempDir('closeout-');
    configure(dir, FAST);
    const cli = (args: string[], input?: string) => runCli(['--data-dir', dir, ...args], { input: input ?? '' });
    const port = await freePort();
    const certificate = await testCertificate();
    const url = `https://127.0.0.1:${port}/hook`;
    await cli(['endpoint', 'add', url, '--ca', certificate.file]);
    const agent = await spawnAgent(dir);
    children.push(agent);
    expect((await cli(['emit', '-'], JSON.stringify(share('closeout-1', OTHER)))).code).toBe(0);
    await waitFor('the delivery to wait', async () => JSON.parse((await cli(['--json', 'status'])).stdout).counts.waiting === 1, 10_000);

    const waiting = await cli(['closeout']);
    expect(waiting.code).toBe(1);
    expect(waiting.stdout).toContain('not safe to pack up: 1 not delivered');
    expect(waiting.stdout).toContain(`${url}  0 delivered · 0 queued · 1 waiting · 0 failed  unreachable since`);
    expect(waiting.stdout).toContain('keep the booth online');
    expect(waiting.stdout).toContain('booth-agent export');
    expect((await cli(['closeout', '--event', '2'])).stdout).toContain('safe to pack up: nothing to deliver');

    const waited = cli(['closeout', '--wait', '15s']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const late = await startReceiver({ port });
    try {
      const result = await waited;
      expect(result.stdout).toContain('safe to pack up: all 1 delivered');
      expect(result.code).toBe(0);
      expect(late.requests).toHaveLength(1);
      expect(JSON.parse((await cli(['--json', 'closeout', '--event', '1'])).stdout)).toMatchObject({
        eventId: 1,
        safe: true,
        totals: { delivered: 1, queued: 0, waiting: 0, failed: 0 },
        advice: [],
      });
    } finally {
      await late.close();
      agent.child.kill('SIGTERM');
      await agent.exited;
    }
  });
});
