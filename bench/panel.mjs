// The panel with a million deliveries: one page of the deliveries list (first, deep, and
// filtered), against a bare indexed query on the same database, and the panel's first
// paint in Chromium (scripts/browser.mjs). Prints a table; figures are ratios against the baseline
// measured in the same run, because shared machines are noisy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../scripts/browser.mjs';
import { startAgent } from '../dist/agent.js';
import { generateSecret } from '../dist/core/signing.js';
import { openStore } from '../dist/store/store.js';
import { writePart } from './report.mjs';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = 200;
const dir = mkdtempSync(join(tmpdir(), 'booth-agent-bench-'));

function median(fn) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const store = openStore(join(dir, 'outbox.db'));
const endpoint = store.endpoints.add(
  { url: 'https://hooks.example.com/b', secret: generateSecret(), types: null, strictOrder: false, ca: null },
  Date.now(),
);
let started = Date.now();
store.db.transaction(() => {
  store.db
    .prepare(
      `
    INSERT INTO events (id, type, body, dedupe_key, test, occurred_at, captured_at, session_id)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
    SELECT 'evt_' || i, CASE i % 4 WHEN 0 THEN 'session' WHEN 1 THEN 'share' WHEN 2 THEN 'survey' ELSE 'competition_win' END,
           CAST('{"type":"session"}' AS BLOB), NULL, 0, '2026-01-01T00:00:00Z', i, 'sess-' || i FROM n`,
    )
    .run(ROWS);
  store.db
    .prepare(
      `
    INSERT INTO deliveries (id, event_seq, endpoint_id, status, attempts_used, queued_at, next_attempt_at, updated_at, delivered_at)
    SELECT 'msg_' || seq, seq, ?, CASE WHEN seq % 1000 = 0 THEN 'failed' ELSE 'delivered' END, 0, seq, seq, seq,
           CASE WHEN seq % 1000 = 0 THEN NULL ELSE seq END FROM events`,
    )
    .run(endpoint.id);
})();
console.log(`built ${ROWS.toLocaleString('en')} deliveries in ${((Date.now() - started) / 1000).toFixed(1)} s`);

const baselineStatement = store.db.prepare('SELECT seq, id, status FROM deliveries ORDER BY seq DESC LIMIT 50');
const baseline = median(() => baselineStatement.all());
const middle = store.views.list({ limit: 1, before: Math.floor(ROWS / 2) })[0].cursor;
const rows = [
  ['first page', () => store.views.list({ limit: 50 })],
  ['a page half-way down (keyset)', () => store.views.list({ limit: 50, before: middle })],
  ['failed only (1 in 1,000)', () => store.views.list({ limit: 50, status: 'failed' })],
  ['type share', () => store.views.list({ limit: 50, type: 'share' })],
  ['search a session id', () => store.views.list({ limit: 50, sessionId: `sess-${Math.floor(ROWS / 3)}` })],
  ['header counts', () => store.views.counts()],
];
console.log(`\nbaseline: bare indexed query for 50 rows, median of ${RUNS}: ${baseline.toFixed(3)} ms\n`);
const lines = ['| query | median ms | × baseline |', '|---|---|---|'];
for (const [name, fn] of rows) {
  const ms = median(fn);
  lines.push(`| ${name} | ${ms.toFixed(3)} | ${(ms / baseline).toFixed(2)} |`);
}
console.log(lines.join('\n'));
store.close();

const agent = await startAgent({ dataDir: dir, port: 0, stopGraceMs: 100 });
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const url = `http://127.0.0.1:${agent.port}/#token=${agent.store.settings.token('admin_token')}`;
const paints = [];
for (let i = 0; i < 5; i++) {
  await page.goto('about:blank');
  started = Date.now();
  await page.goto(url);
  await page.locator('#deliveries tr').nth(49).waitFor();
  const listMs = Date.now() - started;
  const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
  paints.push([fcp, listMs]);
}
paints.sort((a, b) => a[1] - b[1]);
const [fcp, listMs] = paints[2];
const paint = `panel with ${ROWS.toLocaleString('en')} deliveries (median of 5 loads): first contentful paint ${fcp.toFixed(0)} ms, first page of deliveries shown ${listMs} ms after navigation`;
console.log(`\n${paint}`);
writePart(
  '<!-- panel -->',
  `## The panel with ${ROWS.toLocaleString('en')} deliveries\n\nBaseline: a bare indexed query for 50 rows on the same database, median of ${RUNS}: ${baseline.toFixed(3)} ms.\n\n${lines.join('\n')}\n\n${paint}.`,
);
await browser.close();
await agent.stop();
rmSync(dir, { recursive: true, force: true });
