// Draining a backlog into slow receivers that take a limited number of requests at once
// (issue 13): each simulated receiver answers in L (200 ms or 1 s), takes C = 16 requests
// at once and refuses the rest at once with 429 and `Retry-After: 1`. So no sender can
// drain N deliveries faster than N·L/C, the physical limit each run is measured against.
// Each receiver runs in a process of its own, the agent as a real `booth-agent run` on a
// data folder filled before it starts. Two runs per receiver, in the same run of the
// script: the adaptive in-flight limit (default settings), and max_in_flight = 4, the
// fixed number the agent kept before (the limit starts at 4 and has no room to grow).
// Writes its part of BENCHMARKS.md.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { loopbackCertificate, spawnReceiver, temp } from './loopback-tls.mjs';
import { countDelivered, prepareOutbox } from './outbox.mjs';
import { Figures, writePart } from './report.mjs';

const CLI = new URL('../dist/booth-agent.js', import.meta.url).pathname;
const CAPACITY = 16;

// The backlogs. The issue asks for 5,000; at L = 1 s that is 312 s at the physical limit
// and 1,250 s at a fixed 4, too long for a bench run, so by default the slower cases drain
// fewer (each ratio is against its own N·L/C). BENCH_RECEIVERS_FULL=1 drains 5,000 in all.
const full = process.env.BENCH_RECEIVERS_FULL === '1';
const CASES = [
  { latencyMs: 200, adaptive: 5000, fixed: full ? 5000 : 1000 },
  { latencyMs: 1000, adaptive: full ? 5000 : 1000, fixed: full ? 5000 : 250 },
];

const certDir = await loopbackCertificate();

// The receiver: a request counts from its arrival until its answer is sent. Past CAPACITY
// at once it is refused at once; a delivery sent again sooner than its Retry-After is counted.
const receiverSource = `
  const { createServer } = require('node:https'); const fs = require('node:fs');
  const [dir, latency, capacity] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
  const seen = { requests: 0, refused: 0, accepted: 0, mostAtOnce: 0, early: 0, first: 0, last: 0 };
  const refusedAt = new Map();
  let atOnce = 0;
  const server = createServer({ cert: fs.readFileSync(dir + '/cert.pem'), key: fs.readFileSync(dir + '/key.pem') }, (req, res) => {
    const now = Date.now();
    seen.requests++;
    seen.first ||= now;
    const id = req.headers['webhook-id'];
    if (refusedAt.has(id) && now - refusedAt.get(id) < 1000) seen.early++;
    req.resume();
    if (atOnce >= capacity) {
      seen.refused++;
      refusedAt.set(id, now);
      res.writeHead(429, { 'retry-after': '1' });
      res.end();
      return;
    }
    atOnce++;
    seen.mostAtOnce = Math.max(seen.mostAtOnce, atOnce);
    setTimeout(() => {
      atOnce--;
      seen.accepted++;
      seen.last = Date.now();
      res.writeHead(200);
      res.end('ok');
    }, latency);
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
  process.on('message', () => process.send(seen));
`;

const startReceiver = (latencyMs) => spawnReceiver(receiverSource, [certDir, String(latencyMs), String(CAPACITY)]);

/** The limit the agent last wrote to the endpoint's row. */
function savedLimit(dataDir) {
  const db = new BetterSqlite3(join(dataDir, 'outbox.db'), { readonly: true });
  try {
    return db.prepare('SELECT in_flight_limit FROM endpoints').pluck().get();
  } finally {
    db.close();
  }
}

/** Drains `n` deliveries into a fresh receiver answering in `latencyMs`; answers what the receiver saw and how long it took. */
async function drain(latencyMs, n, settings) {
  const receiver = await startReceiver(latencyMs);
  const dataDir = temp('receivers');
  prepareOutbox(dataDir, `https://127.0.0.1:${receiver.port}/hook`, { queued: n, settings });
  const agent = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'run', '--port', '0'], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: join(certDir, 'cert.pem') },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => agent.once('exit', resolve));
  const started = performance.now();
  const deadline = started + 20 * ((n * latencyMs) / CAPACITY) + 60_000;
  while (countDelivered(dataDir) < n) {
    if (performance.now() > deadline) throw new Error(`the drain of ${n} at ${latencyMs} ms did not finish in time`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  agent.kill('SIGTERM');
  await exited;
  const seen = await receiver.count();
  receiver.stop();
  const limit = savedLimit(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  const physical = (n * latencyMs) / CAPACITY / 1000;
  return { n, seconds, physical, ratio: physical / seconds, refusedShare: seen.refused / seen.requests, ...seen, limit };
}

const figures = new Figures();
const details = [];
for (const { latencyMs, adaptive, fixed } of CASES) {
  const runs = [
    { name: 'adaptive limit (max_in_flight 32)', n: adaptive, settings: {} },
    { name: 'fixed: max_in_flight 4', n: fixed, settings: { max_in_flight: 4 } },
  ];
  const results = [];
  for (const run of runs) {
    const result = await drain(latencyMs, run.n, run.settings);
    results.push(result);
    details.push(
      `| ${latencyMs} ms | ${run.name} | ${run.n.toLocaleString('en')} | ${result.seconds.toFixed(1)} s | ${result.physical.toFixed(1)} s | ` +
        `${result.ratio.toFixed(2)} | ${(result.refusedShare * 100).toFixed(1)} % (${result.refused} of ${result.requests}) | ` +
        `${result.mostAtOnce} | ${result.limit ?? '—'} | ${result.early} |`,
    );
  }
  const [adaptiveRun, fixedRun] = results;
  const receiver = `L = ${latencyMs} ms, C = ${CAPACITY}`;
  figures.record(
    `drain into a receiver (${receiver}), ${adaptiveRun.n.toLocaleString('en')} waiting, share of the physical limit N·L/C`,
    `${adaptiveRun.ratio.toFixed(2)} (${adaptiveRun.seconds.toFixed(1)} s against ${adaptiveRun.physical.toFixed(1)} s)`,
    `max_in_flight 4, ${fixedRun.n.toLocaleString('en')} waiting: ${fixedRun.ratio.toFixed(2)} (${fixedRun.seconds.toFixed(1)} s against ${fixedRun.physical.toFixed(1)} s)`,
    `${(adaptiveRun.ratio / fixedRun.ratio).toFixed(1)} ×`,
    '≥ 0.8 of the limit',
    adaptiveRun.ratio >= 0.8,
  );
  figures.record(
    `429s seen by that receiver over the drain (${receiver})`,
    `${(adaptiveRun.refusedShare * 100).toFixed(1)} %`,
    `max_in_flight 4: ${(fixedRun.refusedShare * 100).toFixed(1)} %`,
    '—',
    '≤ 5 %',
    adaptiveRun.refusedShare <= 0.05,
  );
}

writePart(
  '<!-- receivers -->',
  [
    '## Draining into slow receivers',
    '',
    `Measured by bench/receivers.mjs. Each simulated receiver answers in L, takes C = ${CAPACITY} requests at once and ` +
      'answers 429 with `Retry-After: 1` past that, so N deliveries cannot drain faster than N·L/C. The agent runs as ' +
      '`booth-agent run` on a data folder filled before it starts; the time runs from its spawn until every delivery is ' +
      'delivered. Both rows of a receiver come from the same run.' +
      (full
        ? ''
        : ' The issue asks for 5,000 waiting deliveries; that is 312 s at the limit with L = 1 s and 1,250 s with a fixed 4, ' +
          'so by default the runs at L = 1 s drain 1,000 (adaptive) and 250 (fixed 4), and the fixed 4 at 200 ms drains 1,000: ' +
          'each ratio is against its own N·L/C. `BENCH_RECEIVERS_FULL=1 npm run bench` drains 5,000 in all of them.'),
    '',
    figures.table(),
    '',
    '| L | in flight | N | drain | N·L/C | ratio | 429s | most at once at the receiver | limit at the end | retries sooner than Retry-After |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...details,
  ].join('\n'),
);
console.log(`\n${details.join('\n')}`);
rmSync(certDir, { recursive: true, force: true });
