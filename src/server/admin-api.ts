// The admin API under /api/: the only way the panel reads or changes anything. Every route
// passes the guard of core/request-guard.ts first; every input is validated with zod and a
// refusal names the field, so the panel can show it next to that field.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { endpointUrlProblem } from '../core/endpoint-url.js';
import { payloadTypeSchema, type Issue } from '../core/payload.js';
import { checkAdminRequest } from '../core/request-guard.js';
import { settingsSchema } from '../core/settings.js';
import { generateSecret } from '../core/signing.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import { sendTest } from '../delivery/send-test.js';
import { requestHeaders, type Sender } from '../delivery/sender.js';
import { verifyEndpoint } from '../delivery/verify.js';
import { publicEndpoint, type Endpoint } from '../store/endpoints.js';
import { DELIVERY_STATUSES } from '../core/policy.js';
import { summarize, type Store } from '../store/store.js';
import type { ManagedConfigResult } from '../managed-config.js';
import type { ChangeFeed } from './change-feed.js';

export interface AdminDeps {
  store: Store;
  dispatcher: Dispatcher;
  sender: Sender;
  changes: ChangeFeed;
  log: Logger;
  /** Lease owner of this agent (Send Test claims its delivery with it). */
  owner: string;
  version: string;
  userAgent: string;
  port: () => number;
  /** What became of the managed configuration file at start, for the panel's warnings. */
  managedConfig: ManagedConfigResult;
}

/** The previous secret keeps signing beside a rotated one this long (webhooks.md). */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;
const HEARTBEAT_MS = 15_000;

const endpointUrl = z.string({ error: 'is required' }).superRefine((url, ctx) => {
  const problem = endpointUrlProblem(url);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const types = z.array(payloadTypeSchema, { error: 'must be a list of payload types' }).min(1, 'choose at least one type').nullable();

const newEndpointSchema = z.strictObject({
  url: endpointUrl,
  types: types.default(null),
  strictOrder: z.boolean().default(false),
});

const endpointChangesSchema = z.strictObject({
  url: endpointUrl.optional(),
  types: types.optional(),
  strictOrder: z.boolean().optional(),
  enabled: z.boolean().optional(),
});

const deliveriesQuery = z.object({
  status: z.enum(DELIVERY_STATUSES as [string, ...string[]]).optional(),
  type: payloadTypeSchema.optional(),
  session: z.string().trim().max(200).optional().transform((s) => s || undefined),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const testSchema = z.strictObject({ type: payloadTypeSchema });
const settingsChanges = settingsSchema.partial().strict();

type Parsed<T> = { ok: true; value: T } | { ok: false };

export function registerAdminApi(app: FastifyInstance, deps: AdminDeps): void {
  const { store, dispatcher } = deps;
  const streams = new Set<() => void>();

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/')) return;
    const verdict = checkAdminRequest(
      {
        host: request.headers.host,
        origin: request.headers.origin,
        secFetchSite: header(request, 'sec-fetch-site'),
        authorization: request.headers.authorization,
      },
      deps.port(),
      store.settings.token('admin_token'),
    );
    if (!verdict.ok) return reply.code(verdict.status).send({ error: verdict.reason });
  });
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });

  /** Validates `value`, or answers 400 with every issue and its path. */
  const parse = <T>(schema: z.ZodType<T>, value: unknown, reply: FastifyReply): Parsed<T> => {
    const result = schema.safeParse(value);
    if (result.success) return { ok: true, value: result.data };
    const issues: Issue[] = result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    void reply.code(400).send({ error: issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), issues });
    return { ok: false };
  };

  const endpointOr404 = (id: string, reply: FastifyReply): Endpoint | null => {
    const endpoint = store.endpoints.get(id);
    if (!endpoint) void reply.code(404).send({ error: `there is no endpoint ${id}` });
    return endpoint;
  };

  const changed = () => dispatcher.wake();

  app.get('/api/state', async () => state(deps));

  app.get('/api/stream', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const send = () => res.write(`event: state\ndata: ${JSON.stringify(state(deps))}\n\n`);
    send();
    const unsubscribe = deps.changes.subscribe(send);
    const heartbeat = setInterval(() => res.write(': still here\n\n'), HEARTBEAT_MS);
    const end = () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(end);
      res.end();
    };
    streams.add(end);
    request.raw.on('close', end);
  });

  app.get('/api/deliveries', async (request, reply) => {
    const query = parse(deliveriesQuery, request.query, reply);
    if (!query.ok) return;
    const { status, type, session, before, limit } = query.value;
    const items = store.views.list({ status: status as (typeof DELIVERY_STATUSES)[number] | undefined, type, sessionId: session, before, limit });
    return { items, next: items.length === limit ? items[items.length - 1]!.cursor : null };
  });

  app.get<{ Params: { id: string } }>('/api/deliveries/:id', async (request, reply) => {
    const delivery = store.views.get(request.params.id);
    const event = store.views.eventOf(request.params.id);
    if (!delivery || !event) return reply.code(404).send({ error: `there is no delivery ${request.params.id}` });
    const endpoint = store.endpoints.get(delivery.endpointId)!;
    const lastAttempt = delivery.attempts[delivery.attempts.length - 1];
    return {
      ...delivery,
      payload: event.body.toString('utf8'),
      occurredAt: event.occurredAt,
      // As sent on the last attempt (signatures are made afresh for every attempt).
      requestHeaders: lastAttempt
        ? requestHeaders(endpoint, delivery.id, event.body, lastAttempt.startedAt, deps.userAgent, delivery.test)
        : null,
      attempts: delivery.attempts.map((a) => ({ ...a, responseHead: a.responseHead?.toString('utf8') ?? null })),
    };
  });

  app.post<{ Params: { id: string } }>('/api/deliveries/:id/retry', async (request, reply) => {
    const result = store.queue.retry(request.params.id, Date.now());
    if (!result.ok) return reply.code(409).send({ error: result.reason });
    deps.log.info({ delivery: request.params.id, from: 'failed', to: 'queued', by: 'operator' }, 'delivery state');
    changed();
    return { retried: 1 };
  });

  app.post('/api/deliveries/retry-failed', async () => {
    const retried = store.queue.retryAllFailed(Date.now());
    deps.log.info({ retried, by: 'operator' }, 'retry all failed');
    changed();
    return { retried };
  });

  for (const [path, paused] of [
    ['/api/pause', true],
    ['/api/resume', false],
  ] as const) {
    app.post(path, async () => {
      store.settings.write('paused', paused);
      deps.log.info({ by: 'operator' }, paused ? 'delivery paused' : 'delivery resumed');
      changed();
      return { paused };
    });
  }

  app.get('/api/stats/day', async () => ({ hours: store.views.dayStats(Date.now()) }));

  app.put('/api/settings', async (request, reply) => {
    const changes = parse(settingsChanges, jsonBody(request), reply);
    if (!changes.ok) return;
    for (const [key, value] of Object.entries(changes.value)) store.settings.write(key as keyof typeof changes.value, value as never);
    changed();
    return store.settings.read();
  });

  app.post('/api/endpoints', async (request, reply) => {
    const input = parse(newEndpointSchema, jsonBody(request), reply);
    if (!input.ok) return;
    const { url, types: subscribed, strictOrder } = input.value;
    const endpoint = store.endpoints.add({ url: new URL(url).href, types: subscribed, strictOrder, secret: generateSecret(), ca: null }, Date.now());
    deps.log.info({ endpoint: endpoint.id, url: endpoint.url }, 'endpoint added');
    changed();
    return reply.code(201).send({ ...publicEndpoint(endpoint), secret: endpoint.secret });
  });

  app.patch<{ Params: { id: string } }>('/api/endpoints/:id', async (request, reply) => {
    if (!endpointOr404(request.params.id, reply)) return;
    const input = parse(endpointChangesSchema, jsonBody(request), reply);
    if (!input.ok) return;
    const { enabled, url, ...rest } = input.value;
    store.endpoints.update(request.params.id, { ...rest, ...(url !== undefined ? { url: new URL(url).href } : {}) });
    if (enabled !== undefined) store.endpoints.setEnabled(request.params.id, enabled, 'disabled by the operator');
    changed();
    return publicEndpoint(store.endpoints.get(request.params.id)!);
  });

  app.delete<{ Params: { id: string } }>('/api/endpoints/:id', async (request, reply) => {
    if (!endpointOr404(request.params.id, reply)) return;
    const dropped = store.views.undeliveredCount(request.params.id);
    store.endpoints.remove(request.params.id);
    deps.log.info({ endpoint: request.params.id, undeliveredDropped: dropped }, 'endpoint removed');
    changed();
    return { removed: request.params.id, undeliveredDropped: dropped };
  });

  app.get<{ Params: { id: string } }>('/api/endpoints/:id/secret', async (request, reply) => {
    const endpoint = endpointOr404(request.params.id, reply);
    if (!endpoint) return;
    return { secret: endpoint.secret, previousSecret: endpoint.rotationPending ? endpoint.previousSecret : null };
  });

  app.post<{ Params: { id: string } }>('/api/endpoints/:id/rotate-secret', async (request, reply) => {
    if (!endpointOr404(request.params.id, reply)) return;
    const secret = generateSecret();
    store.endpoints.rotateSecret(request.params.id, secret, Date.now() + ROTATION_OVERLAP_MS);
    deps.log.info({ endpoint: request.params.id }, 'secret rotated');
    changed();
    return { secret, endpoint: publicEndpoint(store.endpoints.get(request.params.id)!) };
  });

  app.post<{ Params: { id: string } }>('/api/endpoints/:id/confirm-rotation', async (request, reply) => {
    if (!endpointOr404(request.params.id, reply)) return;
    if (!store.endpoints.confirmRotation(request.params.id)) return reply.code(409).send({ error: 'there is no rotation to confirm' });
    deps.log.info({ endpoint: request.params.id }, 'secret rotation confirmed');
    changed();
    return publicEndpoint(store.endpoints.get(request.params.id)!);
  });

  app.post<{ Params: { id: string } }>('/api/endpoints/:id/verify', async (request, reply) => {
    const endpoint = endpointOr404(request.params.id, reply);
    if (!endpoint) return;
    const settings = store.settings.read();
    return verifyEndpoint(endpoint, deps.sender, settings.event_id, settings.connect_timeout_ms);
  });

  app.post<{ Params: { id: string } }>('/api/endpoints/:id/test', async (request, reply) => {
    const endpoint = endpointOr404(request.params.id, reply);
    if (!endpoint) return;
    const input = parse(testSchema, jsonBody(request), reply);
    if (!input.ok) return;
    const result = await sendTest(
      { queue: store.queue, sender: deps.sender, log: deps.log, owner: deps.owner },
      endpoint,
      input.value.type,
      store.settings.read(),
    );
    changed();
    return result;
  });
}

/** Everything the panel's header and endpoint list show, in one snapshot. */
export function state(deps: Pick<AdminDeps, 'store' | 'version' | 'port' | 'managedConfig'>) {
  const { store } = deps;
  const port = deps.port();
  const token = store.settings.token('ingest_token');
  const settings = store.settings.read();
  return {
    version: deps.version,
    now: Date.now(),
    ...summarize(store),
    eventId: settings.event_id,
    booth: {
      mediaUrlTemplate: settings.media_url_template,
      hotFolder: settings.hot_folder,
      hotFolderPolling: settings.hot_folder_polling,
      deviceName: settings.device_name,
    },
    endpoints: store.endpoints.list().map(publicEndpoint),
    managedConfigProblem: deps.managedConfig.status === 'invalid' ? `${deps.managedConfig.file}: ${deps.managedConfig.problem}` : null,
    ingest: {
      token,
      url: `http://127.0.0.1:${port}/v1/events`,
      pathUrl: `http://127.0.0.1:${port}/t/${token}/v1/events`,
      dslrBoothUrl: `http://127.0.0.1:${port}/t/${token}/dslrbooth`,
    },
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The JSON body of an admin request (the server hands every JSON body over as bytes). */
function jsonBody(request: FastifyRequest): unknown {
  if (!Buffer.isBuffer(request.body)) return {};
  try {
    return JSON.parse(request.body.toString('utf8'));
  } catch {
    return undefined;
  }
}
