// The body formats (docs/webhooks.md, "Formats") against a real HTTPS receiver: a flat
// endpoint gets every contract example with exactly the documented keys, signed both ways
// over the bytes it got; a chat endpoint gets {"text"}, also signed; Verify and the panel's
// delivery detail use the endpoint's format; a change of format reaches what is queued;
// and the Google Sheets recipe of docs/receivers.md turns the flat bodies into rows.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYLOAD_TYPES } from '../../src/core/payload.js';
import type { Endpoint } from '../../src/store/endpoints.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { chatLines, contractExamples, flatFormat } from '../helpers/contract.js';
import { startReceiver, type Received, type Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait.js';

let t: TestAgent;
let receiver: Receiver;
let flat: Endpoint;
let chat: Endpoint;
beforeAll(async () => {
  receiver = await startReceiver();
  t = await startTestAgent();
  flat = t.addEndpoint(`${receiver.url}/flat`, { ca: receiver.certificate.cert, format: 'flat' });
  chat = t.addEndpoint(`${receiver.url}/chat`, { ca: receiver.certificate.cert, format: 'chat', types: ['session', 'competition_win'] });
});
afterAll(async () => {
  await t.stop();
  await receiver.close();
});

function call(path: string, method = 'GET', body?: unknown): Promise<{ status: number; json: any }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: t.agent.port,
        method,
        path,
        headers: {
          authorization: `Bearer ${t.agent.store.settings.token('admin_token')}`,
          ...(text ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let answer = '';
        res.on('data', (chunk) => (answer += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: answer ? JSON.parse(answer) : null }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const at = (path: string) => receiver.requests.filter((r) => r.path === `/hook/${path}`);

/** Both signatures check out over the bytes received, with the endpoint's secret. */
function expectSigned(received: Received, secret: string): void {
  const hmac = createHmac('sha256', secret).update(received.body).digest();
  expect(timingSafeEqual(Buffer.from(String(received.headers['x-signature']), 'hex'), hmac)).toBe(true);
  const verified = new Webhook(secret.slice('whsec_'.length)).verify(received.body.toString('utf8'), {
    'webhook-id': String(received.headers['webhook-id']),
    'webhook-timestamp': String(received.headers['webhook-timestamp']),
    'webhook-signature': String(received.headers['webhook-signature']),
  });
  expect(verified).toEqual(JSON.parse(received.body.toString('utf8')));
}

const titles = (payload: any): string[] =>
  (payload.type === 'survey' ? payload.survey.data_capture : (payload.data_capture ?? { sections: [] })).sections.flatMap(
    (s: { fields: { field_title: string }[] }) => s.fields.map((f) => f.field_title),
  );

/** A share whose guest typed what a spreadsheet would take for a formula. */
const formulaShare = JSON.stringify({
  type: 'share',
  session: { id: 'f1', direct_url: 'https://cdn.example.com/f1.jpg', site_url: 'https://photos.example.com/f1', type: 'still' },
  share: { id: 'share-f1', type: 'sms', value: '+33 6 12 34 56 78' },
  data_capture: {
    sections: [
      {
        title: 'You',
        position: 0,
        fields: [{ field_id: 'n', field_title: 'Name', field_type: 'text', value: '=HYPERLINK("x")', required: true }],
      },
    ],
  },
});

describe('flat', () => {
  it('every contract example arrives with exactly the documented keys, signed both ways over the flat bytes', async () => {
    for (const type of PAYLOAD_TYPES) expect((await t.post(contractExamples[type]!)).status).toBe(202);
    await waitFor('four flat deliveries', () => at('flat').length === 4);
    for (const received of at('flat')) {
      expectSigned(received, flat.secret);
      const text = received.body.toString('utf8');
      const body = JSON.parse(text);
      const example = JSON.parse(contractExamples[body.type]!);
      expect(Object.keys(body)).toEqual([...flatFormat[body.type]!.keys, ...titles(example)]);
      expect(body).toMatchObject({ type: example.type, event_id: 1, session_id: example.session.id, timestamp: expect.any(String) });
      expect(Object.values(body).every((value) => value === null || typeof value !== 'object')).toBe(true);
      expect(received.headers['content-type']).toBe('application/json');
    }
  });

  it('the delivery detail shows the body and the signatures as they were sent', async () => {
    const received = at('flat').find((r) => JSON.parse(r.body.toString()).type === 'share')!;
    const id = String(received.headers['webhook-id']);
    await waitFor('delivered', () => t.agent.store.views.get(id)?.status === 'delivered');
    const detail = await call(`/api/deliveries/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.json.payload).toBe(received.body.toString('utf8'));
    for (const header of ['x-signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      expect([header, detail.json.requestHeaders[header]]).toEqual([header, received.headers[header]]);
    }
  });
});

describe('chat', () => {
  it('gets {"text"} with the documented line, signed both ways', async () => {
    await waitFor('two chat deliveries', () => at('chat').length === 2);
    const lines = at('chat').map((received) => {
      expectSigned(received, chat.secret);
      const body = JSON.parse(received.body.toString('utf8'));
      expect(Object.keys(body)).toEqual(['text']);
      return body.text;
    });
    expect(lines.sort()).toEqual([chatLines.session, chatLines.competition_win].sort());
  });

  it('Verify sends its body in the chat format, signed', async () => {
    const before = at('chat').length;
    const report = await call(`/api/endpoints/${chat.id}/verify`, 'POST');
    expect(report).toMatchObject({ status: 200, json: { ok: true, status: 200 } });
    const received = at('chat')[before]!;
    expect(JSON.parse(received.body.toString('utf8'))).toEqual({ text: chatLines.Verify });
    expectSigned(received, chat.secret);
  });
});

describe('a change of format', () => {
  it('applies to the deliveries still queued', async () => {
    expect((await call('/api/pause', 'POST')).status).toBe(200);
    const session = JSON.parse(contractExamples.session!);
    session.session.id = 'queued-while-paused';
    expect((await t.post(JSON.stringify(session))).json.deliveries).toBe(2);
    const before = at('chat').length;
    expect((await call(`/api/endpoints/${chat.id}`, 'PATCH', { format: 'flat' })).status).toBe(200);
    expect((await call('/api/resume', 'POST')).status).toBe(200);
    const received = await waitFor('the queued delivery', () => at('chat')[before]);
    expectSigned(received, chat.secret);
    expect(Object.keys(JSON.parse(received.body.toString('utf8')))).toEqual(flatFormat.session!.keys);
  });
});

describe('the Google Sheets recipe of docs/receivers.md', () => {
  /** Just enough of Apps Script's Sheets, Lock and Content services: cells as written, read back as shown. */
  function appsScript() {
    const cells: unknown[][] = [];
    const shown = (value: unknown) => (typeof value === 'string' && value.startsWith("'") ? value.slice(1) : value);
    const sheet = {
      getLastColumn: () => Math.max(0, ...cells.map((row) => row.length)),
      getRange: (row: number, column: number, rows: number, columns: number) => {
        if (rows < 1 || columns < 1) throw new Error('The number of rows and columns in the range must be at least 1.');
        return {
          getValues: () =>
            Array.from({ length: rows }, (_, i) =>
              Array.from({ length: columns }, (_, j) => shown(cells[row - 1 + i]?.[column - 1 + j] ?? '')),
            ),
          setValues: (values: unknown[][]) =>
            values.forEach((line, i) => line.forEach((value, j) => ((cells[row - 1 + i] ??= [])[column - 1 + j] = value))),
        };
      },
      appendRow: (values: unknown[]) => cells.push(values),
    };
    const sheets = new Map<string, typeof sheet>();
    const services = {
      SpreadsheetApp: {
        getActiveSpreadsheet: () => ({
          getSheetByName: (name: string) => sheets.get(name) ?? null,
          insertSheet: (name: string) => (sheets.set(name, sheet), sheet),
        }),
      },
      LockService: { getScriptLock: () => ({ waitLock: () => undefined }) },
      ContentService: { createTextOutput: (text: string) => ({ text }) },
    };
    const recipe = /```javascript apps-script\n([\s\S]*?)```/.exec(
      readFileSync(new URL('../../docs/receivers.md', import.meta.url), 'utf8'),
    )![1]!;
    const doPost = new Function(...Object.keys(services), `${recipe}\nreturn doPost;`)(...Object.values(services));
    return { cells, doPost: (body: Buffer) => doPost({ postData: { contents: body.toString('utf8') } }) };
  }

  it('appends each flat delivery as a row under headers it adds as new keys arrive, formulas defused', async () => {
    expect((await t.post(formulaShare)).status).toBe(202);
    await waitFor('the formula share', () => at('flat').some((r) => r.body.includes('"f1"')));
    const bodies = at('flat').map((r) => ({ body: r.body, parsed: JSON.parse(r.body.toString('utf8')) }));
    expect(new Set(bodies.map(({ parsed }) => parsed.type))).toEqual(new Set(PAYLOAD_TYPES));
    const sheet = appsScript();
    for (const { body } of bodies) expect(sheet.doPost(body)).toEqual({ text: 'ok' });

    const headers = [...new Set(bodies.flatMap(({ parsed }) => Object.keys(parsed)))];
    expect(sheet.cells[0]).toEqual(headers);
    expect(sheet.cells).toHaveLength(1 + bodies.length);
    const known: string[] = [];
    bodies.forEach(({ parsed }, i) => {
      known.push(...Object.keys(parsed).filter((key) => !known.includes(key)));
      // A row has a cell for every header there was when it arrived.
      const row = sheet.cells[1 + i]!;
      expect(row).toHaveLength(known.length);
      expect(row[headers.indexOf('type')]).toBe(parsed.type);
      expect(row[headers.indexOf('event_id')]).toBe(1);
      if (parsed.session_id === 'f1') return;
      for (const [key, value] of Object.entries(parsed)) expect([key, row[headers.indexOf(key)]]).toEqual([key, value ?? '']);
    });
    const formula = sheet.cells[1 + bodies.findIndex(({ parsed }) => parsed.session_id === 'f1')]!;
    expect(formula[headers.indexOf('Name')]).toBe(`'=HYPERLINK("x")`);
    expect(formula[headers.indexOf('share_value')]).toBe(`'+33 6 12 34 56 78`);
    expect(formula[headers.indexOf('prize_win_valid')]).toBe('');
  });
});
