// Each operator action, called as every front door calls it: it validates its input,
// changes the outbox, writes one log line, and wakes the delivery loop — or refuses,
// naming what is wrong, and changes nothing.
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Refusal, type OperationContext } from '../../src/operations/context.js';
import { refusal } from '../helpers/refusal.js';
import { retryAllFailed, retryDelivery, setPaused } from '../../src/operations/deliveries.js';
import {
  addEndpoint,
  confirmRotation,
  editEndpoint,
  removeEndpoint,
  revealSecret,
  rotateSecret,
  setEndpointEnabled,
} from '../../src/operations/endpoints.js';
import { replayToEndpoint } from '../../src/operations/replay.js';
import { closeout } from '../../src/operations/closeout.js';
import { eraseGuest } from '../../src/operations/erase.js';
import { changeSettings, rotateIngestToken } from '../../src/operations/settings.js';
import { summarize } from '../../src/store/store.js';
import { agentUrls } from '../../src/operations/urls.js';
import { openStore } from '../../src/store/store.js';
import { publicEndpoint } from '../../src/store/endpoints.js';
import { keyedBox } from '../../src/store/secret-box.js';
import { tempDir } from '../helpers/temp.js';
import { readFileSync } from 'node:fs';
import { startReceiver } from '../helpers/receiver.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');

function context(port: number | null = null) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  let wakes = 0;
  const ctx: OperationContext = {
    store: openStore(join(tempDir('ops-'), 'outbox.db')),
    log: pino({ base: null }, sink),
    wake: () => wakes++,
    livePort: () => port,
    sender: () => {
      throw new Error('no request is made in these tests');
    },
    owner: 'test:ops',
    now: () => NOW,
  };
  return { ctx, lines, wakes: () => wakes };
}

async function refusedAsync(work: () => Promise<unknown>): Promise<Refusal> {
  const error: unknown = await work().then(
    () => new Error('expected a refusal'),
    (thrown: unknown) => thrown,
  );
  if (error instanceof Refusal) return error;
  throw error;
}

describe('endpoint operations', () => {
  it('add, edit, disable, enable, rotate, confirm and remove: each logged once, each waking the loop', () => {
    const { ctx, lines, wakes } = context();
    const added = addEndpoint(ctx, { url: 'https://hooks.example.com/a', types: ['share', 'share'] });
    expect(added).toMatchObject({
      url: 'https://hooks.example.com/a',
      types: ['share'],
      strictOrder: false,
      hasCa: false,
      secret: expect.stringMatching(/^whsec_/),
    });
    expect(editEndpoint(ctx, added.id, { url: 'https://hooks.example.com/b', strictOrder: true })).toMatchObject({
      url: 'https://hooks.example.com/b',
      strictOrder: true,
    });
    expect(editEndpoint(ctx, added.id, { enabled: false })).toMatchObject({ enabled: false, disabledReason: 'disabled by the operator' });
    expect(setEndpointEnabled(ctx, added.id, true)).toMatchObject({ enabled: true, disabledReason: null });
    const rotated = rotateSecret(ctx, added.id);
    expect(rotated.secret).not.toBe(added.secret);
    expect(ctx.store.endpoints.get(added.id)).toMatchObject({
      secret: rotated.secret,
      previousSecret: added.secret,
      previousSecretUntil: NOW + 24 * 3_600_000,
    });
    expect(revealSecret(ctx, added.id)).toEqual({ secret: rotated.secret, previousSecret: added.secret });
    expect(confirmRotation(ctx, added.id)).toMatchObject({ rotationPending: false });
    expect(revealSecret(ctx, added.id)).toEqual({ secret: rotated.secret, previousSecret: null });
    expect(removeEndpoint(ctx, added.id)).toEqual({ removed: added.id, undeliveredDropped: 0 });

    expect(lines.map((l) => l.msg)).toEqual([
      'endpoint added',
      'endpoint changed',
      'endpoint disabled',
      'endpoint enabled',
      'secret rotated',
      'secret revealed',
      'secret rotation confirmed',
      'secret revealed',
      'endpoint removed',
    ]);
    expect(lines.every((l) => l.by === 'operator')).toBe(true);
    // Secrets never reach the log.
    expect(JSON.stringify(lines)).not.toContain('whsec_');
    expect(wakes()).toBe(7);
  });

  it.each([
    [{ url: 'http://hooks.example.com/a' }, 'url', 'HTTPS is required'],
    [{ url: 'https://user:pw@hooks.example.com/a' }, 'url', 'must not carry a user name'],
    [{}, 'url', 'is required'],
    [{ url: 'https://hooks.example.com/a', types: ['selfie'] }, 'types.0', 'unknown type "selfie"'],
    [{ url: 'https://hooks.example.com/a', types: [] }, 'types', 'choose at least one type'],
    [{ url: 'https://hooks.example.com/a', secret: 'hunter2' }, 'secret', 'a secret starts with "whsec_"'],
    [{ url: 'https://hooks.example.com/a', ca: 'not a certificate' }, 'ca', 'is not a PEM certificate'],
    [{ url: 'https://hooks.example.com/a', colour: 'red' }, '', 'colour'],
  ])('refuses to add %j, naming %s, and adds nothing', (input, path, message) => {
    const { ctx, lines, wakes } = context();
    const refused = refusal(() => addEndpoint(ctx, input));
    expect(refused.kind).toBe('invalid');
    expect(refused.issues).toEqual(expect.arrayContaining([{ path, message: expect.stringContaining(message) }]));
    expect(ctx.store.endpoints.list()).toEqual([]);
    expect(lines).toEqual([]);
    expect(wakes()).toBe(0);
  });

  it.each([
    [{ headers: { 'X-Signature': 'mine' } }, 'headers.X-Signature', 'set by Booth Agent on every delivery'],
    [{ headers: { 'webhook-id': 'x' } }, 'headers.webhook-id', 'cannot be replaced'],
    [{ headers: { 'Content-Type': 'text/plain' } }, 'headers.Content-Type', 'cannot be replaced'],
    [{ headers: { Host: 'evil.example' } }, 'headers.Host', 'cannot be replaced'],
    [{ headers: { 'Transfer-Encoding': 'chunked' } }, 'headers.Transfer-Encoding', 'describes the connection'],
    [{ headers: { 'Bad Name': 'v' } }, 'headers.Bad Name', 'is not a valid header name'],
    [{ headers: { 'X-Api-Key': 'abc\r\nX-Injected: 1' } }, 'headers.X-Api-Key', 'contains a line break'],
    [{ headers: { 'X-Api-Key': 'abc\ndef' } }, 'headers.X-Api-Key', 'contains a line break'],
    [{ headers: { 'X-Api-Key': '  ' } }, 'headers.X-Api-Key', 'is empty'],
    [{ headers: { 'X-Key': 'a', 'x-key': 'b' } }, 'headers', 'given twice'],
    [{ format: 'xml' }, 'format', 'must be one of snappic, flat, chat'],
    [{ autoRecover: 'sometimes' }, 'autoRecover', 'must be one of on, off, all'],
    [{ maxPerMinute: 0 }, 'maxPerMinute', 'at least 1'],
    [{ types: ['agent.lunch'] }, 'types.0', 'unknown type "agent.lunch"'],
  ])('refuses the delivery options %j, naming %s, never repeating a header value', (options, path, message) => {
    const { ctx, lines } = context();
    const refused = refusal(() => addEndpoint(ctx, { url: 'https://hooks.example.com/a', ...options }));
    expect(refused.issues).toEqual(expect.arrayContaining([{ path, message: expect.stringContaining(message) }]));
    expect(refused.message).not.toMatch(/abc|mine|evil|text\/plain/);
    expect(ctx.store.endpoints.list()).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('keeps header values out of listings and the log; edits set, replace and remove them by name', () => {
    const { ctx, lines } = context();
    const added = addEndpoint(ctx, {
      url: 'https://hooks.example.com/crm',
      types: ['share', 'agent.*'],
      format: 'flat',
      autoRecover: 'all',
      maxPerMinute: 30,
      headers: { Authorization: 'Bearer sk-live-1111', 'X-Api-Key': 'key-2222' },
    });
    expect(added).toMatchObject({
      types: ['share', 'agent.*'],
      format: 'flat',
      autoRecover: 'all',
      maxPerMinute: 30,
      headerNames: ['Authorization', 'X-Api-Key'],
    });
    expect(ctx.store.endpoints.get(added.id)!.headers).toEqual({ Authorization: 'Bearer sk-live-1111', 'X-Api-Key': 'key-2222' });

    const edited = editEndpoint(ctx, added.id, {
      headers: { 'x-api-key': 'key-3333', 'X-Team': 'blue' },
      removeHeaders: ['AUTHORIZATION'],
    });
    expect(edited.headerNames).toEqual(['x-api-key', 'X-Team']);
    expect(ctx.store.endpoints.get(added.id)!.headers).toEqual({ 'x-api-key': 'key-3333', 'X-Team': 'blue' });
    editEndpoint(ctx, added.id, { maxPerMinute: null, format: 'snappic', autoRecover: 'off' });
    expect(ctx.store.endpoints.get(added.id)).toMatchObject({ maxPerMinute: null, format: 'snappic', autoRecover: 'off' });

    const gone = refusal(() => editEndpoint(ctx, added.id, { removeHeaders: ['X-Nope'] }));
    expect(gone.issues).toEqual([{ path: 'removeHeaders', message: 'the endpoint has no header X-Nope' }]);
    expect(ctx.store.endpoints.get(added.id)!.headers).toEqual({ 'x-api-key': 'key-3333', 'X-Team': 'blue' });

    const logged = JSON.stringify(lines);
    expect(logged).toContain('X-Team');
    expect(logged).not.toMatch(/sk-live|key-2222|key-3333|blue/);
    expect(JSON.stringify(ctx.store.endpoints.list().map(publicEndpoint))).not.toMatch(/key-3333|blue/);
  });

  it('seals header values at rest when a key is given', () => {
    const dir = tempDir('ops-sealed-');
    const store = openStore(join(dir, 'outbox.db'), { secretBox: keyedBox(Buffer.alloc(32, 7)) });
    const added = store.endpoints.add(
      {
        url: 'https://hooks.example.com/a',
        secret: 'whsec_' + 'A'.repeat(43),
        types: null,
        strictOrder: false,
        ca: null,
        headers: { 'X-Api-Key': 'key-4444' },
      },
      NOW,
    );
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    expect(readFileSync(join(dir, 'outbox.db')).includes('key-4444')).toBe(false);
    expect(store.endpoints.get(added.id)!.headers).toEqual({ 'X-Api-Key': 'key-4444' });
    const locked = openStore(join(dir, 'outbox.db'));
    expect(locked.endpoints.get(added.id)!.secretsLocked).toBe(true);
    locked.close();
    store.close();
  });

  it('takes a CA that is a certificate, and removes it again', async () => {
    const receiver = await startReceiver();
    try {
      const { ctx } = context();
      const added = addEndpoint(ctx, { url: receiver.url, ca: readFileSync(receiver.certificate.file, 'utf8') });
      expect(added.hasCa).toBe(true);
      expect(editEndpoint(ctx, added.id, { ca: null }).hasCa).toBe(false);
    } finally {
      await receiver.close();
    }
  });

  it('refuses what names no endpoint, and a confirmation with no rotation', () => {
    const { ctx } = context();
    for (const work of [
      () => editEndpoint(ctx, 'ep_nope', { strictOrder: true }),
      () => removeEndpoint(ctx, 'ep_nope'),
      () => rotateSecret(ctx, 'ep_nope'),
    ]) {
      expect(refusal(work)).toMatchObject({ kind: 'not-found', message: 'there is no endpoint ep_nope' });
    }
    const added = addEndpoint(ctx, { url: 'https://hooks.example.com/a' });
    expect(refusal(() => confirmRotation(ctx, added.id))).toMatchObject({ kind: 'conflict' });
  });
});

describe('delivery operations', () => {
  it('retries one failed delivery or all of them, refusing others by what they are', () => {
    const { ctx, lines, wakes } = context();
    const endpoint = addEndpoint(ctx, { url: 'https://hooks.example.com/a' });
    const body = Buffer.from('{"type":"session"}');
    const ids = [1, 2, 3].map(
      (n) =>
        ctx.store.queue.capture({ type: 'session', body, dedupeKey: null, occurredAt: '', sessionId: `s${n}` }, NOW, 1000).deliveryIds[0]!,
    );
    for (const claim of ctx.store.queue.claim(endpoint.id, 'run:x', NOW, 60_000, 2, false)) {
      ctx.store.queue.settle(
        claim,
        'run:x',
        { startedAt: NOW, durationMs: 1, outcome: 'answered', statusCode: 500, error: null, responseHead: null },
        { status: 'failed', reason: 'HTTP 500', disableEndpoint: false, usesAttempt: true, recoverAt: null },
        NOW,
      );
    }
    lines.length = 0;
    const before = wakes();

    expect(retryDelivery(ctx, ids[0]!)).toEqual({ retried: 1, id: ids[0] });
    expect(refusal(() => retryDelivery(ctx, ids[0]!))).toMatchObject({
      kind: 'conflict',
      message: `delivery ${ids[0]} is queued; only failed deliveries can be retried`,
    });
    expect(refusal(() => retryDelivery(ctx, 'msg_nope'))).toMatchObject({ kind: 'not-found', message: 'there is no delivery msg_nope' });
    expect(retryAllFailed(ctx)).toEqual({ retried: 1 });
    expect(ctx.store.views.counts()).toMatchObject({ queued: 3, failed: 0 });
    expect(lines.map((l) => [l.msg, l.by])).toEqual([
      ['delivery state', 'operator'],
      ['retry all failed', 'operator'],
    ]);
    expect(wakes() - before).toBe(2);
  });

  it('pauses and resumes', () => {
    const { ctx, lines } = context();
    expect(setPaused(ctx, true)).toEqual({ paused: true });
    expect(ctx.store.settings.read().paused).toBe(true);
    expect(setPaused(ctx, false)).toEqual({ paused: false });
    expect(lines.map((l) => l.msg)).toEqual(['delivery paused', 'delivery resumed']);
  });
});

describe('replay', () => {
  it('queues what the endpoint lacks as waiting while it cannot be reached; logged once, waking the loop', async () => {
    const { ctx, lines, wakes } = context();
    const body = Buffer.from('{"type":"session","event_id":5}');
    for (const n of [1, 2, 3]) {
      ctx.store.queue.capture({ type: 'session', body, dedupeKey: null, occurredAt: '', sessionId: `s${n}` }, NOW - n * 60_000, 1000);
    }
    const endpoint = addEndpoint(ctx, { url: 'https://hooks.example.com/a' });
    ctx.store.db.prepare('UPDATE endpoints SET unreachable_since = ? WHERE id = ?').run(NOW, endpoint.id);
    lines.length = 0;
    const before = wakes();

    expect(await replayToEndpoint(ctx, endpoint.id, { event: 5, since: new Date(NOW - 150_000).toISOString() })).toEqual({
      endpointId: endpoint.id,
      queued: 2,
      resent: 0,
      waiting: true,
      skipped: { delivered: 0, onItsWay: 0, failed: 0, notSubscribed: 0 },
    });
    expect(ctx.store.views.counts()).toMatchObject({ waiting: 2, queued: 0 });
    expect(await replayToEndpoint(ctx, endpoint.id, { event: 6 })).toMatchObject({ queued: 0, skipped: { onItsWay: 0 } });
    expect(lines.map((l) => [l.msg, l.by, l.queued])).toEqual([
      ['events replayed', 'operator', 2],
      ['events replayed', 'operator', 0],
    ]);
    expect(wakes() - before).toBe(2);
    const refused = await refusedAsync(() => replayToEndpoint(ctx, endpoint.id, { until: 'tomorrow', again: 'yes' }));
    expect(refused.issues.map((i) => i.path)).toEqual(['until', 'again']);
  });
});

describe('settings, tokens and URLs', () => {
  it('changes several settings at once, or none when one is wrong', async () => {
    const { ctx, lines } = context();
    expect(await changeSettings(ctx, { event_id: 7, max_retries: 5 })).toMatchObject({ event_id: 7, max_retries: 5 });
    const refused = await refusedAsync(() => changeSettings(ctx, { event_id: 8, max_retries: -1 }));
    expect(refused.issues.map((i) => i.path)).toEqual(['max_retries']);
    expect(ctx.store.settings.read()).toMatchObject({ event_id: 7, max_retries: 5 });
    expect((await refusedAsync(() => changeSettings(ctx, { colour: 'red' }))).kind).toBe('invalid');
    // A change names what changes; what it leaves out stays as it is (not reset to its default).
    expect(await changeSettings(ctx, { event_id: 9 })).toMatchObject({ event_id: 9, max_retries: 5 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ msg: 'settings changed', changed: ['event_id', 'max_retries'] });
  });

  it('rotates the ingest token without logging it', () => {
    const { ctx, lines } = context();
    const before = ctx.store.settings.token('ingest_token');
    const { token } = rotateIngestToken(ctx);
    expect(token).not.toBe(before);
    expect(ctx.store.settings.token('ingest_token')).toBe(token);
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it('names the live port in every URL, and refuses when nothing listens', () => {
    const { ctx } = context(43210);
    const urls = agentUrls(ctx);
    const token = ctx.store.settings.token('ingest_token');
    expect(urls).toEqual({
      port: 43210,
      panel: `http://127.0.0.1:43210/#token=${ctx.store.settings.token('admin_token')}`,
      ingestToken: token,
      capture: {
        url: 'http://127.0.0.1:43210/v1/events',
        pathUrl: `http://127.0.0.1:43210/t/${token}/v1/events`,
        dslrBoothUrl: `http://127.0.0.1:43210/t/${token}/dslrbooth`,
      },
    });
    expect(refusal(() => agentUrls(context(null).ctx))).toMatchObject({ kind: 'not-running' });
  });
});

describe("the organiser's data", () => {
  const session = (id: string) => ({
    id,
    direct_url: `https://cdn.example.com/${id}.jpg`,
    site_url: `https://photos.example.com/view/${id}`,
    type: 'still',
  });
  const fields = (value: string) => ({
    sections: [
      { title: 'You', position: 1, fields: [{ field_id: 'f', field_title: 'Phone', field_type: 'phone', value, required: true }] },
    ],
  });
  const capture = (ctx: OperationContext, payload: Record<string, unknown>, dedupeKey: string | null = null) =>
    ctx.store.queue.capture(
      {
        type: payload.type as 'share',
        body: Buffer.from(JSON.stringify({ event_id: 3, ...payload })),
        dedupeKey,
        occurredAt: '',
        sessionId: (payload.session as { id: string }).id,
      },
      NOW,
      1000,
    );
  const bodies = (ctx: OperationContext) =>
    (ctx.store.db.prepare('SELECT body FROM events ORDER BY seq').pluck().all() as Buffer[]).map((b) => b.toString());

  it("erases a guest by phone number, the integrations' records with them, and logs only a hash and counts", async () => {
    const { ctx, lines, wakes } = context();
    addEndpoint(ctx, { url: 'https://hooks.example.com/a' });
    capture(
      ctx,
      { type: 'share', session: session('s1'), share: { id: 'sh1', type: 'sms', value: '+44 7700 900123' }, data_capture: fields('') },
      'share:sh1',
    );
    capture(
      ctx,
      { type: 'survey', session: session('s2'), survey: { completed_at: '2026-06-01T12:00:00Z', data_capture: fields('07700 900123') } },
      'key:07700900123',
    );
    capture(ctx, {
      type: 'share',
      session: session('s3'),
      share: { id: 'sh3', type: 'sms', value: '+44 7700 900999' },
      data_capture: fields(''),
    });
    ctx.store.db
      .prepare(
        `INSERT INTO hot_folder_files (hash, path, taken_at, event_id, outcome, sent) VALUES ('h1', '/out/07700900123.jpg', 1, NULL, 'not sent: no URL', 0)`,
      )
      .run();
    ctx.store.db.prepare(`INSERT INTO dslr_sessions (session_id, started_at, updated_at) VALUES ('s2', 1, 1), ('s9', 1, 1)`).run();
    const before = bodies(ctx);

    const planned = await eraseGuest(ctx, { phone: '07700-900-123', dryRun: true });
    expect(bodies(ctx)).toEqual(before);
    expect(lines).toHaveLength(1);
    const result = await eraseGuest(ctx, { phone: '07700-900-123' });
    const counts = {
      events: { session: 0, share: 1, survey: 1, competition_win: 0 },
      undeliveredDropped: 2,
      responseSnippets: 0,
      hotFolderRecords: 1,
      dslrSessions: 0,
      media: 0,
    };
    expect(result).toMatchObject({ dryRun: false, kind: 'phone', counts, auditId: 1, alreadySent: [] });
    expect(planned).toMatchObject({ dryRun: true, counts, auditId: null, identifierHash: result.identifierHash });
    expect(result.identifierHash).toMatch(/^[0-9a-f]{64}$/);

    const after = bodies(ctx);
    expect(after[2]).toBe(before[2]);
    for (const body of after.slice(0, 2)) {
      expect(body).not.toMatch(/7700/);
      expect(JSON.parse(body)).toMatchObject({ personal_data_removed: true, event_id: 3 });
    }
    // An Idempotency-Key with the number in it goes; a natural key stays, so a repeat is still recognised.
    expect(ctx.store.db.prepare('SELECT dedupe_key FROM events ORDER BY seq').pluck().all()).toEqual(['share:sh1', null, null]);
    expect(ctx.store.db.prepare('SELECT path, outcome FROM hot_folder_files').all()).toEqual([
      { path: '(erased)', outcome: "erased at the guest's request" },
    ]);
    expect(ctx.store.views.counts()).toMatchObject({ queued: 1 });
    // The erased events are not taken for events sent nowhere.
    expect(ctx.store.views.unsentCount(null)).toBe(0);

    const line = lines[lines.length - 1]!;
    expect(line).toMatchObject({ msg: 'guest erased', by: 'operator', kind: 'phone', identifierHash: result.identifierHash, counts });
    expect(JSON.stringify(lines)).not.toMatch(/7700/);
    expect(wakes()).toBe(2);
  });

  it("erases the hot folder's and dslrBooth's records of files named after the guest, extension and all", async () => {
    const { ctx } = context();
    const insertFile = ctx.store.db.prepare(
      `INSERT INTO hot_folder_files (hash, path, taken_at, event_id, outcome, sent) VALUES (?, ?, 1, NULL, 'not sent: no URL', 0)`,
    );
    insertFile.run('h1', '/booth/Output/Jane.Doe@Example.com.jpg');
    insertFile.run('h2', 'C:\\Booth\\Output\\2026-06-01 jane.doe@example.com.PNG');
    insertFile.run('h3', '/booth/Output/mary.jane.doe@example.com.jpg');
    insertFile.run('h4', '/booth/jane.doe@example.com.au/photo.jpg');
    ctx.store.db
      .prepare(`INSERT INTO dslr_sessions (session_id, final_file, started_at, updated_at) VALUES (?, ?, 1, 1)`)
      .run('d1', 'C:\\dslrBooth\\Prints\\JANE.DOE@EXAMPLE.COM.jpg');
    const result = await eraseGuest(ctx, { email: 'jane.doe@example.com' });
    expect(result.counts).toMatchObject({ hotFolderRecords: 2, dslrSessions: 1 });
    expect(ctx.store.db.prepare('SELECT hash, path FROM hot_folder_files ORDER BY hash').raw().all()).toEqual([
      ['h1', '(erased)'],
      ['h2', '(erased)'],
      ['h3', '/booth/Output/mary.jane.doe@example.com.jpg'],
      ['h4', '/booth/jane.doe@example.com.au/photo.jpg'],
    ]);
  });

  it('erases a session: its events lose the session id too, and dslrBooth forgets it', async () => {
    const { ctx } = context();
    capture(ctx, { type: 'session', session: session('booth-42') });
    capture(ctx, { type: 'session', session: session('booth-420') });
    ctx.store.db
      .prepare(`INSERT INTO dslr_sessions (session_id, started_at, updated_at) VALUES ('booth-42', 1, 1), ('booth-420', 1, 1)`)
      .run();
    const result = await eraseGuest(ctx, { session: 'booth-42' });
    expect(result.counts).toMatchObject({ events: { session: 1 }, dslrSessions: 1, undeliveredDropped: 0 });
    expect(ctx.store.db.prepare('SELECT session_id FROM events ORDER BY seq').pluck().all()).toEqual([null, 'booth-420']);
    expect(bodies(ctx)[0]).not.toContain('booth-42');
    expect(ctx.store.db.prepare('SELECT session_id FROM dslr_sessions').pluck().all()).toEqual(['booth-420']);
  });

  it.each([
    [{}, '', 'give exactly one of email, phone or session'],
    [{ email: 'a@example.com', phone: '07700900123' }, '', 'give exactly one'],
    [{ email: 'not an address' }, 'email', 'is not an email address'],
    [{ phone: '123' }, 'phone', 'is not a phone number'],
    [{ session: '  ' }, 'session', 'must not be empty'],
    [{ email: 'a@example.com', dryRun: 'yes' }, 'dryRun', 'must be true or false'],
    [{ name: 'Jane' }, '', 'name'],
  ])('refuses to erase %j, naming %j', async (input, path, message) => {
    const { ctx, lines } = context();
    const refused = await refusedAsync(() => eraseGuest(ctx, input));
    expect(refused.kind).toBe('invalid');
    expect(refused.issues).toEqual(expect.arrayContaining([{ path, message: expect.stringContaining(message) }]));
    expect(lines).toEqual([]);
  });

  it("closeout counts the guests' deliveries of each endpoint, of one event or all, and the events sent nowhere", () => {
    const { ctx } = context();
    const a = addEndpoint(ctx, { url: 'https://hooks.example.com/a', types: ['share'] });
    capture(ctx, {
      type: 'share',
      session: session('s1'),
      share: { id: 'x', type: 'email', value: 'a@example.com' },
      data_capture: fields(''),
    });
    capture(ctx, { type: 'session', session: session('s2') });
    capture(ctx, {
      type: 'share',
      event_id: 4,
      session: session('s3'),
      share: { id: 'y', type: 'email', value: 'b@example.com' },
      data_capture: fields(''),
    });
    ctx.store.queue.capture(
      { type: 'share', body: Buffer.from('{}'), dedupeKey: null, occurredAt: '', sessionId: 't', test: true, onlyEndpoint: a.id },
      NOW,
      1000,
    );

    const all = closeout(ctx, {});
    expect(all).toMatchObject({ eventId: null, safe: false, unsent: 1, totals: { queued: 2, waiting: 0, delivered: 0, failed: 0 } });
    expect(all.endpoints).toEqual([expect.objectContaining({ endpointId: a.id, url: a.url, queued: 2 })]);
    expect(all.verdict).toBe('not safe to pack up: 2 not delivered, 1 event with no endpoint');
    expect(closeout(ctx, { event: '3' })).toMatchObject({ eventId: 3, unsent: 1, totals: { queued: 1 } });
    expect(closeout(ctx, { event: 5 })).toMatchObject({ safe: true, verdict: 'safe to pack up: nothing to deliver' });
    // The tray's figures are the same, without reading a payload.
    expect(summarize(ctx.store).closeout).toEqual({ counts: all.totals, unsent: 1, media: { files: 0, bytes: 0, pages: 0, galleries: 0 } });
    expect(refusal(() => closeout(ctx, { event: 'x' })).issues).toEqual([
      { path: 'event', message: 'must be an event id (a whole number)' },
    ]);

    removeEndpoint(ctx, a.id);
    expect(closeout(ctx, {})).toMatchObject({ unsent: 3, endpoints: [] });
  });

  it("closeout counts the failures the endpoint's auto-recover will retry by itself apart, and no Send Test among them", () => {
    const { ctx } = context();
    const a = addEndpoint(ctx, { url: 'https://hooks.example.com/a', types: ['session'] });
    for (const [id, eventId] of [
      ['s1', 1],
      ['s2', 1],
      ['s3', 2],
    ] as const)
      capture(ctx, { type: 'session', event_id: eventId, session: session(id) });
    ctx.store.queue.capture(
      { type: 'session', body: Buffer.from('{}'), dedupeKey: null, occurredAt: '', sessionId: 't', test: true, onlyEndpoint: a.id },
      NOW,
      1000,
    );
    // All four failed; the two of event 1 and the Send Test have a retry to come.
    ctx.store.db
      .prepare(`UPDATE deliveries SET status = 'failed', recover_at = CASE WHEN seq = 3 THEN NULL ELSE @at END`)
      .run({ at: NOW + 90_000 });
    const report = closeout(ctx, {});
    expect(report.endpoints[0]).toMatchObject({ failed: 3, recovering: { count: 2, nextAt: NOW + 90_000 } });
    expect(report.advice).toEqual([
      '2 deliveries to https://hooks.example.com/a failed and will be tried again by themselves (next in 2 minutes): keep the booth online, or retry them now (booth-agent retry --failed)',
      '1 delivery to https://hooks.example.com/a failed: fix the endpoint and retry them (booth-agent retry --failed), or export them (booth-agent export)',
    ]);
    expect(closeout(ctx, { event: 2 }).endpoints[0]).toMatchObject({ failed: 1, recovering: { count: 0, nextAt: null } });
    expect(closeout(ctx, { event: 1 }).endpoints[0]).toMatchObject({ failed: 2, recovering: { count: 2 } });
    editEndpoint(ctx, a.id, { autoRecover: 'off' });
    expect(closeout(ctx, {}).endpoints[0]).toMatchObject({ failed: 3, recovering: { count: 0 } });
  });
});
