// The admin API's door and its validation, against a real agent on 127.0.0.1.
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPanelFiles } from '../../src/server/panel-files.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { tempDir } from '../helpers/temp.js';

let t: TestAgent;
let admin: string;
beforeAll(async () => {
  t = await startTestAgent();
  admin = t.agent.store.settings.token('admin_token');
});
afterAll(() => t.stop());

function call(path: string, options: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      {
        host: '127.0.0.1',
        port: t.agent.port,
        method: options.method ?? 'GET',
        path,
        headers: {
          authorization: `Bearer ${admin}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the admin API guard', () => {
  it('lets the admin token in', async () => {
    const answer = await call('/api/state');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ counts: { queued: 0 }, online: true, paused: false });
    expect(JSON.parse((await call('/api/hot-folder')).text)).toEqual({ files: [] });
  });

  it.each([
    ['no token', { authorization: '' }, 401],
    ['the ingest token', {}, 401],
    ['a foreign Host', { host: 'evil.example' }, 403],
    ['a rebinding Host on our port', { host: 'rebind.evil.example:PORT' }, 403],
    ['a cross-site Origin', { origin: 'https://evil.example' }, 403],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }, 403],
    ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }, 403],
  ])('refuses %s on every route', async (what, headers, status) => {
    const h: Record<string, string> = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k, v.replace('PORT', String(t.agent.port))]),
    );
    if (what === 'the ingest token') h.authorization = `Bearer ${t.token}`;
    for (const [method, path] of [
      ['GET', '/api/state'],
      ['GET', '/api/deliveries'],
      ['POST', '/api/pause'],
      ['POST', '/api/endpoints'],
      ['GET', '/api/stream'],
      ['GET', '/api/hot-folder'],
      ['GET', '/api/closeout'],
      ['POST', '/api/erase'],
      ['GET', '/api/sessions/any/qr.svg'],
    ] as const) {
      const answer = await call(path, { method, headers: h });
      expect(answer.status, `${method} ${path}`).toBe(status);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect(t.agent.store.settings.read().paused).toBe(false);
  });

  it('refuses the admin token on the capture API (each token opens one door)', async () => {
    const answer = await t.post('{}', { authorization: `Bearer ${admin}` });
    expect(answer.status).toBe(401);
  });
});

describe('the panel files', () => {
  it('serves the page with a strict Content-Security-Policy', async () => {
    const page = await call('/', { headers: { authorization: '' } });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.text).toContain('<script type="module" src="/js/app.js"></script>');
    expect(page.text).not.toContain(admin);
    const script = await call('/js/app.js', { headers: { authorization: '' } });
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
  });

  it('serves every module the page imports, the cards in their folder among them', async () => {
    const seen = new Set<string>();
    const pending = ['/js/app.js'];
    for (let path = pending.pop(); path !== undefined && seen.size < 100; path = pending.pop()) {
      if (seen.has(path)) continue;
      seen.add(path);
      const script = await call(path, { headers: { authorization: '' } });
      expect(script.status, path).toBe(200);
      expect(script.headers['content-type'], path).toBe('text/javascript; charset=utf-8');
      for (const [, specifier] of script.text.matchAll(/(?:from|import)\s*['"]([^'"]+)['"]/g)) {
        pending.push(new URL(specifier!, `http://panel${path}`).pathname);
      }
    }
    expect([...seen]).toContain('/js/cards/endpoints.js');
    expect([...seen]).toContain('/js/page.js');
  });

  it("lists the scripts of the scripts' folders, and only the page's own files beside them", () => {
    const page = tempDir('panel-page-');
    const scripts = tempDir('panel-scripts-');
    for (const [dir, file] of [
      [page, 'index.html'],
      [page, 'src/stray.js'],
      [scripts, 'app.js'],
      [scripts, 'cards/a.js'],
      [scripts, 'cards/more/b.js'],
      [scripts, 'cards/notes.txt'],
    ] as const) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), file);
    }
    const files = loadPanelFiles(pathToFileURL(`${page}/`), pathToFileURL(`${scripts}/`));
    expect([...files.keys()].sort()).toEqual(['/', '/index.html', '/js/app.js', '/js/cards/a.js', '/js/cards/more/b.js']);
    expect(files.get('/js/cards/more/b.js')?.body.toString()).toBe('cards/more/b.js');
  });

  it.each([
    '/js/cards',
    '/js/cards/',
    '/js/cards/../../package.json',
    '/js/cards/%2e%2e/app.js',
    '/../package.json',
    '/%2e%2e/package.json',
    '/js/../../package.json',
    '/js/%2e%2e%2f%2e%2e%2fpackage.json',
    '/js/..%2fcli.js',
    '/..%5c..%5cpackage.json',
    '/js/app.js.map',
    '/src/app.ts',
    '/renderer/index.html',
    '/outbox.db',
    '//etc/passwd',
  ])('does not serve %s', async (path) => {
    const answer = await call(path, { headers: { authorization: '' } });
    expect(answer.status).toBe(404);
    expect(answer.text).not.toContain('"version"');
    expect(answer.text).not.toContain('root:');
  });

  it('still checks the Host for the page', async () => {
    expect((await call('/', { headers: { host: 'evil.example' } })).status).toBe(403);
  });
});

describe('validation, with errors the panel can put next to a field', () => {
  it.each([
    [{ url: 'http://hooks.example.com/x' }, 'url', 'HTTPS is required'],
    [{ url: 'hooks.example.com' }, 'url', 'is not a URL'],
    [{}, 'url', 'is required'],
    [{ url: 'https://ok.example/x', types: [] }, 'types', 'choose at least one type'],
    [{ url: 'https://ok.example/x', types: ['selfie'] }, 'types.0', ''],
    [{ url: 'https://ok.example/x', colour: 'red' }, '', 'colour'],
  ])('POST /api/endpoints %j → 400 at %s', async (body, path, message) => {
    const answer = await call('/api/endpoints', { method: 'POST', body });
    expect(answer.status).toBe(400);
    const json = JSON.parse(answer.text);
    expect(json.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path, message: expect.stringContaining(message) })]));
    expect(t.agent.store.endpoints.list()).toHaveLength(0);
  });

  it('PUT /api/settings refuses a bad event id and keeps the old one, naming the field as the wire does', async () => {
    const answer = await call('/api/settings', { method: 'PUT', body: { eventId: 'seven' } });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).issues[0].path).toBe('eventId');
    expect(t.agent.store.settings.read().event_id).toBe(1);
  });

  it('PUT /api/settings changes what it names, in camelCase both ways, and nothing else', async () => {
    expect((await call('/api/settings', { method: 'PUT', body: { maxRetries: 5 } })).status).toBe(200);
    const answer = await call('/api/settings', { method: 'PUT', body: { eventId: 3, mediaUrlTemplate: 'https://cdn.example.com/{file}' } });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ eventId: 3, maxRetries: 5, mediaUrlTemplate: 'https://cdn.example.com/{file}' });
    expect(t.agent.store.settings.read()).toMatchObject({ event_id: 3, max_retries: 5 });
    expect(JSON.parse((await call('/api/state')).text).settings).toMatchObject({ eventId: 3, maxRetries: 5 });
    await call('/api/settings', { method: 'PUT', body: { eventId: 1, maxRetries: 3, mediaUrlTemplate: null } });
  });

  it('PUT /api/settings refuses a guest page template that does not parse, naming the line, and takes one that does', async () => {
    const folder = tempDir('template-');
    writeFileSync(join(folder, 'bad.hbs'), '<p>\n{{#each items}}\n</p>\n');
    const refused = await call('/api/settings', { method: 'PUT', body: { guestPageTemplate: join(folder, 'bad.hbs') } });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).issues).toEqual([{ path: 'guestPageTemplate', message: expect.stringMatching(/^line 4: Expecting /) }]);
    writeFileSync(join(folder, 'good.hbs'), '<p>{{title}}</p>\n');
    const taken = await call('/api/settings', { method: 'PUT', body: { guestPageTemplate: join(folder, 'good.hbs') } });
    expect(JSON.parse(taken.text)).toMatchObject({ guestPageTemplate: join(folder, 'good.hbs') });
    await call('/api/settings', { method: 'PUT', body: { guestPageTemplate: null } });
  });

  it("POST /api/erase takes the wire's camelCase, refuses with the field, and answers what went; GET /api/closeout says the verdict", async () => {
    const refused = await call('/api/erase', { method: 'POST', body: { email: 'jane' } });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).issues).toEqual([{ path: 'email', message: 'is not an email address' }]);
    const planned = await call('/api/erase', { method: 'POST', body: { email: 'Jane@Example.com', dryRun: true } });
    expect(planned.status).toBe(200);
    expect(JSON.parse(planned.text)).toMatchObject({
      dryRun: true,
      kind: 'email',
      counts: { undeliveredDropped: 0, responseSnippets: 0 },
      events: [],
      alreadySent: [],
      auditId: null,
    });
    const report = await call('/api/closeout?event=1');
    expect(report.status).toBe(200);
    expect(JSON.parse(report.text)).toMatchObject({ eventId: 1, safe: true, verdict: 'safe to pack up: nothing to deliver', advice: [] });
    expect((await call('/api/closeout?event=x')).status).toBe(400);
    expect(JSON.parse((await call('/api/state')).text).closeout).toEqual({
      counts: { queued: 0, waiting: 0, delivered: 0, failed: 0 },
      unsent: 0,
      media: { files: 0, bytes: 0, pages: 0, galleries: 0 },
      safe: true,
      verdict: 'safe to pack up: nothing to deliver',
    });
  });

  it('GET /api/deliveries refuses an unknown status', async () => {
    const answer = await call('/api/deliveries?status=lost');
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).issues[0].path).toBe('status');
  });

  it('adds, edits, rotates and removes an endpoint; the secret is only in the reveal route', async () => {
    const added = JSON.parse(
      (await call('/api/endpoints', { method: 'POST', body: { url: 'https://hooks.example.com/a', types: ['share'] } })).text,
    );
    expect(added).toMatchObject({ url: 'https://hooks.example.com/a', types: ['share'], secret: expect.stringMatching(/^whsec_/) });
    const state = (await call('/api/state')).text;
    expect(state).not.toContain(added.secret);
    const edited = JSON.parse(
      (await call(`/api/endpoints/${added.id}`, { method: 'PATCH', body: { types: null, strictOrder: true, enabled: false } })).text,
    );
    expect(edited).toMatchObject({ types: null, strictOrder: true, enabled: false });
    const rotated = JSON.parse((await call(`/api/endpoints/${added.id}/rotate-secret`, { method: 'POST' })).text);
    expect(rotated.secret).not.toBe(added.secret);
    expect(JSON.parse((await call(`/api/endpoints/${added.id}/secret`)).text)).toEqual({
      secret: rotated.secret,
      previousSecret: added.secret,
    });
    expect((await call(`/api/endpoints/${added.id}/confirm-rotation`, { method: 'POST' })).status).toBe(200);
    expect((await call(`/api/endpoints/${added.id}/confirm-rotation`, { method: 'POST' })).status).toBe(409);
    expect(JSON.parse((await call(`/api/endpoints/${added.id}`, { method: 'DELETE' })).text)).toEqual({
      removed: added.id,
      undeliveredDropped: 0,
    });
    expect((await call(`/api/endpoints/${added.id}/secret`)).status).toBe(404);
  });
});
