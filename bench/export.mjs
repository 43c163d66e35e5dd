// The organiser's export of 100,000 captured events (issue "The organiser's data"): rows per
// second and the memory the export adds to its process, against a baseline measured in the
// same run: the same number of rows of the same width written through the same kind of
// stream, with no database. Each side runs in a fresh process of its own, so what one
// allocated does not hide in the other's figures. Writes its part of BENCHMARKS.md.
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inFreshProcess } from './loopback-tls.mjs';
import { Figures, writePart } from './report.mjs';

const EVENTS = Number(process.env.BENCH_EXPORT_EVENTS ?? 100_000);
const TYPES = ['session', 'share', 'survey', 'competition_win'];
const [, , mode, dataDir, output, width] = process.argv;

/** Runs `work` while sampling this process's RSS; answers the time taken and the RSS it added at its peak. */
async function measure(work) {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  const started = performance.now();
  const rows = await work();
  const ms = performance.now() - started;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { rows, ms, addedMb: (peak - before) / 2 ** 20 };
}

if (mode === 'export') {
  const { default: pino } = await import('pino');
  const { openStore } = await import('../dist/store/store.js');
  const { exportEvents } = await import('../dist/operations/export.js');
  const store = openStore(join(dataDir, 'outbox.db'));
  const ctx = { store, log: pino({ level: 'silent' }), wake() {}, livePort: () => null, sender() {}, owner: 'bench', now: Date.now };
  const format = process.argv[6];
  const result = await measure(async () => {
    const download = exportEvents(ctx, { format });
    await pipeline(download.stream, createWriteStream(output));
    return download.rows();
  });
  store.close();
  process.stdout.write(JSON.stringify(result));
} else if (mode === 'baseline') {
  // Rows of the export's average width, made and written as the export writes them: in
  // 64 KiB chunks through a stream from a generator, to a file.
  const row = `${'x'.repeat(Math.max(0, Number(width) - 2))}\r\n`;
  const result = await measure(async () => {
    async function* chunks() {
      let pending = '';
      for (let i = 0; i < EVENTS; i++) {
        pending += `${row.slice(0, -2 - String(i).length)}${i}\r\n`;
        if (pending.length >= 64 * 1024) {
          yield pending;
          pending = '';
        }
      }
      if (pending) yield pending;
    }
    await pipeline(Readable.from(chunks(), { objectMode: false }), createWriteStream(output));
    return EVENTS;
  });
  process.stdout.write(JSON.stringify(result));
} else {
  const { generateSecret } = await import('../dist/core/signing.js');
  const { openStore } = await import('../dist/store/store.js');
  const dir = mkdtempSync(join(tmpdir(), 'booth-bench-export-'));
  const store = openStore(join(dir, 'outbox.db'));
  const endpoints = ['https://crm.example.com/hook', 'https://script.google.com/macros/s/x/exec'].map((url) =>
    store.endpoints.add({ url, secret: generateSecret(), types: null, strictOrder: false, ca: null }, Date.now()),
  );
  const start = Date.now() - EVENTS * 100;
  const form = (i) => ({
    sections: [
      {
        title: 'Contact',
        position: 0,
        fields: [
          { field_id: 'email_1', field_title: 'Email', field_type: 'email', value: `guest${i}@example.com`, required: true },
          { field_id: 'name_1', field_title: 'Name', field_type: 'text', value: `Zoë "Guest" ${i}, table ${i % 40}`, required: false },
          { field_id: 'optin_1', field_title: 'Newsletter', field_type: 'checkbox', value: i % 3 ? 'yes' : 'no', required: false },
        ],
      },
    ],
  });
  const built = performance.now();
  store.db.transaction(() => {
    for (let i = 0; i < EVENTS; i++) {
      const type = TYPES[i % 4];
      const timestamp = new Date(start + i * 100).toISOString();
      const session = {
        id: `s-${i}`,
        direct_url: `https://cdn.example.com/${i}.jpg`,
        site_url: `https://photos.example.com/${i}`,
        type: 'still',
      };
      const payload = {
        type,
        event_id: 2026,
        session,
        timestamp,
        ...(type === 'share' ? { share: { id: `sh-${i}`, type: 'email', value: `guest${i}@example.com` }, data_capture: form(i) } : {}),
        ...(type === 'survey' ? { survey: { completed_at: timestamp, data_capture: form(i) } } : {}),
        ...(type === 'competition_win'
          ? { prize: { id: 1, name: 'Free Coffee' }, winner: { type: 'email', value: `guest${i}@example.com` }, data_capture: form(i) }
          : {}),
      };
      store.queue.capture(
        { type, body: Buffer.from(JSON.stringify(payload)), dedupeKey: null, occurredAt: timestamp, sessionId: session.id },
        start + i * 100,
        1,
      );
    }
    // Most were delivered at the first attempt.
    store.db.prepare(`UPDATE deliveries SET status = 'delivered', delivered_at = queued_at + 300 WHERE seq % 50 <> 0`).run();
    store.db.exec(`
      INSERT INTO attempts (delivery_seq, started_at, duration_ms, outcome, status_code, reason)
      SELECT seq, queued_at, 120, 'answered', CASE status WHEN 'delivered' THEN 200 ELSE 500 END, 'bench' FROM deliveries`);
  })();
  store.close();
  console.log(
    `built ${EVENTS.toLocaleString('en')} events (${endpoints.length} endpoints) in ${((performance.now() - built) / 1000).toFixed(1)} s`,
  );

  const child = (args) => inFreshProcess(import.meta.url, args);

  const figures = new Figures();
  for (const format of ['csv', 'jsonl']) {
    const file = join(dir, `export.${format}`);
    const run = await child(['export', dir, file, '0', format]);
    const width = Math.round(statSync(file).size / EVENTS);
    const base = await child(['baseline', dir, join(dir, `baseline.${format}`), String(width)]);
    const rate = run.rows / (run.ms / 1000);
    const baseRate = base.rows / (base.ms / 1000);
    figures.record(
      `export of ${EVENTS.toLocaleString('en')} events, ${format.toUpperCase()} (${width} bytes a row) to a file`,
      `${Math.round(rate).toLocaleString('en')} rows/s (${(run.ms / 1000).toFixed(1)} s), +${run.addedMb.toFixed(0)} MB RSS`,
      `same rows and width, no database: ${Math.round(baseRate).toLocaleString('en')} rows/s, +${base.addedMb.toFixed(0)} MB RSS`,
      (rate / baseRate).toFixed(2),
      '≥ 20,000 rows/s, ≤ +50 MB',
      rate >= 20_000 && run.addedMb <= 50,
    );
  }
  rmSync(dir, { recursive: true, force: true });

  const table = figures.table();
  console.log(`\n${table}`);
  writePart(
    '<!-- export -->',
    `## The organiser's export\n\nEach run in a fresh process; RSS added is the peak during the export over the process just before it.\n\n${table}`,
  );
}
