// The agent against the machine's limits (issue 6). Every figure is compared with a
// baseline measured in the same run on the same machine, since shared machines are noisy.
// Prints a table and writes BENCHMARKS.md. Run: npm run bench
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Agent, request } from 'undici';
import { generateSecret, signatureHeaders } from '../dist/core/signing.js';
import { openStore } from '../dist/store/store.js';
import { loopbackCertificate, temp } from './loopback-tls.mjs';
import { Figures, writePart } from './report.mjs';

const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const figures = new Figures();

// A loopback HTTPS receiver in a process of its own, so it competes with neither side.
const certDir = await loopbackCertificate();
const receiverSource = `
  const { createServer } = require('node:https'); const fs = require('node:fs');
  let count = 0;
  const server = createServer({ cert: fs.readFileSync(process.argv[1] + '/cert.pem'), key: fs.readFileSync(process.argv[1] + '/key.pem') }, (req, res) => {
    req.resume(); req.on('end', () => { count++; res.writeHead(200); res.end('ok'); });
  });
  server.keepAliveTimeout = 60000;
  server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
  process.on('message', () => process.send(count));
`;
async function startReceiver(port = 0) {
  const child = spawn(process.execPath, ['-e', receiverSource, certDir, String(port)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const line = await new Promise((resolve) => child.stdout.once('data', resolve));
  return {
    child,
    port: JSON.parse(String(line)).port,
    count: () =>
      new Promise((resolve) => {
        child.once('message', resolve);
        child.send('count');
      }),
    stop: () => child.kill(),
  };
}

async function spawnAgent(dataDir, env = {}) {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'run', '--port', '0'], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: join(certDir, 'cert.pem'), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const port = await new Promise((resolve) => {
    const look = () => {
      const m = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out);
      if (m) resolve(Number(m[1]));
      else setTimeout(look, 5);
    };
    look();
  });
  return {
    child,
    port,
    listeningMs: performance.now() - started,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

function prepare(dataDir, endpointUrl, queued = 0, held = false) {
  const store = openStore(join(dataDir, 'outbox.db'));
  const endpoint = store.endpoints.add(
    { url: endpointUrl, secret: generateSecret(), types: null, strictOrder: false, ca: null },
    Date.now(),
  );
  if (held) store.db.prepare('UPDATE endpoints SET unreachable_since = ? WHERE id = ?').run(Date.now(), endpoint.id);
  store.db.transaction(() => {
    for (let i = 0; i < queued; i++) {
      const body = Buffer.from(
        JSON.stringify({
          type: 'session',
          event_id: 1,
          timestamp: new Date().toISOString(),
          session: { id: `b-${i}`, direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://cdn.example.com/a', type: 'still' },
        }),
      );
      store.queue.capture({ type: 'session', body, dedupeKey: null, occurredAt: '', sessionId: `b-${i}` }, Date.now(), 1000);
    }
  })();
  const token = store.settings.token('ingest_token');
  store.close();
  return { token, secret: endpoint.secret };
}

const countDelivered = (dataDir) => {
  const db = new BetterSqlite3(join(dataDir, 'outbox.db'), { readonly: true });
  const n = db.prepare("SELECT n FROM delivery_counts WHERE status = 'delivered'").pluck().get();
  db.close();
  return n;
};
const until = async (check, timeoutMs, intervalMs = 50) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('benchmark step timed out');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
};
/** Posts one event to the agent's JSON API with undici (fetch costs the client more CPU than the agent spends on the event). */
async function postEvent(port, token, body, dispatcher) {
  const res = await request(`http://127.0.0.1:${port}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    ...(dispatcher ? { dispatcher } : {}),
  });
  await res.body.dump();
  return res.statusCode;
}
const session = (id) =>
  JSON.stringify({
    type: 'session',
    event_id: 1,
    session: { id, direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://cdn.example.com/a', type: 'still' },
  });
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

// 1. Backlog drain: 10,000 waiting deliveries to a loopback HTTPS receiver.
{
  const DRAIN = Number(process.env.BENCH_DRAIN ?? 10_000);
  const receiver = await startReceiver();
  const url = `https://127.0.0.1:${receiver.port}/hook`;
  const secret = generateSecret();
  const bodies = Array.from({ length: DRAIN }, (_, i) => Buffer.from(session(`plain-${i}`)));
  const dispatcher = new Agent({ connect: { ca: readFileSync(join(certDir, 'cert.pem')) } });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < bodies.length) {
        const i = next++;
        const headers = {
          'content-type': 'application/json',
          ...signatureHeaders({ xSignature: secret, standard: [secret] }, `msg_${i}`, Math.floor(Date.now() / 1000), bodies[i]),
        };
        const res = await request(url, { method: 'POST', body: bodies[i], headers, dispatcher });
        await res.body.dump();
      }
    }),
  );
  const baselineMs = performance.now() - started;
  await dispatcher.close();

  const dataDir = temp('drain');
  prepare(dataDir, url, DRAIN, true);
  const agent = await spawnAgent(dataDir);
  const drainStart = performance.now();
  await until(() => countDelivered(dataDir) >= DRAIN, 600_000);
  const agentMs = performance.now() - drainStart;
  await agent.stop();
  receiver.stop();
  const ratio = baselineMs / agentMs;
  figures.record(
    `backlog drain, ${DRAIN.toLocaleString('en')} waiting deliveries`,
    `${(agentMs / 1000).toFixed(1)} s (${Math.round(DRAIN / (agentMs / 1000))}/s)`,
    `plain undici, same bodies, 4 in flight: ${(baselineMs / 1000).toFixed(1)} s`,
    ratio.toFixed(2),
    '≥ 0.7',
    ratio >= 0.7,
  );
  rmSync(dataDir, { recursive: true, force: true });
}

// 2. Durable capture: events acknowledged per second over the HTTP API, 16 clients.
{
  const N = 4000;
  const dataDir = temp('capture');
  const { token } = prepare(dataDir, 'https://127.0.0.1:9/never');
  const agent = await spawnAgent(dataDir);
  const clients = new Agent({ connections: 16 });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < N) {
        const status = await postEvent(agent.port, token, session(`c-${next++}`), clients);
        if (status !== 202) throw new Error(`capture answered ${status}`);
      }
    }),
  );
  const agentRate = N / ((performance.now() - started) / 1000);
  await clients.close();
  await agent.stop();
  const db = new BetterSqlite3(join(temp('baseline'), 'b.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB) STRICT');
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  const body = Buffer.from(session('baseline'));
  const baseStart = performance.now();
  for (let i = 0; i < 2000; i++) insert.run(body);
  const baseRate = 2000 / ((performance.now() - baseStart) / 1000);
  db.close();
  const ratio = agentRate / baseRate;
  figures.record(
    'durable capture, HTTP API, 16 clients',
    `${Math.round(agentRate)} events/s`,
    `single-row commits, synchronous=FULL: ${Math.round(baseRate)}/s`,
    ratio.toFixed(2),
    '≥ 1.0',
    ratio >= 1,
  );
  rmSync(dataDir, { recursive: true, force: true });
}

// 3. Capture to delivered latency, one event at a time, receiver healthy.
{
  const receiver = await startReceiver();
  const url = `https://127.0.0.1:${receiver.port}/hook`;
  const dataDir = temp('latency');
  const { token } = prepare(dataDir, url);
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

// 4–6. Memory with 100,000 in the outbox, idle CPU while an endpoint waits, start-up.
{
  const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  const cpuSeconds = (pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / Number(execFileSync('getconf', ['CLK_TCK']).toString());
  };
  const emptyDir = temp('empty');
  prepare(emptyDir, 'https://127.0.0.1:9/never');
  const idle = await spawnAgent(emptyDir);
  await new Promise((r) => setTimeout(r, 3000));
  const idleRss = rss(idle.child.pid);
  await idle.stop();

  const fullDir = temp('full');
  const { token } = prepare(fullDir, 'https://127.0.0.1:9/never', 100_000, true);
  const full = await spawnAgent(fullDir);
  const acceptStart = performance.now();
  const first = await postEvent(full.port, token, session('startup'));
  const startupMs = full.listeningMs + (performance.now() - acceptStart);
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
  figures.record(
    'start-up with 100,000 queued: first capture accepted',
    `${startupMs.toFixed(0)} ms after spawn`,
    '—',
    '—',
    '≤ 500 ms',
    startupMs <= 500,
  );
  rmSync(emptyDir, { recursive: true, force: true });
  rmSync(fullDir, { recursive: true, force: true });
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const table = figures.table();
console.log(`\n${table}`);
writePart(
  null,
  `# Benchmarks\n\nMeasured by \`npm run bench\` (bench/agent.mjs, bench/panel.mjs, bench/export.mjs, bench/receivers.mjs) on ${new Date().toISOString().slice(0, 10)}, ` +
    `Node ${process.version}, ${cpus().length} × ${cpu}, ${process.platform}. Each figure is compared with a baseline ` +
    'measured in the same run on the same machine; the machines are shared, so rerun before drawing fine conclusions.\n\n' +
    table,
);
rmSync(certDir, { recursive: true, force: true });
