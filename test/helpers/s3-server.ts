// An S3-compatible service on 127.0.0.1 over HTTPS, for the storage tests. s3rver 3.7.1 keeps the
// bucket on disk behind a front in this file, which does what s3rver does not and a real service
// does: checks each request's SigV4 signature (header or presigned query) by re-signing it with aws4,
// the clock, the key's policy (deny()), the payload's SHA-256 and Content-MD5; answers ListParts, ListMultipartUploads and
// AbortMultipartUpload, and refuses a CompleteMultipartUpload that AWS or R2 would refuse. It lets
// anyone GET under the public prefixes, and a test can take it down, count its requests, and read
// what it stores. Only path-style addressing: the endpoint is an IP address.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import aws4 from 'aws4';
import S3rver from 's3rver';
import type { StorageConfig } from '../../src/storage/config.js';
import type { S3Config } from '../../src/storage/s3-client.js';
import { tempDir } from './temp.js';
import { testCertificate, type TestCertificate } from './tls.js';

export type S3Operation =
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'ListMultipartUploads'
  | 'ListObjects'
  | 'HeadBucket'
  | 'Other';

export interface S3Request {
  operation: S3Operation;
  method: string;
  key: string | null;
  partNumber: number | null;
  uploadId: string | null;
  headers: IncomingHttpHeaders;
  at: number;
  /** The bytes of its body that have arrived so far. */
  received: number;
  /** The status of what s3rver answered, once it has and before the answer is sent on; 0 until then. */
  stored: number;
  /** When s3rver answered (a completed upload can be read from then on), whether or not the answer reached the client; 0 until then. */
  storedAt: number;
  /** The answer's status, 0 until it is sent. */
  status: number;
  /** The S3 error code of a refusal made by the front (s3rver's own errors are passed through as they are). */
  code: string | null;
}

/**
 * `refuse`: the port is closed (connection refused); `hang`: requests are read and never answered;
 * the others answer 503 with that S3 error code.
 */
export type Outage = 'refuse' | 'hang' | 'ServiceUnavailable' | 'SlowDown';

export interface IncompleteUpload {
  key: string;
  uploadId: string;
  /** The part numbers s3rver holds on disk for it. */
  parts: number[];
}

export interface S3ServerOptions {
  /** Keys anyone may GET without signing (a guest opening the link). */
  publicPrefixes?: string[];
  /** AWS's least size of a part other than the last; a test of many parts may lower it. */
  minPartBytes?: number;
}

export interface S3Server {
  endpoint: string;
  port: number;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  certificate: TestCertificate;
  /** An S3Config for this server, with any field replaced. */
  config(overrides?: Partial<S3Config>): S3Config;
  /** This service as a booth's storage, its files under `prefix`, their links public through the service itself. */
  storage(prefix: string): StorageConfig;
  /** The unsigned URL of a key, as a guest would open it. */
  objectUrl(key: string): string;
  /** Opens a link (public or presigned) as a guest's phone does: a plain GET, trusting this server's certificate. */
  open(url: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>;
  /** Every request that arrived, oldest first (the latest 10,000). */
  requests: S3Request[];
  count(operation: S3Operation, partNumber?: number): number;
  /**
   * Calls `listener` each time a piece of a request's body arrives (`received` counts the bytes so
   * far), and once s3rver has answered it (`stored`), before the answer is sent on: a test can act
   * at an exact point of a transfer, killing the client halfway through a part, or after the
   * storage has completed an upload and before the client can know. One listener at a time; null
   * removes it.
   */
  watch(listener: ((request: S3Request) => void) | null): void;
  /**
   * Holds the next answer of `operation` for `ms` after s3rver gave it, as a service still busy
   * with it does (the completion of a large upload): the work is done, and a multipart upload
   * stays listed until the answer goes.
   */
  hold(operation: S3Operation, ms: number): void;
  /** The key's policy: signed requests of these operations are refused with AccessDenied (none: all allowed). */
  deny(...operations: S3Operation[]): void;
  /** Fail every request until up(), or for `forMs`. */
  down(outage: Outage, forMs?: number): Promise<void>;
  up(): Promise<void>;
  /** Requests for the keys that match go unanswered, as a storage stalled on one object (null: none). */
  stall(keys: RegExp | null): void;
  /** The multipart uploads begun and neither completed nor aborted, as stored on disk. */
  incompleteUploads(): IncompleteUpload[];
  /** An object's bytes as stored, or null when there is none. */
  readObject(key: string): Promise<Buffer | null>;
  close(): Promise<void>;
}

const REGION = 'us-east-1';
const BUCKET = 'booth-media';
const ACCESS_KEY_ID = 'AKIABOOTHTEST0000001';
const SECRET_ACCESS_KEY = 'booth-test-secret-0000000000000000000000';
/** S3 refuses a request signed more than 15 minutes away from its own clock. */
const SKEW_LIMIT_MS = 15 * 60_000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_RECORDED = 10_000;
const BACKEND_TIMEOUT_MS = 10_000;
const QUERY_AUTH = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'];

interface Refusal {
  status: number;
  code: string;
  message: string;
}

interface Part {
  etag: string;
  size: number;
  lastModified: Date;
}

interface Upload {
  key: string;
  initiated: Date;
  parts: Map<number, Part>;
  /** s3rver has completed it; the front keeps listing it only while the answer is held. */
  completed?: boolean;
}

interface Parsed {
  bucket: string | null;
  key: string | null;
  query: URLSearchParams;
  /** The raw query string without the presigned-URL parameters, as s3rver is to see it. */
  forwardQuery: string;
  /** The raw path and query without X-Amz-Signature, as it was signed. */
  signedPath: string;
}

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const certificate = await testCertificate();
  const publicPrefixes = options.publicPrefixes ?? [];
  const minPartBytes = options.minPartBytes ?? 5 * 1024 * 1024;
  const directory = tempDir('s3rver-');
  const backend = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: BUCKET, configs: [] }] });
  const backendPort = (await backend.run()).port;
  const backendAgent = new Agent({ keepAlive: true });
  const uploads = new Map<string, Upload>();
  const requests: S3Request[] = [];
  const sockets = new Set<Socket>();
  let outage: Outage | null = null;
  let denied = new Set<S3Operation>();
  let stalled: RegExp | null = null;
  let outageTimer: NodeJS.Timeout | null = null;
  let watcher: ((request: S3Request) => void) | null = null;
  const held = new Map<S3Operation, number>();

  const server: Server = createServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) answerError(res, req.method ?? 'GET', { status: 500, code: 'InternalError', message: String(error) });
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const endpoint = `https://127.0.0.1:${port}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const parsed = parse(req.url ?? '/');
    const partNumber = parsed.query.get('partNumber');
    const record: S3Request = {
      operation: operationOf(method, parsed),
      method,
      key: parsed.key,
      partNumber: partNumber === null ? null : Number(partNumber),
      uploadId: parsed.query.get('uploadId'),
      headers: { ...req.headers },
      at: Date.now(),
      received: 0,
      stored: 0,
      storedAt: 0,
      status: 0,
      code: null,
    };
    requests.push(record);
    if (requests.length > MAX_RECORDED) requests.shift();
    res.on('finish', () => (record.status = res.statusCode));
    const refuse = (refusal: Refusal) => {
      record.code = refusal.code;
      answerError(res, method, refusal);
    };

    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      res.setHeader('connection', 'close');
      return refuse({ status: 400, code: 'EntityTooLarge', message: 'Your proposed upload exceeds the maximum allowed size.' });
    }
    const body = await readBody(req, (size) => {
      record.received = size;
      watcher?.(record);
    });
    if (outage === 'hang' || (stalled !== null && parsed.key !== null && stalled.test(parsed.key))) return;
    if (outage === 'ServiceUnavailable' || outage === 'SlowDown') return refuse(outageRefusal(outage));
    const refusal =
      authenticate(method, req.headers, parsed) ?? authorize(req.headers, record.operation) ?? checkPayload(req.headers, body);
    if (refusal) return refuse(refusal);

    const begun = record.uploadId === null ? undefined : uploads.get(record.uploadId);
    const upload = begun && begun.key === parsed.key && parsed.bucket === BUCKET ? begun : undefined;
    /** Sends s3rver's answer on; `settle` is what the front records of it, done when the answer goes. */
    const pass = async (answer: Answer, settle?: () => void) => {
      record.stored = answer.status;
      record.storedAt = Date.now();
      watcher?.(record);
      const hold = held.get(record.operation);
      if (hold !== undefined) {
        held.delete(record.operation);
        await new Promise((resolve) => setTimeout(resolve, hold));
      }
      settle?.();
      relay(res, answer);
    };
    const noSuchUpload = () => refuse({ status: 404, code: 'NoSuchUpload', message: 'The specified upload does not exist.' });
    switch (record.operation) {
      case 'CreateMultipartUpload': {
        const answer = await forward(req, parsed, body);
        const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(answer.body.toString('utf8'))?.[1];
        if (answer.status === 200 && uploadId && parsed.key !== null) {
          uploads.set(uploadId, { key: parsed.key, initiated: new Date(), parts: new Map() });
        }
        return pass(answer);
      }
      case 'UploadPart': {
        if (!upload) return noSuchUpload();
        const number = record.partNumber ?? 0;
        if (!Number.isInteger(number) || number < 1 || number > 10_000) {
          return refuse({
            status: 400,
            code: 'InvalidArgument',
            message: 'Part number must be an integer between 1 and 10000, inclusive.',
          });
        }
        const answer = await forward(req, parsed, body);
        const etag = answer.headers.etag;
        if (answer.status === 200 && typeof etag === 'string') {
          upload.parts.set(number, { etag, size: body.length, lastModified: new Date() });
        }
        return pass(answer);
      }
      case 'ListParts':
        if (!upload) return noSuchUpload();
        return answerXml(res, listParts(parsed, upload));
      case 'AbortMultipartUpload':
        if (!upload) return noSuchUpload();
        uploads.delete(record.uploadId ?? '');
        rmSync(join(uploadsDir(), record.uploadId ?? ''), { recursive: true, force: true });
        res.writeHead(204).end();
        return;
      case 'CompleteMultipartUpload': {
        // As S3 answers a completion sent again once the first went through.
        if (!upload || upload.completed) return noSuchUpload();
        const problem = checkCompletion(body.toString('utf8'), upload, minPartBytes);
        if (problem) return refuse(problem);
        const answer = await forward(req, parsed, body);
        upload.completed = answer.status === 200;
        return pass(answer, () => upload.completed && uploads.delete(record.uploadId ?? ''));
      }
      case 'ListMultipartUploads':
        if (parsed.bucket !== BUCKET) return refuse({ status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist.' });
        return answerXml(res, listUploads(parsed.query, uploads));
      default:
        return pass(await forward(req, parsed, body));
    }
  }

  function authenticate(method: string, headers: IncomingHttpHeaders, parsed: Parsed): Refusal | null {
    const authorization = headers.authorization;
    if (authorization !== undefined) return checkHeaderSignature(method, headers, parsed, authorization);
    if (parsed.query.has('X-Amz-Algorithm')) return checkQuerySignature(method, headers, parsed);
    const isPublic = parsed.key !== null && publicPrefixes.some((prefix) => parsed.key?.startsWith(prefix));
    if ((method === 'GET' || method === 'HEAD') && isPublic) return null;
    return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
  }

  /** The key's policy, after its signature is checked: anonymous reads are the public prefixes' business. */
  function authorize(headers: IncomingHttpHeaders, operation: S3Operation): Refusal | null {
    if (headers.authorization === undefined || !denied.has(operation)) return null;
    return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
  }

  function checkHeaderSignature(method: string, headers: IncomingHttpHeaders, parsed: Parsed, authorization: string): Refusal | null {
    const match =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
        authorization,
      );
    if (!match) return { status: 400, code: 'AuthorizationHeaderMalformed', message: 'The authorization header is malformed.' };
    const [, keyId = '', scopeDate = '', scopeRegion = '', signedHeaders = '', signature = ''] = match;
    const amzDate = header(headers, 'x-amz-date');
    const refusal = checkCredential(keyId, scopeDate, scopeRegion, amzDate);
    if (refusal) return refusal;
    if (Math.abs(amzTime(amzDate) - Date.now()) > SKEW_LIMIT_MS) {
      return {
        status: 403,
        code: 'RequestTimeTooSkewed',
        message: 'The difference between the request time and the current time is too large.',
      };
    }
    if (header(headers, 'x-amz-content-sha256') === '') {
      return { status: 400, code: 'InvalidRequest', message: 'Missing required header for this request: x-amz-content-sha256' };
    }
    const expected = signatureOf(method, parsed.signedPath, pick(headers, signedHeaders), scopeRegion, amzDate, false);
    return sameHex(expected, signature) ? null : signatureMismatch();
  }

  function checkQuerySignature(method: string, headers: IncomingHttpHeaders, parsed: Parsed): Refusal | null {
    const query = parsed.query;
    const [keyId, scopeDate, scopeRegion, service, terminator] = (query.get('X-Amz-Credential') ?? '').split('/');
    const amzDate = query.get('X-Amz-Date') ?? '';
    const expires = Number(query.get('X-Amz-Expires'));
    if (query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || service !== 's3' || terminator !== 'aws4_request') {
      return { status: 400, code: 'AuthorizationQueryParametersError', message: 'The query parameters of this signature are malformed.' };
    }
    if (!Number.isInteger(expires) || expires < 1 || expires > 604_800) {
      return { status: 400, code: 'AuthorizationQueryParametersError', message: 'X-Amz-Expires must be between 1 and 604800 seconds.' };
    }
    const refusal = checkCredential(keyId ?? '', scopeDate ?? '', scopeRegion ?? '', amzDate);
    if (refusal) return refusal;
    if (Date.now() > amzTime(amzDate) + expires * 1000) return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
    if (amzTime(amzDate) - Date.now() > SKEW_LIMIT_MS) return { status: 403, code: 'AccessDenied', message: 'Request is not valid yet' };
    const signedHeaders = query.get('X-Amz-SignedHeaders') ?? '';
    const expected = signatureOf(method, parsed.signedPath, pick(headers, signedHeaders), scopeRegion ?? '', amzDate, true);
    return sameHex(expected, query.get('X-Amz-Signature') ?? '') ? null : signatureMismatch();
  }

  function checkCredential(keyId: string, scopeDate: string, scopeRegion: string, amzDate: string): Refusal | null {
    if (keyId !== ACCESS_KEY_ID) {
      return { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
    }
    if (!/^\d{8}T\d{6}Z$/.test(amzDate))
      return { status: 403, code: 'AccessDenied', message: 'AWS authentication requires a valid x-amz-date.' };
    if (scopeDate !== amzDate.slice(0, 8) || scopeRegion !== REGION) {
      return {
        status: 400,
        code: 'AuthorizationHeaderMalformed',
        message: `The credential scope is wrong; expecting date ${amzDate.slice(0, 8)}, region '${REGION}'.`,
      };
    }
    return null;
  }

  /** The signature aws4 makes for the request as it arrived, with the secret the server knows. */
  function signatureOf(
    method: string,
    path: string,
    headers: Record<string, string>,
    region: string,
    amzDate: string,
    signQuery: boolean,
  ): string {
    // aws4 leaves a few headers out of every signature (Range among them); what the client signed is signed here.
    const extraHeadersToInclude = Object.fromEntries(Object.keys(headers).map((name) => [name, true]));
    const request: aws4.Request & { extraHeadersToInclude: Record<string, boolean> } = {
      method,
      path,
      headers,
      service: 's3',
      region,
      signQuery,
      extraHeadersToInclude,
    };
    const signer = new aws4.RequestSigner(request, { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY });
    signer.datetime = amzDate;
    return signer.signature();
  }

  function uploadsDir(): string {
    // Where s3rver 3.7.1 keeps a bucket's multipart uploads (lib/stores/filesystem.js): one folder
    // per upload id holding `key`, `metadata`, and each part as `<number>` and `<number>.md5`.
    return join(directory, BUCKET, '._S3rver_uploads');
  }

  function forward(req: IncomingMessage, parsed: Parsed, body: Buffer): Promise<Answer> {
    const headers: IncomingHttpHeaders = { ...req.headers, host: `127.0.0.1:${backendPort}`, 'content-length': String(body.length) };
    for (const name of ['authorization', 'connection', 'expect', 'transfer-encoding']) delete headers[name];
    return new Promise((resolve, reject) => {
      const path = (req.url ?? '/').split('?')[0] + (parsed.forwardQuery ? `?${parsed.forwardQuery}` : '');
      const outgoing = httpRequest(
        { host: '127.0.0.1', port: backendPort, method: req.method, path, headers, agent: backendAgent, timeout: BACKEND_TIMEOUT_MS },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 500, headers: answer.headers, body: Buffer.concat(chunks) }));
          answer.on('error', reject);
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`s3rver did not answer within ${BACKEND_TIMEOUT_MS} ms`)));
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  const dropSockets = () => {
    for (const socket of sockets) socket.destroy();
  };
  const closeListener = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      dropSockets();
    });
  const clearOutageTimer = () => {
    if (outageTimer) clearTimeout(outageTimer);
    outageTimer = null;
  };

  const up = async () => {
    clearOutageTimer();
    const was = outage;
    outage = null;
    if (was === 'refuse') await listen(port);
  };

  return {
    endpoint,
    port,
    region: REGION,
    bucket: BUCKET,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    certificate,
    config: (overrides = {}) => ({
      endpoint,
      region: REGION,
      bucket: BUCKET,
      forcePathStyle: true,
      accessKeyId: ACCESS_KEY_ID,
      secretAccessKey: SECRET_ACCESS_KEY,
      ca: certificate.cert,
      ...overrides,
    }),
    storage: (prefix) => ({
      url: endpoint,
      region: REGION,
      bucket: BUCKET,
      prefix,
      accessKeyId: ACCESS_KEY_ID,
      secretAccessKey: SECRET_ACCESS_KEY,
      publicUrl: `${endpoint}/${BUCKET}`,
      pathStyle: true,
      ca: certificate.cert,
    }),
    objectUrl: (key) => `${endpoint}/${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`,
    open: (url) =>
      new Promise((resolve, reject) => {
        const get = httpsRequest(url, { ca: certificate.cert, agent: false, timeout: BACKEND_TIMEOUT_MS }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        });
        get.on('timeout', () => get.destroy(new Error(`${url} did not answer`)));
        get.on('error', reject);
        get.end();
      }),
    requests,
    count: (operation, partNumber) =>
      requests.filter((r) => r.operation === operation && (partNumber === undefined || r.partNumber === partNumber)).length,
    down: async (next, forMs) => {
      await up();
      outage = next;
      if (next === 'refuse') await closeListener();
      if (forMs !== undefined) outageTimer = setTimeout(() => void up(), forMs);
    },
    up,
    watch: (listener) => {
      watcher = listener;
    },
    hold: (operation, ms) => {
      held.set(operation, ms);
    },
    deny: (...operations) => {
      denied = new Set(operations);
    },
    stall: (keys) => {
      stalled = keys;
    },
    incompleteUploads: () => {
      const dir = uploadsDir();
      let ids: string[];
      try {
        ids = readdirSync(dir);
      } catch {
        return [];
      }
      return ids.map((uploadId) => ({
        key: readFileSync(join(dir, uploadId, 'key'), 'utf8'),
        uploadId,
        parts: readdirSync(join(dir, uploadId))
          .filter((name) => /^\d+$/.test(name))
          .map(Number)
          .sort((a, b) => a - b),
      }));
    },
    readObject: (key) =>
      new Promise((resolve, reject) => {
        const path = `/${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`;
        const get = httpRequest(
          { host: '127.0.0.1', port: backendPort, path, agent: backendAgent, timeout: BACKEND_TIMEOUT_MS },
          (answer) => {
            const chunks: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => chunks.push(chunk));
            answer.on('end', () => resolve(answer.statusCode === 200 ? Buffer.concat(chunks) : null));
            answer.on('error', reject);
          },
        );
        get.on('timeout', () => get.destroy(new Error('s3rver did not answer')));
        get.on('error', reject);
        get.end();
      }),
    close: async () => {
      clearOutageTimer();
      outage = null;
      await closeListener();
      backendAgent.destroy();
      await backend.close();
    },
  };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function parse(url: string): Parsed {
  const [rawPath = '/', rawQuery = ''] = url.split(/\?(.*)/s);
  const segments = rawPath.split('/').slice(1);
  const bucket = segments[0] ? decodeURIComponent(segments[0]) : null;
  const key = segments.length > 1 ? segments.slice(1).map(decodeURIComponent).join('/') : null;
  const pieces = rawQuery === '' ? [] : rawQuery.split('&');
  const nameOf = (piece: string) => decodeURIComponent(piece.split('=')[0] ?? '');
  const unsigned = pieces.filter((piece) => nameOf(piece) !== 'X-Amz-Signature');
  return {
    bucket,
    key: key === '' ? null : key,
    query: new URLSearchParams(rawQuery),
    forwardQuery: pieces.filter((piece) => !QUERY_AUTH.includes(nameOf(piece))).join('&'),
    signedPath: rawPath + (unsigned.length ? `?${unsigned.join('&')}` : ''),
  };
}

function operationOf(method: string, { bucket, key, query }: Parsed): S3Operation {
  if (bucket === null) return 'Other';
  if (key === null) {
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'GET') return query.has('uploads') ? 'ListMultipartUploads' : 'ListObjects';
    return 'Other';
  }
  const uploadId = query.has('uploadId');
  switch (method) {
    case 'PUT':
      return uploadId ? 'UploadPart' : 'PutObject';
    case 'POST':
      return query.has('uploads') ? 'CreateMultipartUpload' : uploadId ? 'CompleteMultipartUpload' : 'Other';
    case 'GET':
      return uploadId ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      return uploadId ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      return 'Other';
  }
}

function readBody(req: IncomingMessage, arrived: (size: number) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return void req.destroy(new Error('request body over the test server limit'));
      chunks.push(chunk);
      arrived(size);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The body against the SHA-256 it was signed with and the Content-MD5 it came with. */
function checkPayload(headers: IncomingHttpHeaders, body: Buffer): Refusal | null {
  const declared = header(headers, 'x-amz-content-sha256');
  if (declared.startsWith('STREAMING-')) {
    return {
      status: 501,
      code: 'NotImplemented',
      message: 'This test server takes no aws-chunked bodies; sign the payload or send it unsigned.',
    };
  }
  if (/^[0-9a-f]{64}$/.test(declared) && createHash('sha256').update(body).digest('hex') !== declared) {
    return {
      status: 400,
      code: 'XAmzContentSHA256Mismatch',
      message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
    };
  }
  if (headers['content-md5'] === undefined) return null;
  const md5 = header(headers, 'content-md5');
  const digest = Buffer.from(md5, 'base64');
  if (digest.length !== 16) return { status: 400, code: 'InvalidDigest', message: 'The Content-MD5 you specified was invalid.' };
  if (!digest.equals(createHash('md5').update(body).digest())) {
    return { status: 400, code: 'BadDigest', message: 'The Content-MD5 you specified did not match what we received.' };
  }
  return null;
}

/** What AWS refuses in a CompleteMultipartUpload, and R2's rule that the parts before the last are all one size. */
function checkCompletion(xml: string, upload: Upload, minPartBytes: number): Refusal | null {
  const listed = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(([, part = '']) => ({
    number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(part)?.[1]),
    etag: unquote(unescapeXml(/<ETag>([^<]*)<\/ETag>/.exec(part)?.[1] ?? '')),
  }));
  if (listed.length === 0) return { status: 400, code: 'MalformedXML', message: 'The XML you provided was not well-formed.' };
  const sizes: number[] = [];
  for (const [index, { number, etag }] of listed.entries()) {
    if (index > 0 && number <= (listed[index - 1]?.number ?? 0)) {
      return { status: 400, code: 'InvalidPartOrder', message: 'The list of parts was not in ascending order.' };
    }
    const stored = upload.parts.get(number);
    if (!stored || unquote(stored.etag) !== etag) {
      return {
        status: 400,
        code: 'InvalidPart',
        message: 'One or more of the specified parts could not be found, or its entity tag did not match.',
      };
    }
    sizes.push(stored.size);
  }
  const leading = sizes.slice(0, -1);
  if (leading.some((size) => size < minPartBytes)) {
    return { status: 400, code: 'EntityTooSmall', message: 'Your proposed upload is smaller than the minimum allowed size.' };
  }
  if (leading.some((size) => size !== leading[0])) {
    return { status: 400, code: 'InvalidPart', message: 'All non-trailing parts must have the same length.' };
  }
  return null;
}

function listParts(parsed: Parsed, upload: Upload): string {
  const marker = Number(parsed.query.get('part-number-marker') ?? 0);
  const maxParts = Math.min(Number(parsed.query.get('max-parts') ?? 1000), 1000);
  const after = [...upload.parts.entries()].filter(([number]) => number > marker).sort(([a], [b]) => a - b);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  return element('ListPartsResult', [
    element('Bucket', BUCKET),
    element('Key', upload.key),
    element('UploadId', parsed.query.get('uploadId') ?? ''),
    element('PartNumberMarker', String(marker)),
    element('NextPartNumberMarker', String(page.at(-1)?.[0] ?? marker)),
    element('MaxParts', String(maxParts)),
    element('IsTruncated', String(truncated)),
    ...page.map(([number, part]) =>
      element('Part', [
        element('PartNumber', String(number)),
        element('LastModified', part.lastModified.toISOString()),
        element('ETag', part.etag),
        element('Size', String(part.size)),
      ]),
    ),
  ]);
}

function listUploads(query: URLSearchParams, uploads: Map<string, Upload>): string {
  const prefix = query.get('prefix') ?? '';
  const keyMarker = query.get('key-marker') ?? '';
  const idMarker = query.get('upload-id-marker') ?? '';
  const maxUploads = Math.min(Number(query.get('max-uploads') ?? 1000), 1000);
  const all = [...uploads.entries()]
    .filter(([, upload]) => upload.key.startsWith(prefix))
    .sort(([idA, a], [idB, b]) => a.key.localeCompare(b.key) || a.initiated.getTime() - b.initiated.getTime() || idA.localeCompare(idB));
  const start =
    keyMarker === ''
      ? 0
      : all.findIndex(([id, upload]) => upload.key > keyMarker || (upload.key === keyMarker && idMarker !== '' && id > idMarker));
  const after = start < 0 ? [] : all.slice(start);
  const page = after.slice(0, maxUploads);
  const last = page.at(-1);
  return element('ListMultipartUploadsResult', [
    element('Bucket', BUCKET),
    element('KeyMarker', keyMarker),
    element('UploadIdMarker', idMarker),
    element('NextKeyMarker', last?.[1].key ?? ''),
    element('NextUploadIdMarker', last?.[0] ?? ''),
    element('Prefix', prefix),
    element('MaxUploads', String(maxUploads)),
    element('IsTruncated', String(after.length > page.length)),
    ...page.map(([uploadId, upload]) =>
      element('Upload', [
        element('Key', upload.key),
        element('UploadId', uploadId),
        element('Initiated', upload.initiated.toISOString()),
        element('StorageClass', 'STANDARD'),
      ]),
    ),
  ]);
}

function outageRefusal(outage: 'ServiceUnavailable' | 'SlowDown'): Refusal {
  return outage === 'SlowDown'
    ? { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' }
    : { status: 503, code: 'ServiceUnavailable', message: 'Service is unable to handle request.' };
}

function signatureMismatch(): Refusal {
  return {
    status: 403,
    code: 'SignatureDoesNotMatch',
    message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  };
}

function relay(res: ServerResponse, answer: Answer): void {
  const headers = { ...answer.headers };
  for (const name of ['connection', 'keep-alive', 'transfer-encoding']) delete headers[name];
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}

function answerXml(res: ServerResponse, xml: string): void {
  res.writeHead(200, { 'content-type': 'application/xml', 'x-amz-request-id': requestId() });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
}

function answerError(res: ServerResponse, method: string, { status, code, message }: Refusal): void {
  const id = requestId();
  res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': id });
  // A HEAD answer has no body; the SDK names the error after the status.
  if (method === 'HEAD') return void res.end();
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n${element('Error', [element('Code', code), element('Message', message), element('RequestId', id)])}`,
  );
}

function element(name: string, content: string | string[]): string {
  const inner = Array.isArray(content) ? content.join('') : escapeXml(content);
  return `<${name}>${inner}</${name}>`;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function unescapeXml(text: string): string {
  const named: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };
  return text.replace(/&(#\d+|quot|amp|lt|gt|apos);/g, (_, entity: string) =>
    entity.startsWith('#') ? String.fromCharCode(Number(entity.slice(1))) : (named[entity] ?? ''),
  );
}

function unquote(etag: string): string {
  return etag.replace(/"/g, '');
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

/** The headers a signature names, with the values they arrived with. */
function pick(headers: IncomingHttpHeaders, signedHeaders: string): Record<string, string> {
  return Object.fromEntries(signedHeaders.split(';').map((name) => [name, header(headers, name)]));
}

function amzTime(amzDate: string): number {
  return Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
}

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}
