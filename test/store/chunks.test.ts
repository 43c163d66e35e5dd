// Replay, erase and retention on a large outbox run in short transactions: another process
// (the agent, while the CLI replays) takes the write lock between them within a short wait,
// and a capture in the same process (the agent, while its admin API replays) gets the event
// loop. What they do and count is the same as in one transaction, with events captured
// meanwhile, and each event is erased whole or not at all.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { OperationContext } from '../../src/operations/context.js';
import { eraseGuest } from '../../src/operations/erase.js';
import { replayToEndpoint } from '../../src/operations/replay.js';
import { generateSecret } from '../../src/core/signing.js';
import { CHUNK_SEQS } from '../../src/store/chunks.js';
import { maintain } from '../../src/store/retention.js';
import { openStore, type Store } from '../../src/store/store.js';
import { CLI } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const DAY = 86_400_000;
const LARGE = 20_000;
/** The longest another writer may wait for the lock while the operation runs. */
const LOCK_WAIT_MS = 200;
/** Turns of the event loop the work must give, at least: one between any two chunks. */
const TURNS = LARGE / CHUNK_SEQS - 1;

const guestBody = (n: number, email: string) =>
  Buffer.from(
    JSON.stringify({
      type: 'share',
      event_id: 1,
      session: { id: `s${n}`, direct_url: 'https://cdn.example.com/p.jpg', site_url: 'https://cdn.example.com/v', type: 'still' },
      share: { id: `sh${n}`, type: 'email', value: email },
      data_capture: { sections: [] },
    }),
  );

/** `count` share events, each naming guestN@example.com (guest 0 every 97th), captured a second apart from `at`. */
function fill(store: Store, count: number, at = NOW - count * 1000, first = 0): void {
  store.db.transaction(() => {
    for (let n = first; n < first + count; n++) {
      const email = n % 97 === 0 ? 'guest0@example.com' : `guest${n}@example.com`;
      store.queue.capture(
        { type: 'share', body: guestBody(n, email), dedupeKey: null, occurredAt: '', sessionId: `s${n}` },
        at + n * 1000,
        1000,
      );
    }
  })();
}

function setup(): { file: string; store: Store; ctx: OperationContext } {
  const file = join(tempDir('chunks-'), 'outbox.db');
  const store = openStore(file);
  const ctx: OperationContext = {
    store,
    log: pino({ level: 'silent' }),
    wake: () => {},
    livePort: () => null,
    sender: () => {
      throw new Error('no request is made in these tests');
    },
    owner: 'test:chunks',
    now: () => NOW,
  };
  return { file, store, ctx };
}

const addEndpoint = (store: Store, types: ('share' | 'session')[] | null = null) =>
  store.endpoints.add({ url: 'https://a.example/h', secret: generateSecret(), types, strictOrder: false, ca: null }, NOW - LARGE * 2000);

// Another process that takes the write lock every 20 ms (BEGIN IMMEDIATE with a busy
// timeout of LOCK_WAIT_MS) until its standard input ends, then says how it went.
const probeSource = `
  const Database = require(process.argv[1]);
  const db = new Database(process.argv[2]);
  db.pragma('busy_timeout = ${LOCK_WAIT_MS}');
  const result = { taken: 0, busy: 0 };
  let stopped = false;
  process.stdin.on('end', () => (stopped = true)).resume();
  const tick = () => {
    if (stopped) return process.stdout.write(JSON.stringify(result));
    try { db.exec('BEGIN IMMEDIATE'); db.exec('COMMIT'); result.taken++; } catch { result.busy++; }
    setTimeout(tick, 20);
  };
  process.stdout.write('ready\\n');
  tick();
`;

/** Runs `work` while another process takes the write lock again and again; says how that process fared. */
async function whileAnotherWrites(file: string, work: () => Promise<unknown>) {
  const probe = spawn(process.execPath, ['-e', probeSource, createRequire(import.meta.url).resolve('better-sqlite3'), file], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  probe.stdout.on('data', (chunk: Buffer) => (out += chunk));
  await new Promise<void>((resolve) => probe.stdout.once('data', () => resolve()));
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  probe.stdin.end();
  await new Promise((resolve) => probe.once('close', resolve));
  return { ms, ...(JSON.parse(out.slice('ready\n'.length)) as { taken: number; busy: number }) };
}

/**
 * Runs `work` and counts the turns the event loop took meanwhile (a capture in this process
 * waits for one). How long each turn waits is a matter of the machine's speed, which
 * `npm run bench` measures (capture p99 while replaying); this counts that they come.
 */
async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let running = true;
  const turn = () => {
    if (!running) return;
    turns++;
    setImmediate(turn);
  };
  setImmediate(turn);
  await work();
  running = false;
  return turns;
}

describe('long operations leave the write lock free between short transactions', () => {
  it(`replay of ${LARGE.toLocaleString('en')} events: another process takes the lock within ${LOCK_WAIT_MS} ms, every time`, async () => {
    const { file, store, ctx } = setup();
    fill(store, LARGE);
    const endpoint = addEndpoint(store);
    const probe = await whileAnotherWrites(file, () => replayToEndpoint(ctx, endpoint.id, {}));
    expect(probe).toMatchObject({ busy: 0 });
    expect(probe.taken).toBeGreaterThanOrEqual(Math.floor(probe.ms / 100));
    expect(store.views.counts()).toMatchObject({ queued: LARGE });
    store.close();
  }, 60_000);

  it('replay: the event loop of its own process keeps running', async () => {
    const { store, ctx } = setup();
    fill(store, LARGE);
    const endpoint = addEndpoint(store);
    expect(await turnsDuring(() => replayToEndpoint(ctx, endpoint.id, {}))).toBeGreaterThanOrEqual(TURNS);
    store.close();
  }, 60_000);

  it(`erase across ${LARGE.toLocaleString('en')} events: another process takes the lock within ${LOCK_WAIT_MS} ms; its event loop runs`, async () => {
    const { file, store, ctx } = setup();
    addEndpoint(store);
    fill(store, LARGE);
    const probe = await whileAnotherWrites(file, () => eraseGuest(ctx, { email: 'guest0@example.com' }));
    expect(probe).toMatchObject({ busy: 0 });
    expect(await turnsDuring(() => eraseGuest(ctx, { email: 'guest1@example.com', dryRun: true }))).toBeGreaterThanOrEqual(TURNS);
    store.close();
  }, 60_000);

  it(`retention pruning ${LARGE.toLocaleString('en')} events: another process takes the lock within ${LOCK_WAIT_MS} ms; its event loop runs`, async () => {
    const { file, store } = setup();
    store.settings.write('retention_days', 1);
    fill(store, LARGE, NOW - 10 * DAY);
    const probe = await whileAnotherWrites(file, () => maintain(store, NOW));
    expect(probe).toMatchObject({ busy: 0 });
    expect(store.db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(0);
    fill(store, LARGE, NOW - 10 * DAY, LARGE);
    expect(await turnsDuring(() => maintain(store, NOW))).toBeGreaterThanOrEqual(TURNS);
    store.close();
  }, 60_000);
});

describe('in chunks, the same outcome', () => {
  it('replay counts every event it started with once, and leaves out one captured meanwhile', async () => {
    const { store, ctx } = setup();
    const endpoint = addEndpoint(store, ['share']);
    fill(store, 1_300);
    const sessionBody = Buffer.from('{"type":"session","event_id":1}');
    for (let n = 0; n < 40; n++) {
      store.queue.capture({ type: 'session', body: sessionBody, dedupeKey: null, occurredAt: '', sessionId: `t${n}` }, NOW - 10, 1000);
    }
    // 300 delivered, 5 failed, 1,000 still queued (of 1,300 shares captured for the endpoint).
    const status = (sql: string) => store.db.prepare(`UPDATE deliveries SET status = ${sql}`).run();
    status(`'delivered', delivered_at = 1 WHERE seq <= 300`);
    status(`'failed' WHERE seq BETWEEN 301 AND 305`);
    // Half the queued ones are dropped, so the endpoint lacks them.
    store.db.prepare('DELETE FROM deliveries WHERE seq > 800').run();
    const captureMeanwhile = setTimeout(
      () =>
        store.queue.capture(
          { type: 'share', body: guestBody(9999, 'late@example.com'), dedupeKey: null, occurredAt: '', sessionId: 'late' },
          NOW,
          1000,
        ),
      0,
    );
    const result = await replayToEndpoint(ctx, endpoint.id, { again: true });
    clearTimeout(captureMeanwhile);
    expect(result).toEqual({
      endpointId: endpoint.id,
      queued: 500,
      resent: 300,
      waiting: false,
      skipped: { delivered: 0, onItsWay: 495, failed: 5, notSubscribed: 40 },
    });
    const perEvent = store.db
      .prepare('SELECT COUNT(*) FROM events e WHERE (SELECT COUNT(*) FROM deliveries d WHERE d.event_seq = e.seq) <> ?')
      .pluck();
    expect(perEvent.get(1)).toBe(40); // the sessions, which it does not take
    // Run again, it finds nothing missing.
    expect(await replayToEndpoint(ctx, endpoint.id, {})).toMatchObject({ queued: 0, skipped: { onItsWay: 1_296, failed: 5 } });
    store.close();
  });

  it('erase reaches an event captured meanwhile, and never leaves one half erased', async () => {
    const { store, ctx } = setup();
    addEndpoint(store);
    fill(store, 2_000);
    const named = store.db.prepare(`SELECT COUNT(*) FROM events WHERE CAST(body AS TEXT) LIKE '%guest0@%'`).pluck();
    const half = store.db
      .prepare(
        `SELECT COUNT(*) FROM events e WHERE (e.stripped_at IS NOT NULL) =
           EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status <> 'delivered')`,
      )
      .pluck();
    const before = named.get() as number;
    let checks = 0;
    let halfErased = 0;
    let late = false;
    const watch = setInterval(() => {
      checks++;
      halfErased += half.get() as number;
      if (!late) {
        late = true;
        store.queue.capture(
          { type: 'share', body: guestBody(9999, 'guest0@example.com'), dedupeKey: null, occurredAt: '', sessionId: 'late' },
          NOW,
          1000,
        );
      }
    }, 1);
    const result = await eraseGuest(ctx, { email: 'guest0@example.com' });
    clearInterval(watch);
    expect(late).toBe(true);
    expect(checks).toBeGreaterThan(1);
    expect(halfErased).toBe(0);
    expect(named.get()).toBe(0);
    expect(result.counts).toMatchObject({ events: { share: before + 1 }, undeliveredDropped: before + 1 });
    expect(result.events).toHaveLength(before + 1);
    expect(store.db.prepare('SELECT COUNT(*) FROM erasures').pluck().get()).toBe(1);
    // A dry run counts the same as the erase would, changing nothing.
    const planned = await eraseGuest(ctx, { email: 'guest5@example.com', dryRun: true });
    expect(planned.counts.events.share).toBe(1);
    expect(store.db.prepare(`SELECT COUNT(*) FROM events WHERE stripped_at IS NOT NULL`).pluck().get()).toBe(before + 1);
    store.close();
  });

  it('killed mid-way (SIGKILL), replay and erase leave whole chunks done; run again, they finish', async () => {
    const { file, store, ctx } = setup();
    const erased = store.db.prepare('SELECT COUNT(*) FROM events WHERE stripped_at IS NOT NULL').pluck();
    const half = store.db
      .prepare(
        `SELECT COUNT(*) FROM events e WHERE (e.stripped_at IS NOT NULL) =
           EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status <> 'delivered')`,
      )
      .pluck();
    fill(store, LARGE);
    const endpoint = addEndpoint(store);
    const queued = store.db.prepare('SELECT COUNT(*) FROM deliveries').pluck();
    /** Runs the CLI and kills it once `started` says its first chunk is committed; how far it had got by then. */
    const killMidway = async (args: string[], started: () => number) => {
      const child = spawn(process.execPath, [CLI, '--data-dir', join(file, '..'), ...args], { stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      for (let i = 0; i < 2000 && started() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 2));
      child.kill('SIGKILL');
      expect(await exited).toBeNull();
      return started();
    };

    const replayed = await killMidway(['replay', '--endpoint', endpoint.id], () => queued.get() as number);
    expect(replayed).toBeGreaterThan(0);
    expect(replayed).toBeLessThan(LARGE);
    expect(replayed % 500).toBe(0);
    expect(await replayToEndpoint(ctx, endpoint.id, {})).toMatchObject({ queued: LARGE - replayed, skipped: { onItsWay: replayed } });
    expect(queued.get()).toBe(LARGE);

    const named = store.db.prepare(`SELECT COUNT(*) FROM events WHERE CAST(body AS TEXT) LIKE '%guest0@%'`).pluck();
    const before = named.get() as number;
    const done = await killMidway(['erase', '--email', 'guest0@example.com'], () => erased.get() as number);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(before);
    expect(half.get()).toBe(0);
    expect(store.db.prepare('SELECT COUNT(*) FROM erasures').pluck().get()).toBe(0);
    const rest = await eraseGuest(ctx, { email: 'guest0@example.com' });
    expect(rest.counts.events.share).toBe(before - done);
    expect(named.get()).toBe(0);
    expect(half.get()).toBe(0);
    store.close();
  }, 60_000);
});
