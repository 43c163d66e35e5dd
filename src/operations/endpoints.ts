// The operator's actions on endpoints: add, edit, enable, disable, remove; rotate the
// secret and confirm the rotation; Verify and Send Test (docs/webhooks.md, "Endpoints").
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { headerNameProblem, headerValueProblem, MAX_HEADERS } from '../core/endpoint-headers.js';
import { endpointUrlProblem } from '../core/endpoint-url.js';
import { TYPE_FILTERS, type TypeFilter } from '../core/event-types.js';
import { PAYLOAD_FORMATS } from '../core/formats.js';
import { PAYLOAD_TYPES, payloadTypeSchema, type PayloadType } from '../core/payload.js';
import { AUTO_RECOVER_MODES } from '../core/recovery.js';
import { generateSecret, secretProblem } from '../core/signing.js';
import type { EndpointView, TestResult, VerifyReport } from '../core/read-model.js';
import { sendTest } from '../delivery/send-test.js';
import { verifyEndpoint as verify } from '../delivery/verify.js';
import { publicEndpoint, type Endpoint } from '../store/endpoints.js';
import { parseInput, Refusal, type OperationContext } from './context.js';

/** The previous secret keeps signing beside a rotated one this long (docs/webhooks.md, "Secret rotation"). */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

const url = z
  .string({ error: 'is required' })
  .superRefine((value, ctx) => {
    const problem = endpointUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((value) => new URL(value).href);

/** A list of types, each one of `allowed`, without repeats; null: the default of the field. */
function typeList<T extends string>(allowed: readonly T[]) {
  return z
    .array(
      z.string().superRefine((type, ctx) => {
        if (!(allowed as readonly string[]).includes(type)) {
          ctx.addIssue({ code: 'custom', message: `unknown type "${type}"; the types are ${allowed.join(', ')}` });
        }
      }),
      { error: 'must be a list of payload types' },
    )
    .min(1, 'choose at least one type')
    .transform((list) => [...new Set(list)] as T[])
    .nullable();
}

/** What an endpoint subscribes to: booth payloads and alerts. */
const types = typeList<TypeFilter>(TYPE_FILTERS);

/** The booth payloads an export or a replay picks. */
export const payloadTypes = typeList<PayloadType>(PAYLOAD_TYPES);

const secret = z.string().superRefine((value, ctx) => {
  const problem = secretProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const ca = z
  .string()
  .superRefine((pem, ctx) => {
    try {
      new X509Certificate(pem);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not a PEM certificate' });
    }
  })
  .nullable();

/** Extra headers by name; a value is never repeated in a message, so a refusal can be logged. */
const headers = z.record(z.string(), z.string({ error: 'must be text' })).superRefine((given, ctx) => {
  for (const [name, value] of Object.entries(given)) {
    const problem = headerNameProblem(name) ?? headerValueProblem(name, value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [name] });
  }
  const lower = Object.keys(given).map((name) => name.toLowerCase());
  const repeated = lower.find((name, i) => lower.indexOf(name) !== i);
  if (repeated) ctx.addIssue({ code: 'custom', message: `${repeated} is given twice (header names ignore case)` });
});

const autoRecover = z.enum(AUTO_RECOVER_MODES, { error: `must be one of ${AUTO_RECOVER_MODES.join(', ')}` });
const format = z.enum(PAYLOAD_FORMATS, { error: `must be one of ${PAYLOAD_FORMATS.join(', ')}` });
const maxPerMinute = z
  .number({ error: 'must be a number of attempts a minute' })
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(6000, 'must be at most 6000')
  .nullable();

/** An endpoint's fields, checked as every way of adding one checks them (the managed configuration too). */
export const endpointFields = { url, types, secret, ca, autoRecover, format, maxPerMinute, headers };

const newEndpointSchema = z.strictObject({
  url,
  types: types.default(null),
  strictOrder: z.boolean().default(false),
  /** Generated when left out. */
  secret: secret.optional(),
  ca: ca.default(null),
  autoRecover: autoRecover.default('on'),
  format: format.default('snappic'),
  maxPerMinute: maxPerMinute.default(null),
  headers: headers.default({}),
});

const endpointChangesSchema = z.strictObject({
  url: url.optional(),
  types: types.optional(),
  strictOrder: z.boolean().optional(),
  ca: ca.optional(),
  enabled: z.boolean().optional(),
  autoRecover: autoRecover.optional(),
  format: format.optional(),
  maxPerMinute: maxPerMinute.optional(),
  /** Headers to add, or to give a new value. */
  headers: headers.optional(),
  /** Names of headers to remove. */
  removeHeaders: z.array(z.string(), { error: 'must be a list of header names' }).optional(),
});

export type NewEndpointInput = z.input<typeof newEndpointSchema>;
export type EndpointChangesInput = z.input<typeof endpointChangesSchema>;

function existing(ctx: OperationContext, id: string): Endpoint {
  const endpoint = ctx.store.endpoints.get(id);
  if (!endpoint) throw new Refusal('not-found', `there is no endpoint ${id}`);
  return endpoint;
}

/** The endpoint with secrets this process can sign with (SecretsLockedError when sealed). */
function signing(ctx: OperationContext, id: string): Endpoint {
  existing(ctx, id);
  return ctx.store.endpoints.unlocked(id)!;
}

/** Adds an endpoint (HTTPS only); the answer carries its secret, to hand to the receiver. */
export function addEndpoint(ctx: OperationContext, input: unknown): EndpointView & { secret: string } {
  const { secret: given, ...rest } = parseInput(newEndpointSchema, input);
  refuseTooManyHeaders(rest.headers);
  const added = ctx.store.endpoints.add({ ...rest, secret: given ?? generateSecret() }, ctx.now());
  ctx.log.info({ endpoint: added.id, url: added.url, headers: Object.keys(added.headers), by: 'operator' }, 'endpoint added');
  ctx.wake();
  return { ...publicEndpoint(added), secret: added.secret };
}

/**
 * Changes an endpoint's URL, types, order, CA, recovery, format, rate, headers or whether
 * it is enabled. Headers not named keep their values (which the operator cannot see).
 */
export function editEndpoint(ctx: OperationContext, id: string, input: unknown): EndpointView {
  const endpoint = existing(ctx, id);
  const { enabled, headers: given, removeHeaders, ...rest } = parseInput(endpointChangesSchema, input);
  const changes = {
    ...rest,
    ...(given || removeHeaders ? { headers: mergeHeaders(endpoint.headers, given ?? {}, removeHeaders ?? []) } : {}),
  };
  ctx.store.endpoints.update(id, changes);
  const changed = Object.keys(changes).filter((key) => changes[key as keyof typeof changes] !== undefined);
  // Header names only: their values never reach the log.
  if (changed.length > 0)
    ctx.log.info({ endpoint: id, changed, headers: Object.keys(changes.headers ?? {}), by: 'operator' }, 'endpoint changed');
  if (enabled !== undefined) return setEndpointEnabled(ctx, id, enabled);
  ctx.wake();
  return publicEndpoint(existing(ctx, id));
}

/** The endpoint's headers with `given` set and `removed` taken away (names compared ignoring case). */
function mergeHeaders(current: Record<string, string>, given: Record<string, string>, removed: readonly string[]): Record<string, string> {
  const drop = new Set([...removed, ...Object.keys(given)].map((name) => name.toLowerCase()));
  const unknown = removed.filter((name) => !Object.keys(current).some((have) => have.toLowerCase() === name.toLowerCase()));
  if (unknown.length > 0) {
    throw Refusal.invalid(unknown.map((name) => ({ path: 'removeHeaders', message: `the endpoint has no header ${name}` })));
  }
  const kept = Object.entries(current).filter(([name]) => !drop.has(name.toLowerCase()));
  const merged = { ...Object.fromEntries(kept), ...given };
  refuseTooManyHeaders(merged);
  return merged;
}

function refuseTooManyHeaders(headers: Record<string, string>): void {
  if (Object.keys(headers).length > MAX_HEADERS) {
    throw Refusal.invalid([{ path: 'headers', message: `an endpoint can have at most ${MAX_HEADERS} extra headers` }]);
  }
}

/** Enables (brings back one a 410 disabled, sending what waited) or disables an endpoint. */
export function setEndpointEnabled(ctx: OperationContext, id: string, enabled: boolean): EndpointView {
  existing(ctx, id);
  ctx.store.endpoints.setEnabled(id, enabled, 'disabled by the operator', ctx.now());
  ctx.log.info({ endpoint: id, by: 'operator' }, enabled ? 'endpoint enabled' : 'endpoint disabled');
  ctx.wake();
  return publicEndpoint(existing(ctx, id));
}

/** Removes an endpoint with its deliveries; says how many undelivered ones went with it. */
export function removeEndpoint(ctx: OperationContext, id: string): { removed: string; undeliveredDropped: number } {
  existing(ctx, id);
  const undeliveredDropped = ctx.store.views.undeliveredCount(id);
  ctx.store.endpoints.remove(id);
  ctx.log.info({ endpoint: id, undeliveredDropped, by: 'operator' }, 'endpoint removed');
  ctx.wake();
  return { removed: id, undeliveredDropped };
}

/**
 * Gives the endpoint a new secret. For ROTATION_OVERLAP_MS the previous one keeps signing
 * webhook-signature beside it; X-Signature stays on the previous one until confirmed.
 */
export function rotateSecret(ctx: OperationContext, id: string): { secret: string; endpoint: EndpointView } {
  existing(ctx, id);
  const secret = generateSecret();
  ctx.store.endpoints.rotateSecret(id, secret, ctx.now() + ROTATION_OVERLAP_MS);
  ctx.log.info({ endpoint: id, by: 'operator' }, 'secret rotated');
  ctx.wake();
  return { secret, endpoint: publicEndpoint(existing(ctx, id)) };
}

/** Shows the endpoint's secret (and, while a rotation is pending, the one receivers may still check). */
export function revealSecret(ctx: OperationContext, id: string): { secret: string; previousSecret: string | null } {
  const endpoint = signing(ctx, id);
  ctx.log.info({ endpoint: id, by: 'operator' }, 'secret revealed');
  return { secret: endpoint.secret, previousSecret: endpoint.rotationPending ? endpoint.previousSecret : null };
}

/** The receivers have the new secret: X-Signature switches to it. */
export function confirmRotation(ctx: OperationContext, id: string): EndpointView {
  existing(ctx, id);
  if (!ctx.store.endpoints.confirmRotation(id)) throw new Refusal('conflict', `endpoint ${id} has no rotation to confirm`);
  ctx.log.info({ endpoint: id, by: 'operator' }, 'secret rotation confirmed');
  ctx.wake();
  return publicEndpoint(existing(ctx, id));
}

/** Verify: one small signed POST, not stored, and what happened in plain words. */
export async function verifyEndpoint(ctx: OperationContext, id: string): Promise<VerifyReport & { url: string }> {
  const endpoint = signing(ctx, id);
  const settings = ctx.store.settings.read();
  const report = await verify(endpoint, ctx.sender(), settings.event_id, settings.connect_timeout_ms);
  ctx.log.info({ endpoint: id, ok: report.ok, status: report.status, by: 'operator' }, 'endpoint verified');
  return { ...report, url: endpoint.url };
}

/** Send Test: the example payload of `type`, stored, signed and tried at once. */
export async function sendTestEvent(ctx: OperationContext, id: string, type: unknown): Promise<TestResult> {
  const endpoint = signing(ctx, id);
  const payloadType = parseInput(z.object({ type: payloadTypeSchema }), { type }).type;
  const result = await sendTest(
    { queue: ctx.store.queue, sender: ctx.sender(), log: ctx.log, owner: ctx.owner, now: ctx.now },
    endpoint,
    payloadType,
    ctx.store.settings.read(),
  );
  ctx.wake();
  return result;
}
