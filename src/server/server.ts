// The loopback server: capture API (docs/capture-api.md). Fastify does the routing, the
// content-type check and the body-size limit; we add the Host check and the token.
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { bearerToken, hostAllowed, idempotencyKeyProblem, tokensEqual } from '../core/request-guard.js';
import { registerAdminApi, type AdminDeps } from './admin-api.js';
import type { Trigger } from '../capture/dslrbooth.js';
import type { ApiIngestResult } from '../capture/ingest.js';
import { CONTENT_SECURITY_POLICY, type PanelFile } from './panel-files.js';
import { isPlainFileName, type MediaLinks } from '../core/media.js';
import type { MediaReceipt } from '../media/capture.js';
import { QR_FORMATS, type QrCode, type QrFormat } from '../operations/sessions.js';
import { qrCodeRoute } from './qr-code-route.js';

const PLAIN_NAME = 'must be a plain file name: no folder, none of \\ / : * ? " < > |, not ending in a dot or a space';

export const MAX_BODY_BYTES = 256 * 1024;
/**
 * A session id has no length limit of its own, and fastify's router matches no parameter
 * longer than its default 100 characters (such a request fell through to the panel's files,
 * "not found"). Node refuses a request whose head is over 16 KiB, which bounds every
 * parameter anyway.
 */
const MAX_PARAM_LENGTH = 16 * 1024;

export interface ServerDeps {
  port: number;
  version: string;
  ingestToken: () => string;
  ingest: (body: Buffer, idempotencyKey: string | null) => Promise<ApiIngestResult>;
  /** A session's file sent as a request body (PUT /v1/sessions/{id}/media/{name}). */
  receiveMedia: (sessionId: string, name: string, body: AsyncIterable<Uint8Array>, declaredSize: number | null) => Promise<MediaReceipt>;
  /** The QR code of a session's link (GET /v1/sessions/{id}/qr.svg|png); a refusal is its 404. */
  sessionQrCode: (sessionId: string, format: QrFormat) => Promise<QrCode>;
  /** A dslrBooth trigger (docs/capture-api.md), handled after the booth has its answer. */
  trigger: (trigger: Trigger) => void;
  log: Logger;
  /** The operator's panel: its admin API and its files. */
  panel?: { api: Omit<AdminDeps, 'port'>; files: Map<string, PanelFile> };
}

/** A session whose file the agent uploads: the links its webhooks will carry (docs/capture-api.md, "Media"). */
const mediaLinks = (links: MediaLinks | undefined) => (links === undefined ? {} : { direct_url: links.directUrl, site_url: links.siteUrl });

export interface CaptureServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Inputs are validated with zod (ingest.ts, admin-api.ts), never with route schemas, so
 * fastify's Ajv and fast-json-stringify compilers are never built, nor even loaded (they
 * cost start-up time, about 70 ms in a profile of `run`, for nothing).
 */
const noRouteSchemas = () => () => {
  throw new Error('route schemas are not used: validate with zod');
};

export async function startServer(deps: ServerDeps): Promise<CaptureServer> {
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_BODY_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A path the router cannot decode (a % not followed by two hex digits, as in a session id
    // pasted unencoded) is refused in the API's own shape, without echoing the path, which
    // may hold the token.
    frameworkErrors: (_error, _request, reply: FastifyReply) => {
      void reply.code(400).send({ error: 'the path is not valid: encode it (a % must start an escape such as %25)' });
    },
    return503OnClosing: true,
    schemaController: { compilersFactory: { buildValidator: noRouteSchemas, buildSerializer: noRouteSchemas } },
  });
  let port = deps.port;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('onRequest', async (request, reply) => {
    if (!hostAllowed(request.headers.host, port)) {
      return reply.code(403).send({ error: `refused: the Host header must be 127.0.0.1:${port} or localhost:${port}` });
    }
  });

  const requireIngestToken = async (request: FastifyRequest<{ Params: { token?: string } }>, reply: FastifyReply) => {
    const given = request.params.token ?? bearerToken(request.headers.authorization);
    if (!tokensEqual(given, deps.ingestToken())) {
      return reply.code(401).send({ error: 'a valid ingest token is required (Authorization: Bearer <token>, or /t/<token>/v1/events)' });
    }
  };

  const capture = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers['idempotency-key'];
    const key = Array.isArray(header) ? header[0] : header;
    if (key !== undefined) {
      const problem = idempotencyKeyProblem(key);
      if (problem) {
        return reply.code(400).send({ error: 'bad Idempotency-Key header', issues: [{ path: 'Idempotency-Key', message: problem }] });
      }
    }
    if (!Buffer.isBuffer(request.body)) {
      return reply.code(415).send({ error: 'the body must be JSON, sent with Content-Type: application/json' });
    }
    const result = await deps.ingest(request.body, key ?? null);
    switch (result.kind) {
      case 'accepted':
        return reply.code(202).send({ id: result.id, deliveries: result.deliveries, ...mediaLinks(result.links) });
      case 'duplicate':
        return reply.code(200).send({ id: result.id, deliveries: result.deliveries, duplicate: true, ...mediaLinks(result.links) });
      case 'invalid':
        return reply.code(400).send({ error: result.error, issues: result.issues });
      case 'unavailable':
        return reply.code(503).header('retry-after', '10').send({ error: result.error });
      case 'insufficient-storage':
        return reply.code(507).send({ error: result.error });
    }
  };

  app.get('/healthz', async () => ({ ok: true, version: deps.version }));
  // A file's bytes, of any type and up to media_max_mb: in a context of its own, whose parser
  // hands the body on as a stream, so no other route takes anything but JSON.
  await app.register(async (media) => {
    media.removeAllContentTypeParsers();
    media.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    media.put<{ Params: { session_id: string; file_name: string; token?: string } }>(
      '/v1/sessions/:session_id/media/:file_name',
      { onRequest: requireIngestToken },
      async (request, reply) => {
        const { session_id: sessionId, file_name: name } = request.params;
        const problem =
          sessionId === ''
            ? { path: 'session_id', message: 'must not be empty' }
            : isPlainFileName(name)
              ? null
              : { path: 'file_name', message: PLAIN_NAME };
        const length = Number(request.headers['content-length']);
        const receipt: MediaReceipt = problem
          ? { kind: 'refused', status: 400, error: `${problem.path}: ${problem.message}`, issues: [problem] }
          : await deps.receiveMedia(
              sessionId,
              name,
              request.body as AsyncIterable<Uint8Array>,
              Number.isSafeInteger(length) ? length : null,
            );
        if (receipt.kind === 'received') return reply.code(201).send({ media: receipt.id, size: receipt.size, sha256: receipt.sha256 });
        // A body refused before it was read is not read at all: the connection closes with the answer.
        const { kind: _kind, status, ...answer } = receipt;
        return reply.code(status).header('connection', 'close').send(answer);
      },
    );
  });
  app.post('/v1/events', { onRequest: requireIngestToken }, capture);
  app.post('/t/:token/v1/events', { onRequest: requireIngestToken }, capture);
  // The token may be in the path, so that a booth's screen can show the code with a plain <img src>.
  for (const format of Object.keys(QR_FORMATS) as QrFormat[]) {
    const qrCode = qrCodeRoute((sessionId) => deps.sessionQrCode(sessionId, format));
    for (const path of [`/v1/sessions/:session_id/qr.${format}`, `/t/:token/v1/sessions/:session_id/qr.${format}`]) {
      app.get<{ Params: { session_id: string; token?: string } }>(path, { onRequest: requireIngestToken }, qrCode);
    }
  }
  // dslrBooth waits on this answer with its screen, so it comes first; the trigger's work
  // (a few small SQLite writes) follows straight after.
  app.get<{ Params: { token: string }; Querystring: Record<string, string | string[] | undefined> }>(
    '/t/:token/dslrbooth',
    { onRequest: requireIngestToken },
    async (request, reply) => {
      const first = (name: string) => {
        const value = request.query[name];
        return (Array.isArray(value) ? value[0] : value) ?? '';
      };
      const trigger: Trigger = { eventType: first('event_type'), params: ['param1', 'param2', 'param3', 'param4'].map(first) };
      reply.raw.once('finish', () => setImmediate(() => deps.trigger(trigger)));
      return reply.code(200).type('text/plain').send('ok');
    },
  );

  if (deps.panel) {
    registerAdminApi(app, { ...deps.panel.api, port: () => port });
    const { files } = deps.panel;
    app.get('/*', async (request, reply) => {
      const file = files.get(request.url.split('?')[0]!);
      if (!file) return reply.code(404).send({ error: 'not found' });
      return reply
        .header('content-type', file.type)
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
        .header('cache-control', 'no-store')
        .send(file.body);
    });
  }

  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({ error: `no such route: ${request.method} ${request.url.replace(/\/t\/[^/]+/, '/t/…')}` }),
  );
  app.setErrorHandler(async (error: FastifyError, _request, reply) => {
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.code(413).send({ error: `the body is larger than ${MAX_BODY_BYTES / 1024} KiB` });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.code(415).send({ error: 'the body must be JSON, sent with Content-Type: application/json' });
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) deps.log.error({ err: error }, 'request failed');
    return reply.code(status).send({ error: status === 500 ? 'internal error' : error.message });
  });

  await app.listen({ host: '127.0.0.1', port: deps.port });
  const address = app.server.address();
  if (address && typeof address === 'object') port = address.port;
  return { port, close: () => app.close() };
}
