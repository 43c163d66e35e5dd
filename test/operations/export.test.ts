// The organiser's export, on a real outbox file of 10,000 events written to real files:
// every value comes back through a CSV parser as it was captured (commas, quotes, line
// breaks, any script), formulas are defused, JSON lines carry each body as it was sent,
// and the filters pick what they say.
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse/sync';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PayloadType } from '../../src/core/payload.js';
import { Refusal, type OperationContext } from '../../src/operations/context.js';
import { addEndpoint } from '../../src/operations/endpoints.js';
import { exportEvents } from '../../src/operations/export.js';
import { openStore } from '../../src/store/store.js';
import { tempDir } from '../helpers/temp.js';
import { field } from '../helpers/contract.js';

const START = Date.parse('2026-06-01T08:00:00Z');
/** The storage's secret: never in an export, whatever the format. */
const STORAGE_SECRET = 'export-test-storage-secret-Zq81';
const EVENTS = 10_000;
const INJECTION = '=HYPERLINK("http://evil","x")';
const TYPES: PayloadType[] = ['session', 'share', 'survey', 'competition_win'];

const dir = tempDir('export-');
const lines: Record<string, unknown>[] = [];
const ctx: OperationContext = {
  store: openStore(join(dir, 'outbox.db')),
  log: pino(
    { base: null },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    }),
  ),
  wake: () => {},
  livePort: () => null,
  sender: () => {
    throw new Error('no request is made in these tests');
  },
  owner: 'test:export',
  now: () => START + EVENTS * 1000,
};

/** What the guest typed, with everything a CSV must survive. */
const guest = (i: number) => (i % 500 === 7 ? INJECTION : `Guest ${i}, "the ${i}th"\nZoë – 日本語 🎉`);
const session = (i: number) => ({
  id: `s-${i}`,
  direct_url: `https://cdn.example.com/${i}.jpg`,
  site_url: `https://photos.example.com/${i}`,
  type: 'still',
});

function payload(i: number): Record<string, unknown> {
  const type = TYPES[i % 4]!;
  const common = { type, event_id: i < EVENTS / 2 ? 1 : 2, session: session(i), timestamp: new Date(START + i * 1000).toISOString() };
  const contact = {
    sections: [
      { title: 'Contact', position: 0, fields: [field('email_1', 'Email', `g${i}@example.com`), field('name_1', 'Name', guest(i))] },
    ],
  };
  switch (type) {
    case 'session':
      return common;
    case 'share':
      return { ...common, share: { id: `sh-${i}`, type: 'email', value: `g${i}@example.com` }, data_capture: contact };
    case 'survey':
      return {
        ...common,
        survey: {
          completed_at: common.timestamp,
          data_capture: {
            sections: [
              {
                title: 'Feedback',
                position: 0,
                fields: [field('email_2', 'Email', `s${i}@example.com`), field('text_1', 'Comments', guest(i))],
              },
            ],
          },
        },
      };
    default:
      return {
        ...common,
        competition: { id: 1, type: 'scratch' },
        prize_win: {
          id: `w${i}`,
          uuid: `u-${i}`,
          win_id: `W${i}`,
          date: common.timestamp,
          valid: true,
          win_image_qr_url: 'https://cdn.example.com/qr.png',
        },
        prize: {
          id: 1,
          name: 'Free Coffee, "large"',
          winning_text: 'Yes',
          image_url: 'https://cdn.example.com/p.png',
          winning_image_url: 'https://cdn.example.com/w.png',
        },
        winner: { type: 'email', value: `w${i}@example.com` },
        data_capture: contact,
      };
  }
}

/** Bodies as stored: pretty-printed now and then, as some booth programs send them. */
const bodies = Array.from({ length: EVENTS }, (_, i) => JSON.stringify(payload(i), null, i % 10 === 0 ? 2 : undefined));
let first: { id: string; url: string };
let second: { id: string; url: string };

beforeAll(() => {
  first = addEndpoint(ctx, { url: 'https://crm.example.com/hook' });
  const { store } = ctx;
  store.db.transaction(() => {
    bodies.forEach((body, i) => {
      store.queue.capture(
        { type: TYPES[i % 4]!, body: Buffer.from(body), dedupeKey: null, occurredAt: '', sessionId: `s-${i}` },
        START + i * 1000,
        1000,
      );
    });
  })();
  // The first 100 are delivered, the first with a retry.
  for (const claim of store.queue.claim(first.id, 'run:x', ctx.now(), 60_000, 100, false)) {
    const attempt = { startedAt: START, durationMs: 5, outcome: 'answered' as const, error: null, responseHead: null };
    if (claim.seq === 1) {
      store.queue.settle(
        claim,
        'run:x',
        { ...attempt, statusCode: 500 },
        { status: 'queued', reason: 'HTTP 500', nextAttemptAt: ctx.now(), usesAttempt: true },
        START,
      );
      store.queue.settle(
        store.queue.claim(first.id, 'run:x', ctx.now(), 60_000, 1, true)[0]!,
        'run:x',
        { ...attempt, statusCode: 200 },
        { status: 'delivered', reason: 'ok' },
        START + 2000,
      );
    } else {
      store.queue.settle(claim, 'run:x', { ...attempt, statusCode: 200 }, { status: 'delivered', reason: 'ok' }, START + 2000);
    }
  }
  second = addEndpoint(ctx, { url: 'https://sheet.example.com/exec?a=1,b', types: ['share'] });
  // Sessions 0, 4 and 8 have a photo: uploaded, waiting, erased.
  const addMedia = store.db.prepare(`
    INSERT INTO media (id, session_id, event_id, name, local_path, size, sha256, content_type, key, status, next_attempt_at, created_at, erased_at)
    SELECT ?, session_id, id, 'p.jpg', '/x/p.jpg', ?, 'aa', 'image/jpeg', ?, ?, 0, 0, ? FROM events WHERE session_id = ?`);
  addMedia.run('med_0', 1000, 'booths/1/s-0/p.jpg', 'uploaded', null, 's-0');
  addMedia.run('med_4', 4000, 'booths/1/s-4/p.jpg', 'waiting', null, 's-4');
  addMedia.run('med_8', 8000, null, 'failed', START, 's-8');
  store.storage.set(
    {
      url: 'https://s3.example.com',
      region: 'us-east-1',
      bucket: 'photos',
      prefix: 'booths/',
      accessKeyId: 'AKIAEXPORTTEST',
      secretAccessKey: STORAGE_SECRET,
      publicUrl: null,
      pathStyle: false,
      ca: null,
    },
    START,
  );
  // A Send Test event is never the organiser's data.
  store.queue.capture(
    {
      type: 'share',
      body: Buffer.from(bodies[1]!),
      dedupeKey: null,
      occurredAt: '',
      sessionId: 'test',
      test: true,
      onlyEndpoint: second.id,
    },
    START + EVENTS * 1000,
    1000,
  );
}, 60_000);

async function exportToFile(input: Record<string, unknown>): Promise<{ text: string; raw: Buffer; chunks: number; rows: number }> {
  const download = exportEvents(ctx, input);
  const file = join(dir, download.filename);
  let chunks = 0;
  download.stream.on('data', () => chunks++);
  await pipeline(download.stream, createWriteStream(file));
  const raw = readFileSync(file);
  return { text: raw.toString('utf8'), raw, chunks, rows: download.rows() };
}

function csvRows(text: string): Record<string, string>[] {
  return parse(text, { bom: true, columns: true }) as Record<string, string>[];
}

describe('export as CSV', () => {
  it('writes every captured event, in order, with each value intact and formulas defused', async () => {
    const { raw, text, chunks, rows: written } = await exportToFile({ format: 'csv' });
    expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(text.split('\r\n').length).toBeGreaterThan(EVENTS);
    expect(chunks).toBeGreaterThan(10);
    expect(written).toBe(EVENTS);

    const header = (parse(text, { bom: true, to_line: 1 }) as string[][])[0];
    expect(header).toEqual([
      'captured_at',
      'type',
      'event_id',
      'session_id',
      'session_type',
      'direct_url',
      'site_url',
      'media_key',
      'media_status',
      'media_bytes',
      'share_type',
      'share_value',
      'winner_type',
      'winner_value',
      'prize_name',
      'Email (email_1)',
      'Name',
      'Email (email_2)',
      'Comments',
      ...['status', 'attempts', 'last HTTP status', 'delivered_at'].map((c) => `https://crm.example.com/hook ${c}`),
      ...['status', 'attempts', 'last HTTP status', 'delivered_at'].map((c) => `https://sheet.example.com/exec?a=1,b ${c}`),
    ]);

    const rows = csvRows(text);
    expect(rows).toHaveLength(EVENTS);
    const crm = 'https://crm.example.com/hook';
    rows.forEach((row, i) => {
      const p = payload(i) as any;
      const typed = guest(i) === INJECTION ? `'${INJECTION}` : guest(i);
      expect(row.captured_at).toBe(new Date(START + i * 1000).toISOString());
      expect(row.type).toBe(p.type);
      expect(row.event_id).toBe(String(p.event_id));
      expect(row.session_id).toBe(`s-${i}`);
      expect(row.site_url).toBe(`https://photos.example.com/${i}`);
      expect([row.media_key, row.media_status, row.media_bytes]).toEqual(
        i === 0
          ? ['booths/1/s-0/p.jpg', 'uploaded', '1000']
          : i === 4
            ? ['booths/1/s-4/p.jpg', 'waiting', '4000']
            : i === 8
              ? ['', 'erased', '8000']
              : ['', '', ''],
      );
      expect(row['Name']).toBe(p.type === 'share' || p.type === 'competition_win' ? typed : '');
      expect(row['Comments']).toBe(p.type === 'survey' ? typed : '');
      expect(row['Email (email_2)']).toBe(p.type === 'survey' ? `s${i}@example.com` : '');
      expect(row.share_value).toBe(p.type === 'share' ? `g${i}@example.com` : '');
      expect(row.prize_name).toBe(p.type === 'competition_win' ? 'Free Coffee, "large"' : '');
      expect(row[`${crm} status`]).toBe(i < 100 ? 'delivered' : 'queued');
      expect(row[`${crm} attempts`]).toBe(i === 0 ? '2' : i < 100 ? '1' : '0');
      expect(row[`${crm} last HTTP status`]).toBe(i < 100 ? '200' : '');
      expect(row[`${crm} delivered_at`]).toBe(i < 100 ? new Date(START + 2000).toISOString() : '');
      expect(row['https://sheet.example.com/exec?a=1,b status']).toBe('');
    });
    expect(rows.filter((r) => r['Name'] === `'${INJECTION}`).length).toBeGreaterThan(0);
    expect(text).not.toMatch(/(^|,)=HYPERLINK/m);
    expect(text).not.toContain(STORAGE_SECRET);
    expect(lines.at(-1)).toMatchObject({ msg: 'events exported', format: 'csv', rows: EVENTS, complete: true, by: 'operator' });
  });

  it('picks by capture time, type and the organiser event id', async () => {
    const since = new Date(START + 1000 * 1000).toISOString();
    const until = new Date(START + 2000 * 1000).toISOString();
    const ranged = csvRows((await exportToFile({ since, until })).text);
    expect(ranged.map((r) => r.session_id)).toEqual(Array.from({ length: 1000 }, (_, i) => `s-${1000 + i}`));

    const typed = csvRows((await exportToFile({ types: ['survey', 'share'] })).text);
    expect(typed).toHaveLength(EVENTS / 2);
    expect(new Set(typed.map((r) => r.type))).toEqual(new Set(['survey', 'share']));

    const { text } = await exportToFile({ event: '2', types: ['session'], until });
    expect(csvRows(text)).toEqual([]);
    const second = csvRows((await exportToFile({ event: 2, types: ['session'] })).text);
    expect(second).toHaveLength(EVENTS / 8);
    expect(second.every((r) => r.event_id === '2' && r.type === 'session')).toBe(true);
    // Sessions carry no form: their columns are not there.
    expect(Object.keys(second[0]!)).not.toContain('Name');
  });
});

describe('export as JSON lines', () => {
  it('carries each body as it was sent, with its deliveries', async () => {
    const { text, rows } = await exportToFile({ format: 'jsonl' });
    const records = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(records).toHaveLength(EVENTS);
    expect(rows).toBe(EVENTS);
    records.forEach((record, i) => {
      expect(record.payload).toEqual(JSON.parse(bodies[i]!));
      expect(record.capturedAt).toBe(new Date(START + i * 1000).toISOString());
    });
    expect(records.slice(0, 9).map((r) => [r.media_key, r.media_status, r.media_bytes])).toEqual([
      ['booths/1/s-0/p.jpg', 'uploaded', 1000],
      ...Array.from({ length: 3 }, () => [null, null, null]),
      ['booths/1/s-4/p.jpg', 'waiting', 4000],
      ...Array.from({ length: 3 }, () => [null, null, null]),
      [null, 'erased', 8000],
    ]);
    expect(text).not.toContain(STORAGE_SECRET);
    expect(records[0].deliveries).toEqual([
      {
        endpointId: first.id,
        url: first.url,
        status: 'delivered',
        attempts: 2,
        lastStatus: 200,
        deliveredAt: new Date(START + 2000).toISOString(),
      },
    ]);
    expect(records[500].deliveries).toEqual([
      { endpointId: first.id, url: first.url, status: 'queued', attempts: 0, lastStatus: null, deliveredAt: null },
    ]);
  });
});

describe('export refusals', () => {
  it.each([
    [{ since: 'yesterday' }, 'since'],
    [{ until: '2026-02-30' }, 'until'],
    [{ since: '2026-06-02', until: '2026-06-01' }, 'until'],
    [{ event: 'one' }, 'event'],
    [{ event: -1 }, 'event'],
    [{ types: ['selfie'] }, 'types.0'],
    [{ format: 'xlsx' }, 'format'],
    [{ colour: 'red' }, ''],
  ])('%j, naming %s', (input, path) => {
    const before = lines.length;
    let refused: unknown;
    try {
      exportEvents(ctx, input);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(Refusal);
    expect((refused as Refusal).issues.map((i) => i.path)).toContain(path);
    expect(lines.length).toBe(before);
  });
});
