// The admin API under /api/: the only way the panel reads or changes anything. Every route
// passes the guard of core/request-guard.ts first. The reads are here; every change is an
// operation of src/operations/, which validates its input and refuses with the field it is
// about, so the panel can show the problem next to that field.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DELIVERY_STATUSES } from '../core/policy.js';
import { AGENT_EVENT_TYPES } from '../core/event-types.js';
import { PAYLOAD_TYPES } from '../core/payload.js';
import { checkAdminRequest } from '../core/request-guard.js';
import { hotFolderFiles } from '../capture/hot-folder.js';
import { maskHeaders } from '../core/endpoint-headers.js';
import { renderBody } from '../core/formats.js';
import { requestHeaders } from '../delivery/sender.js';
import type { ManagedConfigResult } from '../managed-config.js';
import { parseInput, Refusal, type OperationContext } from '../operations/context.js';
import { retryAllFailed, retryDelivery, setPaused } from '../operations/deliveries.js';
import {
  addEndpoint,
  confirmRotation,
  editEndpoint,
  removeEndpoint,
  revealSecret,
  rotateSecret,
  sendTestEvent,
  verifyEndpoint,
} from '../operations/endpoints.js';
import { exportEvents } from '../operations/export.js';
import { replayToEndpoint } from '../operations/replay.js';
import { closeoutVerdict } from '../core/closeout.js';
import { closeout } from '../operations/closeout.js';
import { eraseGuest } from '../operations/erase.js';
import { changeSettings } from '../operations/settings.js';
import { removeStorage, setStorage, showStorage, verifyStorage } from '../operations/storage.js';
import { retryUploads } from '../operations/uploads.js';
import { sessionQrCode } from '../operations/sessions.js';
import { agentUrls } from '../operations/urls.js';
import { UPLOAD_STATUSES } from '../core/media.js';
import type { Settings } from '../core/settings.js';
import { publicEndpoint } from '../store/endpoints.js';
import { summarize } from '../store/store.js';
import type {
  AddedEndpoint,
  CloseoutReport,
  DayStats,
  DeliveryDetail,
  DeliveryPage,
  EndpointView,
  ExportQuery,
  EraseResult,
  HotFolderListing,
  PanelState,
  RemovedEndpoint,
  RemovedStorage,
  ReplayResult,
  RetriedUploads,
  RevealedSecret,
  RotatedSecret,
  StorageVerifyReport,
  StorageView,
  TestResult,
  UploadPage,
  VerifyReport,
  WireSettings,
} from './admin-types.js';
import type { ChangeFeed } from './change-feed.js';
import { qrCodeRoute } from './qr-code-route.js';

export interface AdminDeps {
  operations: OperationContext;
  changes: ChangeFeed;
  version: string;
  userAgent: string;
  /** The port the server listens on, for the Host check. */
  port: () => number;
  /** What became of the managed configuration file at start, for the panel's warnings. */
  managedConfig: ManagedConfigResult;
}

const HEARTBEAT_MS = 15_000;

const REFUSAL_STATUS: Record<Refusal['kind'], number> = { invalid: 400, 'not-found': 404, conflict: 409, 'not-running': 503 };

const deliveriesQuery = z.object({
  status: z.enum(DELIVERY_STATUSES as [string, ...string[]]).optional(),
  type: z.enum([...PAYLOAD_TYPES, ...AGENT_EVENT_TYPES], { error: 'must be a payload type or an agent.* alert' }).optional(),
  session: z
    .string()
    .trim()
    .max(200)
    .optional()
    .transform((s) => s || undefined),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const uploadsQuery = z.object({
  status: z.enum(UPLOAD_STATUSES as [string, ...string[]]).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Runs one route's work; an operation's refusal becomes its status and message, with every issue. */
async function answer<T>(reply: FastifyReply, work: () => T | Promise<T>): Promise<T | FastifyReply> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    return reply
      .code(REFUSAL_STATUS[error.kind])
      .send({ error: error.message, ...(error.issues.length > 0 ? { issues: error.issues } : {}) });
  }
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

export function registerAdminApi(app: FastifyInstance, deps: AdminDeps): void {
  const { operations } = deps;
  const { store } = operations;
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

  app.get('/api/deliveries', (request, reply) =>
    answer<DeliveryPage>(reply, () => {
      const { status, type, session, before, limit } = parseInput(deliveriesQuery, request.query);
      const items = store.views.list({
        status: status as (typeof DELIVERY_STATUSES)[number] | undefined,
        type,
        sessionId: session,
        before,
        limit,
      });
      return { items, next: items.length === limit ? items[items.length - 1]!.cursor : null };
    }),
  );

  app.get('/api/deliveries/:id', (request: IdRequest, reply) =>
    answer<DeliveryDetail>(reply, () => {
      const delivery = store.views.get(request.params.id);
      const event = store.views.eventOf(request.params.id);
      if (!delivery || !event) throw new Refusal('not-found', `there is no delivery ${request.params.id}`);
      // Its endpoint exists: removing an endpoint removes its deliveries.
      const endpoint = store.endpoints.get(delivery.endpointId)!;
      const lastAttempt = delivery.attempts[delivery.attempts.length - 1];
      // The body in the endpoint's format, as sent (after a change of format, as the next attempt will send it).
      const body = renderBody(endpoint.format, event.body, delivery.test);
      return {
        ...delivery,
        payload: Buffer.from(body).toString('utf8'),
        occurredAt: event.occurredAt,
        siteUrl: event.sessionId === null ? null : (store.views.sessionLink(event.sessionId)?.siteUrl ?? null),
        // As sent on the last attempt (signatures are made afresh for every attempt).
        requestHeaders: lastAttempt
          ? requestHeaders(
              { ...endpoint, headers: maskHeaders(endpoint.headers) },
              delivery.id,
              body,
              lastAttempt.startedAt,
              deps.userAgent,
              delivery.test,
            )
          : null,
        attempts: delivery.attempts.map((a) => ({ ...a, responseHead: a.responseHead?.toString('utf8') ?? null })),
      };
    }),
  );

  // The panel's token travels in a header, which an <img src> cannot send: the page fetches the code itself.
  app.get(
    '/api/sessions/:session_id/qr.svg',
    qrCodeRoute((sessionId) => sessionQrCode(operations, sessionId, 'svg')),
  );

  app.post('/api/deliveries/:id/retry', (request: IdRequest, reply) => answer(reply, () => retryDelivery(operations, request.params.id)));
  app.post('/api/deliveries/retry-failed', (_request, reply) => answer(reply, () => retryAllFailed(operations)));
  app.post('/api/pause', (_request, reply) => answer(reply, () => setPaused(operations, true)));
  app.post('/api/resume', (_request, reply) => answer(reply, () => setPaused(operations, false)));

  app.get('/api/stats/day', async (): Promise<DayStats> => ({ hours: store.views.dayStats(Date.now()) }));
  app.get('/api/hot-folder', async (): Promise<HotFolderListing> => ({ files: hotFolderFiles(store.db, { limit: 50 }) }));

  app.get('/api/export', (request: FastifyRequest<{ Querystring: ExportQuery }>, reply) =>
    answer(reply, () => {
      const { type, ...query } = request.query;
      const download = exportEvents(operations, { ...query, ...(type !== undefined ? { types: [type].flat() } : {}) });
      return reply
        .type(download.contentType)
        .header('content-disposition', `attachment; filename="${download.filename}"`)
        .header('cache-control', 'no-store')
        .send(download.stream);
    }),
  );
  app.get('/api/closeout', (request, reply) => answer<CloseoutReport>(reply, () => closeout(operations, request.query)));
  app.post('/api/erase', (request, reply) => answer<EraseResult>(reply, () => eraseGuest(operations, jsonBody(request))));

  app.put('/api/settings', (request, reply) => answer<WireSettings>(reply, () => changeWireSettings(operations, jsonBody(request))));

  app.get('/api/storage', (_request, reply) =>
    answer<StorageView>(reply, () => {
      const storage = showStorage(operations);
      if (storage === null) throw new Refusal('not-found', 'no storage is set');
      return storage;
    }),
  );
  app.put('/api/storage', (request, reply) => answer<StorageView>(reply, () => setStorage(operations, jsonBody(request))));
  app.delete('/api/storage', (request, reply) => answer<RemovedStorage>(reply, () => removeStorage(operations, request.query)));
  app.get('/api/uploads', (request, reply) =>
    answer<UploadPage>(reply, () => {
      const { status, limit } = parseInput(uploadsQuery, request.query);
      return { items: store.media.list({ status: status as (typeof UPLOAD_STATUSES)[number] | undefined, limit }), now: Date.now() };
    }),
  );
  app.post('/api/uploads/retry', (request, reply) => answer<RetriedUploads>(reply, () => retryUploads(operations, jsonBody(request))));
  app.post('/api/storage/verify', (_request, reply) => answer<StorageVerifyReport>(reply, () => verifyStorage(operations)));

  app.post('/api/endpoints', (request, reply) =>
    answer(reply, () => reply.code(201).send(addEndpoint(operations, jsonBody(request)) satisfies AddedEndpoint)),
  );
  app.patch('/api/endpoints/:id', (request: IdRequest, reply) =>
    answer<EndpointView>(reply, () => editEndpoint(operations, request.params.id, jsonBody(request))),
  );
  app.delete('/api/endpoints/:id', (request: IdRequest, reply) =>
    answer<RemovedEndpoint>(reply, () => removeEndpoint(operations, request.params.id)),
  );

  app.get('/api/endpoints/:id/secret', (request: IdRequest, reply) =>
    answer<RevealedSecret>(reply, () => revealSecret(operations, request.params.id)),
  );
  app.post('/api/endpoints/:id/rotate-secret', (request: IdRequest, reply) =>
    answer<RotatedSecret>(reply, () => rotateSecret(operations, request.params.id)),
  );
  app.post('/api/endpoints/:id/confirm-rotation', (request: IdRequest, reply) =>
    answer<EndpointView>(reply, () => confirmRotation(operations, request.params.id)),
  );
  app.post('/api/endpoints/:id/verify', (request: IdRequest, reply) =>
    answer<VerifyReport>(reply, () => verifyEndpoint(operations, request.params.id)),
  );
  app.post('/api/endpoints/:id/replay', (request: IdRequest, reply) =>
    answer<ReplayResult>(reply, () => replayToEndpoint(operations, request.params.id, jsonBody(request))),
  );
  app.post('/api/endpoints/:id/test', (request: IdRequest, reply) =>
    answer<TestResult>(reply, () =>
      sendTestEvent(operations, request.params.id, (jsonBody(request) as { type?: unknown } | undefined)?.type),
    ),
  );
}

/** Everything the panel's header and endpoint list show, in one snapshot. */
export function state(deps: Pick<AdminDeps, 'operations' | 'version' | 'managedConfig'>): PanelState {
  const { store } = deps.operations;
  const urls = agentUrls(deps.operations);
  const summary = summarize(store);
  return {
    version: deps.version,
    now: Date.now(),
    ...summary,
    closeout: { ...summary.closeout, ...closeoutVerdict(summary.closeout) },
    settings: toWire(store.settings.read()),
    endpoints: store.endpoints.list().map(publicEndpoint),
    storage: showStorage(deps.operations),
    managedConfigProblem: deps.managedConfig.status === 'invalid' ? `${deps.managedConfig.file}: ${deps.managedConfig.problem}` : null,
    ingest: { token: urls.ingestToken, ...urls.capture },
  };
}

const camelKey = (key: string) => key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
const snakeKey = (key: string) => key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** The settings in the wire's casing. */
function toWire(settings: Readonly<Settings>): WireSettings {
  return Object.fromEntries(Object.entries(settings).map(([key, value]) => [camelKey(key), value])) as WireSettings;
}

/** A settings change from the wire, in the settings' own names (anything but an object is left for the operation to refuse). */
function fromWire(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [snakeKey(key), value]));
}

/** PUT /api/settings: the change, answered in the wire's casing; a refusal names the wire's field. */
async function changeWireSettings(operations: OperationContext, body: unknown): Promise<WireSettings> {
  try {
    return toWire(await changeSettings(operations, fromWire(body)));
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    throw Refusal.invalid(error.issues.map((issue) => ({ ...issue, path: camelKey(issue.path) })));
  }
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
