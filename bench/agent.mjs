// The agent against the machine's limits (issue 6). Every figure is compared with a
// baseline measured in the same run on the same machine, since shared machines are noisy.
// Prints a table and writes BENCHMARKS.md. Run: npm run bench
//
// `node bench/agent.mjs <part>…` (drain, capture, latency, replay, memory, start-up) runs
// only those parts and rewrites only their rows of the table.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { pino } from 'pino';
import { generateSecret, signatureHeaders } from '../dist/core/signing.js';
import { Dispatcher } from '../dist/delivery/dispatcher.js';
import { Sender } from '../dist/delivery/sender.js';
import { openStore } from '../dist/store/store.js';
import { loopbackCertificate, percentile, postEvent, spawnBoothAgent, spawnHookReceiver, temp, until } from './loopback-tls.mjs';
import { countDelivered, prepareOutbox } from './outbox.mjs';
import { Figures, writePart, writeRows } from './report.mjs';

const CLI = new URL('../dist/booth-agent.js', import.meta.url).pathname;
const figures = new Figures();
const PARTS = ['drain', 'capture', 'latency', 'replay', 'memory', 'start-up'];
const chosen = process.argv.slice(2);
for (const part of chosen) if (!PARTS.includes(part)) throw new Error(`no part "${part}": choose from ${PARTS.join(', ')}`);
const runs = (part) => chosen.length === 0 || chosen.includes(part);

// A loopback HTTPS receiver in a process of its own, so it competes with neither side.
const certDir = await loopbackCertificate();
const startReceiver = () => spawnHookReceiver(certDir);

const spawnAgent = (dataDir, env = {}) => spawnBoothAgent(dataDir, certDir, env);

/** CPU time (user + system, every thread) a process has used so far, in seconds. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString());
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
};
const ownCpuMs = (since) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/**
 * A light HTTP/1.1 client for the capture figures: one keep-alive socket per client, each
 * request written whole, each answer read by its Content-Length. It costs a fraction of what
 * undici's request does, so on two cores the figure is the server's, not the client's. Both
 * the agent and its baseline are driven by it.
 */
async function postMany(port, headers, bodies, clients) {
  const head = `POST /v1/events HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}`;
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      let received = Buffer.alloc(0);
      let answered = null;
      socket.on('data', (chunk) => {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = received.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (received.length < end + 4 + length) return;
        received = received.subarray(end + 4 + length);
        answered(Number(head.slice(9, 12)));
      });
      const failed = new Promise((_, reject) => socket.once('error', reject));
      while (next < bodies.length) {
        const body = bodies[next++];
        const answer = new Promise((resolve) => (answered = resolve));
        socket.write(`${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        const status = await Promise.race([failed, answer]);
        if (status !== 202) throw new Error(`capture answered ${status}`);
      }
      socket.destroy();
    }),
  );
}
// The baseline of durable capture: the least an HTTP API that keeps each event on disk before
// answering can do. Each request's body is one row, committed on its own with synchronous=FULL.
const singleRowServerSource = `
  const http = require('node:http'); const Database = require(process.argv[1]);
  const db = new Database(process.argv[2]);
  db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB) STRICT');
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  const server = http.createServer((req, res) => {
    const chunks = []; req.on('data', (c) => chunks.push(c));
    req.on('end', () => { insert.run(Buffer.concat(chunks)); res.writeHead(202, { 'content-type': 'application/json', 'content-length': 2 }); res.end('{}'); });
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
`;
const session = (id) =>
  JSON.stringify({
    type: 'session',
    event_id: 1,
    session: { id, direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://cdn.example.com/a', type: 'still' },
  });

/** The drain's CPU per delivery, part by part (a table under the figures). */
let cpuBreakdown = '';

/** CPU per delivery of the agent's Sender alone, `inFlight` at once, in this process. */
async function senderAlone(url, bodies, secret, inFlight) {
  const sender = new Sender({ userAgent: 'bench', connectTimeoutMs: 5000, attemptTimeoutMs: 15_000 });
  const target = {
    url,
    ca: readFileSync(join(certDir, 'cert.pem'), 'utf8'),
    headers: {},
    secret,
    previousSecret: null,
    previousSecretUntil: null,
    rotationPending: false,
  };
  let next = 0;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < bodies.length) {
        const i = next++;
        const sent = await sender.send(target, `msg_${i}`, bodies[i], false);
        if (sent.outcome.kind !== 'answered' || sent.outcome.status !== 200)
          throw new Error(`the receiver answered ${JSON.stringify(sent.outcome)}`);
      }
    }),
  );
  const cpuMs = ownCpuMs(before) / bodies.length;
  await sender.close();
  return cpuMs;
}

/**
 * CPU per delivery of the outbox's own work in the delivery loop (claim, record the attempt,
 * commit, a log line to a file) in this process, with a sender that answers 200 at once.
 */
async function outboxAlone(count) {
  const dataDir = temp('outbox-alone');
  prepareOutbox(dataDir, 'https://127.0.0.1:9/hook', { queued: count, settings: { max_in_flight: 4 } });
  const store = openStore(join(dataDir, 'outbox.db'));
  const answered = { kind: 'answered', status: 200, location: null, retryAfter: null };
  const sender = {
    viaProxy: false,
    send: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return { outcome: answered, startedAt: Date.now(), durationMs: 0, responseHead: Buffer.from('ok'), date: null };
    },
    close: async () => {},
  };
  const log = pino(pino.destination({ dest: join(dataDir, 'agent.log'), sync: false }));
  const dispatcher = new Dispatcher({
    queue: store.queue,
    endpoints: store.endpoints,
    settings: () => store.settings.read(),
    sender,
    log,
    owner: 'run:bench',
  });
  const delivered = store.db.prepare("SELECT n FROM delivery_counts WHERE status = 'delivered'").pluck();
  const before = process.cpuUsage();
  dispatcher.start();
  await until(() => delivered.get() >= count, 120_000, 10);
  const cpuMs = ownCpuMs(before) / count;
  await dispatcher.stop(1000);
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
  return cpuMs;
}

// 1. Backlog drain: 10,000 waiting deliveries to a loopback HTTPS receiver, 4 in flight on
// both sides (the agent's limit adapts; its ceiling is set to the baseline's). The CPU per
// delivery counts every thread of each: the agent's process from its first delivery, the
// benchmark's own while it is the plain client.
if (runs('drain')) {
  const DRAIN = Number(process.env.BENCH_DRAIN ?? 10_000);
  const IN_FLIGHT = 4;
  const HALF = DRAIN / 2;
  const receiver = await startReceiver();
  const url = `https://127.0.0.1:${receiver.port}/hook`;
  const secret = generateSecret();
  const bodies = Array.from({ length: DRAIN }, (_, i) => Buffer.from(session(`plain-${i}`)));
  const dispatcher = new Agent({ connect: { ca: readFileSync(join(certDir, 'cert.pem')) } });
  let next = 0;
  const started = performance.now();
  const baseCpu = process.cpuUsage();
  let baseHalfCpu = null;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < bodies.length) {
        const i = next++;
        if (i === HALF) baseHalfCpu = process.cpuUsage();
        const headers = {
          'content-type': 'application/json',
          ...signatureHeaders({ xSignature: secret, standard: [secret] }, `msg_${i}`, Math.floor(Date.now() / 1000), bodies[i]),
        };
        const res = await request(url, { method: 'POST', body: bodies[i], headers, dispatcher });
        await res.body.dump();
      }
    }),
  );
  const baselineCpuMs = ownCpuMs(baseCpu) / DRAIN;
  const baselineWarmCpuMs = ownCpuMs(baseHalfCpu) / (DRAIN - HALF);
  const baselineMs = performance.now() - started;
  await dispatcher.close();
  const senderCpuMs = await senderAlone(url, bodies, secret, IN_FLIGHT);
  const outboxCpuMs = await outboxAlone(DRAIN);

  const dataDir = temp('drain');
  prepareOutbox(dataDir, url, { queued: DRAIN, held: true, settings: { max_in_flight: IN_FLIGHT } });
  const agent = await spawnAgent(dataDir);
  const drainStart = performance.now();
  const deliveredBefore = countDelivered(dataDir);
  const cpuBefore = cpuSeconds(agent.child.pid);
  let half = null;
  await until(() => {
    const delivered = countDelivered(dataDir);
    if (half === null && delivered >= HALF) half = { delivered, cpu: cpuSeconds(agent.child.pid) };
    return delivered >= DRAIN;
  }, 600_000);
  const cpuAfter = cpuSeconds(agent.child.pid);
  const agentCpuMs = ((cpuAfter - cpuBefore) * 1000) / (DRAIN - deliveredBefore);
  const agentWarmCpuMs = ((cpuAfter - half.cpu) * 1000) / (DRAIN - half.delivered);
  const agentMs = performance.now() - drainStart;
  await agent.stop();
  receiver.stop();
  const ratio = baselineMs / agentMs;
  figures.record(
    `backlog drain, ${DRAIN.toLocaleString('en')} waiting deliveries`,
    `${(agentMs / 1000).toFixed(1)} s (${Math.round(DRAIN / (agentMs / 1000))}/s)`,
    `plain undici, same bodies, ${IN_FLIGHT} in flight: ${(baselineMs / 1000).toFixed(1)} s`,
    ratio.toFixed(2),
    '≥ 0.7',
    ratio >= 0.7,
  );
  const cpuRatio = baselineCpuMs / agentCpuMs;
  figures.record(
    'CPU per delivery, same drain',
    `${agentCpuMs.toFixed(3)} ms`,
    `plain undici, same bodies, ${IN_FLIGHT} in flight: ${baselineCpuMs.toFixed(3)} ms`,
    cpuRatio.toFixed(2),
    '≥ 0.7',
    cpuRatio >= 0.7,
  );
  // The first half pays for compiling the agent's code (its first deliveries since start);
  // the second is the steady cost, as in an agent that has been running.
  const warmRatio = baselineWarmCpuMs / agentWarmCpuMs;
  figures.record(
    'CPU per delivery, second half of the same drain (warm)',
    `${agentWarmCpuMs.toFixed(3)} ms`,
    `plain undici, second half of its run: ${baselineWarmCpuMs.toFixed(3)} ms`,
    warmRatio.toFixed(2),
    '≥ 0.7',
    warmRatio >= 0.7,
  );
  const share = (ms) => (ms / baselineCpuMs).toFixed(2);
  cpuBreakdown = [
    "### Where a delivery's CPU goes",
    '',
    `Same receiver, same bodies, same run, ${IN_FLIGHT} in flight. A ratio of 0.7 leaves the agent 0.43 of the plain client's CPU (1 / 0.7 − 1) for everything beyond sending.`,
    '',
    '| part | CPU per delivery | × plain undici |',
    '|---|---|---|',
    `| plain undici: sign, send, read the answer (the baseline) | ${baselineCpuMs.toFixed(3)} ms | 1.00 |`,
    `| plain undici, second half of its run (warm) | ${baselineWarmCpuMs.toFixed(3)} ms | ${share(baselineWarmCpuMs)} |`,
    `| the agent's sender alone: the same, with its deadline and the answer's first 4 KiB kept | ${senderCpuMs.toFixed(3)} ms | ${share(senderCpuMs)} |`,
    `| the outbox's own work: claim, record the attempt, commit, log line (a sender that answers at once) | ${outboxCpuMs.toFixed(3)} ms | ${share(outboxCpuMs)} |`,
    `| the running agent, whole (the drain above) | ${agentCpuMs.toFixed(3)} ms | ${share(agentCpuMs)} |`,
    `| the running agent, second half of the drain (warm) | ${agentWarmCpuMs.toFixed(3)} ms | ${share(agentWarmCpuMs)} |`,
  ].join('\n');
  console.log(`sender alone ${senderCpuMs.toFixed(3)} ms, outbox alone ${outboxCpuMs.toFixed(3)} ms per delivery`);
  rmSync(dataDir, { recursive: true, force: true });
}

// 2. Durable capture: events acknowledged per second over the HTTP API, 16 clients, against
// an HTTP server that commits each event on its own; the same light client drives both.
if (runs('capture')) {
  const N = 4000;
  const CLIENTS = 16;
  const bodies = Array.from({ length: N }, (_, i) => session(`c-${i}`));
  const dataDir = temp('capture');
  const token = prepareOutbox(dataDir, 'https://127.0.0.1:9/never');
  const agent = await spawnAgent(dataDir);
  const agentCpu = cpuSeconds(agent.child.pid);
  let started = performance.now();
  await postMany(agent.port, { authorization: `Bearer ${token}` }, bodies, CLIENTS);
  const agentRate = N / ((performance.now() - started) / 1000);
  const agentCpuMs = ((cpuSeconds(agent.child.pid) - agentCpu) * 1000) / N;
  await agent.stop();

  const baseDir = temp('baseline');
  const server = spawn(
    process.execPath,
    ['-e', singleRowServerSource, createRequire(import.meta.url).resolve('better-sqlite3'), join(baseDir, 'b.db')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const { port } = JSON.parse(String(await new Promise((resolve) => server.stdout.once('data', resolve))));
  const baseCpu = cpuSeconds(server.pid);
  started = performance.now();
  await postMany(
    port,
    {},
    bodies.map((body) => body.replace('c-', 'b-')),
    CLIENTS,
  );
  const baseRate = N / ((performance.now() - started) / 1000);
  const baseCpuMs = ((cpuSeconds(server.pid) - baseCpu) * 1000) / N;
  server.kill();
  const ratio = agentRate / baseRate;
  figures.record(
    `durable capture, HTTP API, ${CLIENTS} clients`,
    `${Math.round(agentRate)} events/s, ${agentCpuMs.toFixed(3)} ms CPU each`,
    `HTTP server committing each event alone, synchronous=FULL: ${Math.round(baseRate)}/s, ${baseCpuMs.toFixed(3)} ms CPU each`,
    ratio.toFixed(2),
    '≥ 0.8',
    ratio >= 0.8,
  );
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(baseDir, { recursive: true, force: true });
}

// 3. Capture to delivered latency, one event at a time, receiver healthy.
if (runs('latency')) {
  const receiver = await startReceiver();
  const url = `https://127.0.0.1:${receiver.port}/hook`;
  const dataDir = temp('latency');
  const token = prepareOutbox(dataDir, url);
  const agent = await spawnAgent(dataDir);
  const latencies = [];
  for (let i = 0; i < 100; i++) {
    const before = await receiver.count();
    const started = performance.now();
    await postEvent(agent.port, token, session(`l-${i}`));
    await until(async () => (await receiver.count()) > before, 10_000, 0);
    latencies.push(performance.now() - started);
  }
  await agent.stop();
  const dispatcher = new Agent({ connect: { ca: readFileSync(join(certDir, 'cert.pem')) } });
  const plain = [];
  for (let i = 0; i < 100; i++) {
    const before = await receiver.count();
    const started = performance.now();
    const res = await request(url, {
      method: 'POST',
      body: session(`p-${i}`),
      headers: { 'content-type': 'application/json' },
      dispatcher,
    });
    await res.body.dump();
    await until(async () => (await receiver.count()) > before, 10_000, 0);
    plain.push(performance.now() - started);
  }
  await dispatcher.close();
  receiver.stop();
  const p50 = percentile(latencies, 50);
  const base50 = percentile(plain, 50);
  figures.record(
    'capture → delivered latency, p50 / p99',
    `${p50.toFixed(1)} / ${percentile(latencies, 99).toFixed(1)} ms`,
    `plain client request (same receiver, same polling): ${base50.toFixed(1)} / ${percentile(plain, 99).toFixed(1)} ms`,
    `p50 +${(p50 - base50).toFixed(1)} ms`,
    'p50 ≤ baseline + 5 ms',
    p50 <= base50 + 5,
  );
  rmSync(dataDir, { recursive: true, force: true });
}

// 4. Capture latency while an operator replays 20,000 events to an endpoint added late: from
// the panel (the admin API, in the agent's own process) and from `booth-agent replay` (another
// process), against the same agent capturing with nothing else running. A capture is started
// every 5 ms whether the last was answered or not, and timed from then to its 202, so a
// capture held up holds up those due after it in the figure too (one client waiting for each
// answer would count a stall of a second as one slow capture). Both endpoints are held, so
// nothing is sent.
if (runs('replay')) {
  const REPLAYED = 20_000;
  const EVERY_MS = 5;
  const IDLE_MS = 2000;
  const dataDir = temp('replay');
  const token = prepareOutbox(dataDir, 'https://127.0.0.1:9/never', { queued: REPLAYED, held: true });
  const store = openStore(join(dataDir, 'outbox.db'));
  const lateEndpoint = () => {
    const { id } = store.endpoints.add(
      { url: 'https://127.0.0.1:9/late', secret: generateSecret(), types: null, strictOrder: false, ca: null },
      Date.now(),
    );
    store.db.prepare('UPDATE endpoints SET unreachable_since = ? WHERE id = ?').run(Date.now(), id);
    return id;
  };
  const [fromPanel, fromCli] = [lateEndpoint(), lateEndpoint()];
  const adminToken = store.settings.token('admin_token');
  store.close();
  const agent = await spawnAgent(dataDir);
  let n = 0;
  /** Captures every EVERY_MS until `running` settles; each capture's latency, how long it ran, and what it gave. */
  const capturesWhile = async (running) => {
    let done = false;
    const started = performance.now();
    const finished = running.then((result) => ((done = true), result));
    const latencies = [];
    for (let due = started; !done; due += EVERY_MS) {
      latencies.push(
        postEvent(agent.port, token, session(`r-${n++}`)).then((status) => {
          if (status !== 202) throw new Error(`capture answered ${status}`);
          return performance.now() - due;
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due + EVERY_MS - performance.now())));
    }
    const result = await finished;
    return { latencies: await Promise.all(latencies), ms: performance.now() - started, result };
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  await capturesWhile(sleep(500));
  const idle = await capturesWhile(sleep(IDLE_MS));
  const panel = await capturesWhile(
    request(`http://127.0.0.1:${agent.port}/api/endpoints/${fromPanel}/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: '{}',
    }).then(async (res) => ({ status: res.statusCode, body: await res.body.json() })),
  );
  if (panel.result.status !== 200 || panel.result.body.queued < REPLAYED)
    throw new Error(`replay answered ${JSON.stringify(panel.result)}`);
  const cli = await capturesWhile(
    new Promise((resolve, reject) =>
      execFile(process.execPath, [CLI, '--data-dir', dataDir, '--json', 'replay', '--endpoint', fromCli], (error, stdout) =>
        error ? reject(error) : resolve(JSON.parse(stdout)),
      ),
    ),
  );
  if (cli.result.queued < REPLAYED) throw new Error(`booth-agent replay said ${JSON.stringify(cli.result)}`);
  await agent.stop();
  const spread = (run) =>
    `p50 ${percentile(run.latencies, 50).toFixed(1)} ms, max ${Math.max(...run.latencies).toFixed(1)} ms; ${run.latencies.length} captures over ${(run.ms / 1000).toFixed(1)} s`;
  const idle99 = percentile(idle.latencies, 99);
  for (const [how, run] of [
    ['from the panel (admin API, in the agent)', panel],
    ['by booth-agent replay (another process)', cli],
  ]) {
    const p99 = percentile(run.latencies, 99);
    figures.record(
      `capture p99 while ${REPLAYED.toLocaleString('en')} events are replayed ${how}, a capture every ${EVERY_MS} ms`,
      `${p99.toFixed(1)} ms (${spread(run)})`,
      `same agent, nothing else running: ${idle99.toFixed(1)} ms (${spread(idle)})`,
      `+${(p99 - idle99).toFixed(1)} ms`,
      '≤ +50 ms',
      p99 - idle99 <= 50,
    );
  }
  rmSync(dataDir, { recursive: true, force: true });
}

// 5–6. Memory with 100,000 in the outbox, idle CPU while an endpoint waits.
if (runs('memory')) {
  const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  const emptyDir = temp('empty');
  prepareOutbox(emptyDir, 'https://127.0.0.1:9/never');
  const idle = await spawnAgent(emptyDir);
  await new Promise((r) => setTimeout(r, 3000));
  const idleRss = rss(idle.child.pid);
  await idle.stop();

  const fullDir = temp('full');
  const token = prepareOutbox(fullDir, 'https://127.0.0.1:9/never', { queued: 100_000, held: true });
  const full = await spawnAgent(fullDir);
  const first = await postEvent(full.port, token, session('memory'));
  if (first !== 202) throw new Error(`capture answered ${first}`);
  await new Promise((r) => setTimeout(r, 3000));
  const fullRss = rss(full.child.pid);
  const cpuStart = cpuSeconds(full.child.pid);
  const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const cpuPercent = ((cpuSeconds(full.child.pid) - cpuStart) / IDLE_S) * 100;
  await full.stop();
  figures.record(
    'memory, RSS with 100,000 events in the outbox',
    `${fullRss.toFixed(0)} MB`,
    `same process idle, empty outbox: ${idleRss.toFixed(0)} MB`,
    `+${(fullRss - idleRss).toFixed(0)} MB`,
    '≤ +50 MB',
    fullRss - idleRss <= 50,
  );
  figures.record(
    `idle CPU, ${IDLE_S} s, an endpoint waiting (100,000 queued)`,
    `${cpuPercent.toFixed(2)} % of one core`,
    '—',
    '—',
    '< 0.5 %',
    cpuPercent < 0.5,
  );
  rmSync(emptyDir, { recursive: true, force: true });
  rmSync(fullDir, { recursive: true, force: true });
}

// 7. Start-up with 100,000 queued: from spawning `booth-agent run` to its 202 for a capture,
// as a booth program that retries until the agent is up sees it (a refused connection is
// tried again 2 ms later). Against spawning a bare `node -e ''` until it exits: the least any
// Node program costs to start on this machine at that moment. The rounds alternate the two
// on the same data folder, and the medians are compared.
if (runs('start-up')) {
  const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 15);
  const dataDir = temp('start-up');
  const token = prepareOutbox(dataDir, 'https://127.0.0.1:9/never', { queued: 100_000, held: true });
  const freePort = () =>
    new Promise((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address();
        probe.close(() => resolve(port));
      });
    });
  const bareNode = async () => {
    const started = performance.now();
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    return performance.now() - started;
  };
  const firstCapture = async (round) => {
    const port = await freePort();
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'run', '--port', String(port)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let running = true;
    void exited.then(() => (running = false));
    const accepted = async () => {
      for (;;) {
        if (!running || performance.now() - started > 15_000) throw new Error('the agent exited, or did not answer within 15 s');
        try {
          return await postEvent(port, token, session(`start-up-${round}`));
        } catch (error) {
          if (error.code !== 'ECONNREFUSED') throw error;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      }
    };
    const status = await accepted().catch((error) => {
      child.kill();
      throw error;
    });
    if (status !== 202) {
      child.kill();
      throw new Error(`capture answered ${status}`);
    }
    const ms = performance.now() - started;
    const cpuMs = cpuSeconds(child.pid) * 1000;
    child.kill('SIGTERM');
    await exited;
    return { ms, cpuMs };
  };
  const agentMs = [];
  const agentCpuMs = [];
  const bareMs = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) bareMs.push(await bareNode());
    const { ms, cpuMs } = await firstCapture(round);
    agentMs.push(ms);
    agentCpuMs.push(cpuMs);
    if (round % 2 === 1) bareMs.push(await bareNode());
  }
  const agent = percentile(agentMs, 50);
  const bare = percentile(bareMs, 50);
  const spread = (values) => `median of ${values.length}, ${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;
  figures.record(
    'start-up with 100,000 queued: first capture accepted',
    `${agent.toFixed(0)} ms after spawn (${spread(agentMs)}); ${percentile(agentCpuMs, 50).toFixed(0)} ms of CPU by then`,
    `bare \`node -e ''\`, spawn to exit: ${bare.toFixed(0)} ms (${spread(bareMs)})`,
    `+${(agent - bare).toFixed(0)} ms, ${(agent / bare).toFixed(1)} × bare node`,
    '≤ 300 ms',
    agent <= 300,
  );
  rmSync(dataDir, { recursive: true, force: true });
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const table = figures.table();
console.log(`\n${table}`);
if (chosen.length > 0) writeRows(figures);
else
  writePart(
    null,
    `# Benchmarks\n\nMeasured by \`npm run bench\` (bench/agent.mjs, bench/panel.mjs, bench/export.mjs, bench/receivers.mjs) on ${new Date().toISOString().slice(0, 10)}, ` +
      `Node ${process.version}, ${cpus().length} × ${cpu}, ${process.platform}. Each figure is compared with a baseline ` +
      'measured in the same run on the same machine; the machines are shared, so rerun before drawing fine conclusions.\n\n' +
      table +
      `\n\n${cpuBreakdown}`,
  );
rmSync(certDir, { recursive: true, force: true });
