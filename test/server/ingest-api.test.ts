// The capture API under hostile and buggy input: each status code of docs/capture-api.md, and
// nothing but valid events in the outbox afterwards.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractExamples } from '../helpers/contract.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { VERSION } from '../../src/version.js';

let t: TestAgent;
beforeAll(async () => {
  t = await startTestAgent({ event_id: null });
});
afterAll(() => t.stop());

const eventCount = () => t.agent.store.db.prepare('SELECT COUNT(*) FROM events').pluck().get() as number;

/** A raw request, so that Host and Content-Type can be anything a hostile client sends. */
function raw(options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }) {
  return new Promise<{ status: number; headers: Record<string, unknown>; json: any }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: t.agent.port, method: options.method ?? 'POST', path: options.path, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? JSON.parse(text) : null });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const example = (type: string, extra: Record<string, unknown> = {}) => JSON.stringify({ ...JSON.parse(contractExamples[type]!), ...extra });

describe('GET /healthz', () => {
  it('answers without a token', async () => {
    expect(await raw({ method: 'GET', path: '/healthz' })).toMatchObject({ status: 200, json: { ok: true, version: VERSION } });
  });
});

describe('refusals', () => {
  it.each([
    ['a foreign Host (DNS rebinding)', { host: `evil.example:${0}` }],
    ['a look-alike Host', { host: 'localhost.evil.example' }],
    ['the right name on another port', { host: '127.0.0.1:1' }],
  ])('403 for %s, even on /healthz and with a valid token', async (_what, headers) => {
    const before = eventCount();
    for (const path of ['/healthz', '/v1/events']) {
      const answer = await raw({
        path,
        headers: { ...headers, authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
        body: example('session'),
      });
      expect(answer.status).toBe(403);
      expect(answer.json.error).toContain('Host header');
    }
    expect(eventCount()).toBe(before);
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token' }],
    ['a token with another scheme', { authorization: `Basic ${Buffer.from(`x:${'y'}`).toString('base64')}` }],
  ])('401 for %s', async (_what, headers) => {
    const before = eventCount();
    const answer = await t.post(example('session'), { authorization: '', ...headers });
    expect(answer.status).toBe(401);
    expect(answer.json.error).toContain('ingest token');
    expect(eventCount()).toBe(before);
  });

  it('401 for a wrong token in the path, and no hint of the real one', async () => {
    const answer = await t.post(example('session'), { authorization: '' }, '/t/guess/v1/events');
    expect(answer.status).toBe(401);
    expect(JSON.stringify(answer.json)).not.toContain(t.token);
  });

  it('401 comes before reading an oversized body', async () => {
    const answer = await t.post('x'.repeat(300 * 1024), { authorization: '' });
    expect(answer.status).toBe(401);
  });

  it('413 over 256 KiB', async () => {
    const before = eventCount();
    const big = example('session', { event_id: 1, padding: 'x'.repeat(256 * 1024) });
    const answer = await t.post(big);
    expect(answer.status).toBe(413);
    expect(answer.json.error).toContain('256 KiB');
    expect(eventCount()).toBe(before);
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['json-ish', 'application/jsonp'],
  ])('415 for %s', async (_what, type) => {
    const before = eventCount();
    const answer = await t.post(example('session', { event_id: 1 }), { 'content-type': type });
    expect(answer.status).toBe(415);
    expect(answer.json.error).toContain('Content-Type: application/json');
    expect(eventCount()).toBe(before);
  });

  it('415 for no Content-Type at all', async () => {
    const answer = await raw({
      path: '/v1/events',
      headers: { host: `127.0.0.1:${t.agent.port}`, authorization: `Bearer ${t.token}` },
      body: example('session'),
    });
    expect(answer.status).toBe(415);
  });

  it.each([
    ['broken JSON', '{"type":"session",', 'not valid JSON'],
    ['an empty body', '', 'empty'],
    ['a JSON array', '[]', 'must be a JSON object'],
    ['a JSON string', '"session"', 'must be a JSON object'],
  ])('400 for %s', async (_what, body, message) => {
    const before = eventCount();
    const answer = await t.post(body);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.json)).toContain(message);
    expect(eventCount()).toBe(before);
  });

  it('400 for bytes that are not UTF-8', async () => {
    const body = Buffer.concat([Buffer.from('{"type":"session","x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const answer = await t.post(body);
    expect(answer).toMatchObject({ status: 400, json: { error: 'the body is not valid UTF-8 text' } });
  });

  it('400 with every issue and its path', async () => {
    const payload = JSON.parse(example('share', { event_id: 1 }));
    payload.session.type = 'photo';
    payload.share.type = 'fax';
    delete payload.session.site_url;
    const answer = await t.post(JSON.stringify(payload));
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      error: 'the payload does not match the schema',
      issues: expect.arrayContaining([
        { path: 'session.site_url', message: 'is required' },
        { path: 'session.type', message: 'must be one of still, gif, video, ai' },
        { path: 'share.type', message: 'must be one of email, sms' },
      ]),
    });
    expect(answer.json.issues).toHaveLength(3);
  });

  it('400 naming event_id when the payload has none and no event is configured', async () => {
    const payload = JSON.parse(example('session'));
    delete payload.event_id;
    const answer = await t.post(JSON.stringify(payload));
    expect(answer.status).toBe(400);
    expect(answer.json.issues).toEqual([{ path: 'event_id', message: expect.stringContaining('config set event_id') }]);
  });

  it('400 for a malformed Idempotency-Key', async () => {
    const answer = await t.post(example('session', { session: { ...JSON.parse(example('session')).session, id: 'idem-bad' } }), {
      'idempotency-key': 'has spaces in it',
    });
    expect(answer.status).toBe(400);
    expect(answer.json.issues[0].path).toBe('Idempotency-Key');
  });

  it('404 for an unknown route, without echoing a path token', async () => {
    const answer = await t.post('{}', {}, `/t/${t.token}/v2/events`);
    expect(answer.status).toBe(404);
    expect(JSON.stringify(answer.json)).not.toContain(t.token);
  });

  it('sends no CORS headers, even to a browser asking', async () => {
    const answer = await raw({
      method: 'OPTIONS',
      path: '/v1/events',
      headers: { host: `127.0.0.1:${t.agent.port}`, origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(answer.status).toBeGreaterThanOrEqual(400);
  });
});

describe('acceptance and idempotency', () => {
  it('202 with a bearer token and with the token in the path', async () => {
    const viaHeader = await t.post(example('survey', { event_id: 3 }));
    expect(viaHeader).toEqual({ status: 202, json: { id: expect.stringMatching(/^evt_[0-9A-Z]{26}$/), deliveries: 0 } });
    const viaPath = await t.post(example('competition_win', { event_id: 3 }), { authorization: '' }, `/t/${t.token}/v1/events`);
    expect(viaPath.status).toBe(202);
  });

  it('the same natural key returns 200 with the first id and stores nothing new', async () => {
    const body = example('share', { event_id: 9 });
    const first = await t.post(body);
    const before = eventCount();
    const again = await t.post(body);
    expect(first.status).toBe(202);
    expect(again).toEqual({ status: 200, json: { id: first.json.id, deliveries: 0, duplicate: true } });
    expect(eventCount()).toBe(before);
  });

  it('the same Idempotency-Key returns the first event even for a different body', async () => {
    const a = await t.post(example('session', { event_id: 1, session: { ...JSON.parse(example('session')).session, id: 'k1' } }), {
      'idempotency-key': 'booth-42-seq-7',
    });
    const b = await t.post(example('session', { event_id: 1, session: { ...JSON.parse(example('session')).session, id: 'k2' } }), {
      'idempotency-key': 'booth-42-seq-7',
    });
    expect(a.status).toBe(202);
    expect(b).toMatchObject({ status: 200, json: { id: a.json.id } });
  });

  it('keeps only validated events: every stored body parses and matches the schema', async () => {
    const { validatePayload } = await import('../../src/core/payload.js');
    const bodies = t.agent.store.db.prepare('SELECT body FROM events').pluck().all() as Buffer[];
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) {
      const parsed = JSON.parse(body.toString('utf8'));
      expect(validatePayload(parsed).ok).toBe(true);
      expect(typeof parsed.event_id).toBe('number');
      expect(typeof parsed.timestamp).toBe('string');
    }
  });
});
