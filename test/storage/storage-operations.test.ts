// The storage's operations against the S3-compatible test service: set, show, remove, and
// Verify's plain words for each way a storage can be wrong; the secret kept out of every
// log line, every view, and the database file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OperationContext } from '../../src/operations/context.js';
import { refusal } from '../helpers/refusal.js';
import { retryUploads } from '../../src/operations/uploads.js';
import { removeStorage, setStorage, showStorage, STORAGE_REMOVED, verifyStorage, type StorageInput } from '../../src/operations/storage.js';
import { storageConfig } from '../../src/storage/config.js';
import { publicObjectUrl } from '../../src/storage/object-url.js';
import { CA_NOTE, PRESIGNED_NOTE } from '../../src/storage/verify.js';
import { keyedBox, PLAIN_BOX, SecretsLockedError, type SecretBox } from '../../src/store/secret-box.js';
import { openStore } from '../../src/store/store.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { tempDir } from '../helpers/temp.js';

const KEY = keyedBox(Buffer.alloc(32, 9));
let server: S3Server;

beforeAll(async () => {
  server = await startS3Server({ publicPrefixes: ['booth/'] });
});
afterAll(() => server.close());
beforeEach(() => server.deny());

function context(options: { box?: SecretBox; file?: string; now?: () => number } = {}) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const file = options.file ?? join(tempDir('storage-ops-'), 'outbox.db');
  const store = openStore(file, { secretBox: options.box ?? KEY });
  store.settings.writeAll({ connect_timeout_ms: 2000, attempt_timeout_ms: 5000 });
  const ctx: OperationContext = {
    store,
    log: pino({ base: null }, sink),
    wake: () => {},
    livePort: () => null,
    sender: () => {
      throw new Error('storage makes no webhook request');
    },
    owner: 'test:storage',
    now: options.now ?? Date.now,
  };
  return { ctx, lines, file };
}

/** The test service as a booth would give it, public under booth/. */
function storage(overrides: Partial<StorageInput> = {}): StorageInput {
  return { ...server.storage('booth/'), ...overrides };
}

/** Verify with the storage set as given: its report, and the problem of its first failed step. */
async function verifyWith(overrides: Partial<StorageInput>, now?: () => number) {
  const { ctx, lines } = context(now ? { now } : {});
  setStorage(ctx, storage(overrides));
  const report = await verifyStorage(ctx);
  ctx.store.close();
  return { report, failed: report.steps.find((s) => !s.ok) ?? null, lines };
}

describe('removing a storage photos wait for', () => {
  it('is refused, naming how many, unless forced: then they fail, and a retry after a new storage sends them', () => {
    const { ctx, lines } = context();
    setStorage(ctx, storage());
    const add = ctx.store.db.prepare(`
      INSERT INTO media (id, session_id, event_id, name, local_path, size, sha256, content_type, key, status, next_attempt_at, created_at, erased_at)
      VALUES (?, 's', ?, 'p.jpg', '/x/p.jpg', 10, 'aa', 'image/jpeg', ?, ?, 0, 0, ?)`);
    add.run('med_1', 'evt_1', 'booth/p1.jpg', 'waiting', null);
    add.run('med_2', 'evt_2', 'booth/p2.jpg', 'waiting', null);
    add.run('med_3', 'evt_3', 'booth/p3.jpg', 'uploaded', null);
    add.run('med_4', 'evt_4', 'booth/p4.jpg', 'failed', 1);
    expect(refusal(() => removeStorage(ctx))).toMatchObject({
      kind: 'conflict',
      message:
        '2 photos wait to be uploaded to it, and 1 erased photo is still to be deleted from it: keep the booth online until they are ' +
        'done, or remove it anyway with --force (the uploads then fail, to be retried once another storage is set)',
    });
    expect(refusal(() => removeStorage(ctx, { force: 'maybe' }))).toMatchObject({ kind: 'invalid' });
    expect(showStorage(ctx)).not.toBeNull();

    expect(removeStorage(ctx, { force: 'true' })).toEqual({ removed: true, uploadsFailed: 2 });
    expect(showStorage(ctx)).toBeNull();
    const statuses = () => ctx.store.db.prepare('SELECT id, status, last_error AS reason FROM media ORDER BY id').all();
    expect(statuses()).toEqual([
      { id: 'med_1', status: 'failed', reason: STORAGE_REMOVED },
      { id: 'med_2', status: 'failed', reason: STORAGE_REMOVED },
      { id: 'med_3', status: 'uploaded', reason: null },
      { id: 'med_4', status: 'failed', reason: null },
    ]);
    expect(lines.at(-1)).toMatchObject({ msg: 'storage removed', force: true, uploadsFailed: 2 });

    setStorage(ctx, storage());
    expect(retryUploads(ctx, { all: true })).toEqual({ retried: 2 });
    expect(statuses().map((m: any) => m.status)).toEqual(['waiting', 'waiting', 'uploaded', 'failed']);
    ctx.store.close();
  });
});

describe('set, show and remove', () => {
  it('keeps the storage with its secret sealed, shows it without the secret, logs each action once without it', () => {
    const { ctx, lines, file } = context();
    const shown = setStorage(ctx, storage({ url: `${server.endpoint}/`, publicUrl: `${server.endpoint}/${server.bucket}/` }));
    expect(shown).toEqual({
      url: server.endpoint,
      region: server.region,
      bucket: server.bucket,
      prefix: 'booth/',
      accessKeyId: server.accessKeyId,
      publicUrl: `${server.endpoint}/${server.bucket}`,
      pathStyle: true,
      hasCa: true,
      links: 'public',
      secretLocked: false,
      updatedAt: expect.any(Number) as number,
    });
    expect(showStorage(ctx)).toEqual(shown);
    expect(storageConfig(ctx.store)).toMatchObject({ secretAccessKey: server.secretAccessKey, url: server.endpoint, pathStyle: true });
    expect(removeStorage(ctx)).toEqual({ removed: true, uploadsFailed: 0 });
    expect(showStorage(ctx)).toBeNull();
    expect(storageConfig(ctx.store)).toBeNull();
    expect(refusal(() => removeStorage(ctx))).toMatchObject({ kind: 'not-found', message: 'no storage is set' });
    expect(lines.map((l) => l.msg)).toEqual(['storage set', 'storage removed']);
    expect(JSON.stringify(lines)).not.toContain(server.secretAccessKey);
    ctx.store.close();
    for (const name of readdirSync(dirname(file))) {
      expect(readFileSync(join(dirname(file), name)).includes(server.secretAccessKey)).toBe(false);
    }
  });

  it('defaults the region to us-east-1, the prefix to the top of the bucket and the links to presigned ones', () => {
    const { ctx } = context();
    const { region: _region, prefix: _prefix, publicUrl: _publicUrl, pathStyle: _pathStyle, ca: _ca, ...required } = storage();
    expect(setStorage(ctx, required)).toMatchObject({ region: 'us-east-1', prefix: '', publicUrl: null, links: 'presigned', hasCa: false });
    ctx.store.close();
  });

  it('refuses bad fields, naming each, and never repeating the secret', () => {
    const { ctx, lines } = context();
    const refused = refusal(() =>
      setStorage(ctx, {
        ...storage(),
        url: 'http://s3.example.com',
        bucket: 'a',
        prefix: '/booth',
        publicUrl: `${server.endpoint}/b?x=1`,
        secretAccessKey: 'two words',
      }),
    );
    expect(refused.issues.map((i) => i.path)).toEqual(['url', 'bucket', 'prefix', 'prefix', 'secretAccessKey', 'publicUrl']);
    expect(refused.message).toContain('url: HTTPS is required');
    expect(refused.message).not.toContain('two words');
    expect(refusal(() => setStorage(ctx, { ...storage(), url: `${server.endpoint}/${server.bucket}` })).message).toMatch(
      /^url: give the service's address without a path/,
    );
    expect(refusal(() => setStorage(ctx, { ...storage(), ca: 'not a certificate' })).message).toBe('ca: is not a PEM certificate');
    expect(showStorage(ctx)).toBeNull();
    expect(lines).toEqual([]);
    ctx.store.close();
  });

  it('keeps the stored secret when the key id stays, and asks for one with a new key id', () => {
    const { ctx } = context();
    setStorage(ctx, storage());
    const { secretAccessKey: _secret, ...withoutSecret } = storage({ prefix: 'other/' });
    expect(setStorage(ctx, withoutSecret).prefix).toBe('other/');
    expect(storageConfig(ctx.store)?.secretAccessKey).toBe(server.secretAccessKey);
    expect(refusal(() => setStorage(ctx, { ...withoutSecret, accessKeyId: 'AKIAOTHER' })).message).toBe(
      'secretAccessKey: is required with a new access key id',
    );
    ctx.store.close();
  });

  it('seals a secret stored without a key at the first start with one, and without the key it is locked', () => {
    const { ctx: headless, file } = context({ box: PLAIN_BOX });
    setStorage(headless, storage());
    headless.store.close();
    const keyed = openStore(file, { secretBox: KEY });
    keyed.storage.sealStoredSecret();
    keyed.close();
    for (const name of readdirSync(dirname(file))) {
      expect(readFileSync(join(dirname(file), name)).includes(server.secretAccessKey)).toBe(false);
    }
    const { ctx: locked } = context({ box: PLAIN_BOX, file });
    expect(showStorage(locked)).toMatchObject({ secretLocked: true, accessKeyId: server.accessKeyId });
    expect(() => storageConfig(locked.store)).toThrow(SecretsLockedError);
    expect(locked.store.storage.locked()).toBe(true);
    locked.store.close();
    const { ctx: reopened } = context({ file });
    expect(storageConfig(reopened.store)?.secretAccessKey).toBe(server.secretAccessKey);
    reopened.store.close();
  });
});

describe('verify', () => {
  it('uploads, reads back anonymously through the public URL, and deletes, logging no secret', async () => {
    const before = server.requests.length;
    const { report, lines } = await verifyWith({});
    expect(report).toMatchObject({ ok: true, links: 'public', notes: [CA_NOTE] });
    expect(report.steps.map((s) => [s.step, s.ok])).toEqual([
      ['upload', true],
      ['read', true],
      ['delete', true],
    ]);
    const sent = server.requests.slice(before);
    expect(sent.map((r) => r.operation)).toEqual(['PutObject', 'GetObject', 'DeleteObject']);
    const probe = sent[0]!.key!;
    expect(probe).toMatch(/^booth\/\.booth-agent-verify\/[0-9A-Z]{26}\.txt$/);
    expect(sent[1]!.headers.authorization).toBeUndefined();
    expect(report.steps[1]!.message).toContain(publicObjectUrl(`${server.endpoint}/${server.bucket}`, probe));
    expect(await server.readObject(probe)).toBeNull();
    expect(lines.map((l) => l.msg)).toEqual(['storage set', 'storage verified']);
    expect(JSON.stringify(lines)).not.toContain(server.secretAccessKey);
  });

  it('without a public URL reads through a presigned link, and says that links stop working after 7 days', async () => {
    const before = server.requests.length;
    const { report } = await verifyWith({ publicUrl: null, prefix: 'private/', ca: server.certificate.cert });
    expect(report).toMatchObject({ ok: true, links: 'presigned' });
    expect(report.notes).toContain(PRESIGNED_NOTE);
    expect(PRESIGNED_NOTE).toContain('stop working 7 days after they are made');
    const read = server.requests.slice(before).find((r) => r.operation === 'GetObject')!;
    expect(read.status).toBe(200);
    expect(read.headers.authorization).toBeUndefined();
  });

  it('says the upload works but guests cannot open the link when the prefix is not public, and still deletes', async () => {
    const { report, failed } = await verifyWith({ prefix: 'private/' });
    expect(report.ok).toBe(false);
    expect(failed?.step).toBe('read');
    expect(failed?.message).toMatch(
      /^the upload works but guests cannot open the link: .* was refused \(HTTP 403\), so the bucket or prefix is not public$/,
    );
    expect(report.steps.at(-1)).toMatchObject({ step: 'delete', ok: true });
  });

  it('says the public URL does not lead to the bucket when the link is not found', async () => {
    const { failed } = await verifyWith({ publicUrl: `${server.endpoint}/another-bucket` });
    expect(failed?.message).toMatch(
      /guests cannot open the link: .* was not found \(HTTP 404\), so the public URL does not lead to the bucket$/,
    );
  });

  it.each([
    ['a wrong key id', { accessKeyId: 'AKIAWRONGKEY00000000' }, 'the storage does not know this key id (AKIAWRONGKEY00000000)'],
    ['a wrong secret', { secretAccessKey: 'wrong-secret' }, 'the secret does not match the key'],
    ['a bucket that does not exist', { bucket: 'no-such-bucket' }, 'the bucket no-such-bucket does not exist'],
    ['a wrong region', { region: 'eu-west-1' }, 'most often a wrong region (eu-west-1)'],
    ['an untrusted certificate', { ca: null }, 'the secure connection to the storage failed (TLS)'],
    ['a name that does not resolve', { url: 'https://storage.invalid' }, "the storage's name could not be looked up (DNS)"],
  ] as const)('stops at the upload with %s, in plain words', async (_case, overrides, message) => {
    const { report, failed } = await verifyWith(overrides);
    expect(report).toMatchObject({ ok: false, steps: [{ step: 'upload', ok: false }] });
    expect(failed?.message).toContain(message);
    expect(failed?.message).not.toContain(server.secretAccessKey);
  });

  it("says the booth's clock is too far off when it is 20 minutes behind", async () => {
    const { failed } = await verifyWith({}, () => Date.now() - 20 * 60_000);
    expect(failed).toMatchObject({ step: 'upload' });
    expect(failed?.message).toMatch(/^the booth's clock is too far off/);
  });

  it('names the step the key may not do when its policy denies it', async () => {
    server.deny('PutObject');
    const denied = await verifyWith({});
    expect(denied.failed?.message).toBe('access denied: the key may not upload a file in booth-media under booth/ (its policy)');
    server.deny('DeleteObject');
    const undeletable = await verifyWith({});
    expect(undeletable.report.ok).toBe(false);
    expect(undeletable.failed).toMatchObject({ step: 'delete' });
    expect(undeletable.failed?.message).toMatch(
      /^access denied: the key may not delete a file .*; the test file stays at booth\/\.booth-agent-verify\//,
    );
  });

  it('refuses when no storage is set', async () => {
    const { ctx } = context();
    await expect(verifyStorage(ctx)).rejects.toMatchObject({ kind: 'not-found', message: 'no storage is set' });
    ctx.store.close();
  });
});
