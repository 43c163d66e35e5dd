// The operator's actions on the organiser's storage for session photos (docs/storage.md):
// set, show, remove and Verify. The secret goes in and is never shown, logged or sent again.
import { z } from 'zod';
import type { StorageVerifyReport, StorageView } from '../core/read-model.js';
import { normalizeStorageUrl, storageUrlProblem } from '../core/storage-url.js';
import { storageConfig } from '../storage/config.js';
import { verifyStorage as verify } from '../storage/verify.js';
import type { StoredStorage } from '../store/storage.js';
import { parseInput, Refusal, type OperationContext } from './context.js';
import { endpointFields } from './endpoints.js';

/** AWS's default region, which MinIO and most S3-compatible services also take. */
export const DEFAULT_REGION = 'us-east-1';

const storageUrl = (role: 'api' | 'public') =>
  z
    .string({ error: 'is required' })
    .superRefine((value, ctx) => {
      const problem = storageUrlProblem(value, role);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .transform((value) => normalizeStorageUrl(value, role));

const text = (what: string, pattern: RegExp, rule: string) =>
  z.string({ error: 'is required' }).trim().min(1, 'is required').max(255, `is too long for ${what}`).regex(pattern, rule);

/** A secret is checked for its shape only; no message repeats it, so a refusal can be logged. */
const secretAccessKey = z
  .string({ error: 'must be text' })
  .min(1, 'is required')
  .max(1024, 'is too long for a secret access key')
  .regex(/^\S+$/, 'must not contain spaces or line breaks');

const storageSchema = z.strictObject({
  url: storageUrl('api'),
  bucket: text('a bucket name', /^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/, 'must be 2 to 63 letters, digits, dots, hyphens or underscores'),
  region: text('a region', /^[a-z0-9-]+$/, 'must be lowercase letters, digits and hyphens, like eu-west-1 or auto').default(DEFAULT_REGION),
  prefix: z
    .string({ error: 'must be text' })
    .max(512, 'is too long')
    .refine((p) => !p.startsWith('/'), 'must not start with /: it is a folder inside the bucket, like booth/')
    .refine((p) => p === '' || p.endsWith('/'), 'must end with /, like booth/')
    .refine(
      (p) => p.startsWith('/') || !p.split('/').some((segment, i, all) => (segment === '' && i < all.length - 1) || segment === '..'),
      {
        message: 'must not have empty or .. folders',
      },
    )
    .default(''),
  accessKeyId: text('an access key id', /^\S+$/, 'must not contain spaces'),
  /** Left out when changing the rest of a storage whose key id stays the same: the stored secret is kept. */
  secretAccessKey: secretAccessKey.optional(),
  publicUrl: storageUrl('public').nullable().default(null),
  pathStyle: z.boolean({ error: 'must be true or false' }).default(false),
  ca: endpointFields.ca.default(null),
});

export type StorageInput = z.input<typeof storageSchema>;

/** The storage without its secret or CA: what `storage show`, the panel and /api/state see. */
export function publicStorage(stored: StoredStorage): StorageView {
  return {
    url: stored.url,
    region: stored.region,
    bucket: stored.bucket,
    prefix: stored.prefix,
    accessKeyId: stored.accessKeyId,
    publicUrl: stored.publicUrl,
    pathStyle: stored.pathStyle,
    hasCa: stored.ca !== null,
    links: stored.publicUrl === null ? 'presigned' : 'public',
    secretLocked: stored.secretLocked,
    updatedAt: stored.updatedAt,
  };
}

/** Sets the booth's storage, replacing any earlier one. */
export function setStorage(ctx: OperationContext, input: unknown): StorageView {
  const { secretAccessKey: given, ...fields } = parseInput(storageSchema, input);
  const current = ctx.store.storage.get();
  const keepsSecret = given === undefined && current !== null && current.accessKeyId === fields.accessKeyId;
  if (given === undefined && !keepsSecret) {
    throw Refusal.invalid([{ path: 'secretAccessKey', message: 'is required with a new access key id' }]);
  }
  // The kept secret is opened to be stored again: without the key that sealed it, it cannot be.
  if (keepsSecret && current.secretLocked) ctx.store.storage.unlocked();
  ctx.store.storage.set({ ...fields, secretAccessKey: given ?? current!.secretAccessKey }, ctx.now());
  const view = showStorage(ctx)!;
  ctx.log.info(
    {
      url: view.url,
      bucket: view.bucket,
      region: view.region,
      prefix: view.prefix,
      accessKeyId: view.accessKeyId,
      links: view.links,
      secretChanged: given !== undefined,
      by: 'operator',
    },
    'storage set',
  );
  return view;
}

/** The storage set for this booth, without its secret; null when none is. */
export function showStorage(ctx: OperationContext): StorageView | null {
  const stored = ctx.store.storage.get();
  return stored === null ? null : publicStorage(stored);
}

const removeSchema = z.strictObject({
  /** Removes the storage although uploads wait for it: they fail, to be retried once another storage is set. */
  force: z
    .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'must be true or false' })
    .default(false),
});

export type RemoveStorageInput = z.input<typeof removeSchema>;

/** Why uploads failed when their storage was removed with --force; retrying them sends them to the next one set. */
export const STORAGE_REMOVED = 'the storage was removed: set a storage (booth-agent storage set), then retry the uploads';

/**
 * Forgets the storage. While photos wait to be uploaded (or erased ones to be deleted from
 * it) it is refused, naming how many, unless `force`: the waiting uploads then fail, and a
 * retry after a new storage is set sends them there. An upload under way finishes, or fails
 * at its next step with no storage set.
 */
export function removeStorage(ctx: OperationContext, input: unknown = {}): { removed: true; uploadsFailed: number } {
  const { force } = parseInput(removeSchema, input);
  const stored = ctx.store.storage.get();
  if (stored === null) throw new Refusal('not-found', 'no storage is set');
  const { uploads, deletions } = ctx.store.media.storageWork();
  if (!force && uploads + deletions > 0) {
    const waiting = [
      ...(uploads > 0 ? [`${uploads} ${uploads === 1 ? 'photo waits' : 'photos wait'} to be uploaded to it`] : []),
      ...(deletions > 0 ? [`${deletions} erased ${deletions === 1 ? 'photo is' : 'photos are'} still to be deleted from it`] : []),
    ];
    throw new Refusal(
      'conflict',
      `${waiting.join(', and ')}: keep the booth online until they are done, or remove it anyway with --force ` +
        '(the uploads then fail, to be retried once another storage is set)',
    );
  }
  const uploadsFailed = ctx.store.db.transaction(() => {
    ctx.store.storage.remove();
    return ctx.store.media.failWaiting(STORAGE_REMOVED, ctx.now());
  })();
  ctx.log.info({ url: stored.url, bucket: stored.bucket, force, uploadsFailed, by: 'operator' }, 'storage removed');
  return { removed: true, uploadsFailed };
}

/** Verify: a test file uploaded, read back as a guest would, and deleted; each step in plain words. */
export async function verifyStorage(ctx: OperationContext): Promise<StorageVerifyReport> {
  const config = storageConfig(ctx.store);
  if (config === null) throw new Refusal('not-found', 'no storage is set');
  const settings = ctx.store.settings.read();
  const report = await verify(config, {
    connectTimeoutMs: settings.connect_timeout_ms,
    timeoutMs: settings.attempt_timeout_ms,
    now: ctx.now,
  });
  const failed = report.steps.find((s) => !s.ok);
  ctx.log.info(
    {
      bucket: config.bucket,
      ok: report.ok,
      links: report.links,
      ...(failed ? { step: failed.step, problem: failed.message } : {}),
      by: 'operator',
    },
    'storage verified',
  );
  return report;
}
