// One signed HTTPS POST, as the contract describes it, and nothing else: no retries, no
// redirects, no state. Whatever happens comes back as an outcome value for the policy;
// only programming errors throw.
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { Dispatcher } from 'undici';
import { errorCode, isTlsCode, UNREACHABLE_CODES } from '../core/network-errors.js';
import type { AttemptOutcome } from '../core/policy.js';
import { signatureHeaders, signingKeys, type EndpointSecrets } from '../core/signing.js';

export const RESPONSE_HEAD_BYTES = 4096;

/**
 * undici is loaded at the first request rather than at start: it is a sixth of the
 * agent's start-up, and captures are accepted before anything is sent.
 */
let undici: Promise<typeof import('undici')> | null = null;
export const loadUndici = () => (undici ??= import('undici'));

export interface Target extends EndpointSecrets {
  url: string;
  ca: string | null;
  /** The endpoint's extra headers (an API key, say); the contract's own cannot be among them. */
  headers: Readonly<Record<string, string>>;
}

export interface Sent {
  outcome: AttemptOutcome;
  startedAt: number;
  durationMs: number;
  /** The first 4 KiB of the response body, when there was a response. */
  responseHead: Buffer | null;
  /** The response's Date header, for the clock-skew check. */
  date: string | null;
}

export interface SenderOptions {
  userAgent: string;
  connectTimeoutMs: number;
  attemptTimeoutMs: number;
  now?: () => number;
  /** Send through HTTPS_PROXY / HTTP_PROXY (honouring NO_PROXY), as a venue's network may require. */
  useProxy?: boolean;
}

/** Whether the environment names a proxy for HTTPS requests. */
export function proxyConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy);
}

export class Sender {
  private readonly agents = new Map<string, Dispatcher>();
  private readonly now: () => number;

  constructor(private readonly options: SenderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Requests go through a proxy, so a direct handshake with an endpoint proves nothing. */
  get viaProxy(): boolean {
    return this.options.useProxy ?? false;
  }

  /**
   * `test` marks a Send Test delivery with X-Booth-Agent-Test; `startedAt` is the attempt's
   * start as the caller recorded it (an endpoint's rate counts from it).
   */
  async send(
    target: Target,
    webhookId: string,
    body: Uint8Array,
    test: boolean,
    signal?: AbortSignal,
    startedAt: number = this.now(),
  ): Promise<Sent> {
    const http = await loadUndici();
    const started = performance.now();
    const deadline = new Deadline(this.options.attemptTimeoutMs, signal);
    const headers = requestHeaders(target, webhookId, body, startedAt, this.options.userAgent, test);
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const response = await http.request(target.url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.agentFor(http, target.ca),
        signal: deadline,
      });
      const status = response.statusCode;
      const header = (name: string) => {
        const value = response.headers[name];
        return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
      };
      const responseHead = await readHead(response.body);
      return {
        outcome: { kind: 'answered', status, location: header('location'), retryAfter: header('retry-after') },
        startedAt,
        durationMs: elapsed(),
        responseHead,
        date: header('date'),
      };
    } catch (error) {
      return { outcome: classify(error, target.url, this.options), startedAt, durationMs: elapsed(), responseHead: null, date: null };
    } finally {
      deadline.clear();
    }
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }

  private agentFor(http: typeof import('undici'), ca: string | null): Dispatcher {
    const key = ca ?? '';
    let agent = this.agents.get(key);
    if (!agent) {
      const tls = ca ? { ca: [...rootCertificates, ca] } : {};
      const options = {
        connect: { timeout: this.options.connectTimeoutMs, ...tls },
        headersTimeout: this.options.attemptTimeoutMs,
        bodyTimeout: this.options.attemptTimeoutMs,
      };
      agent = this.options.useProxy ? new http.EnvHttpProxyAgent({ ...options, requestTls: tls }) : new http.Agent(options);
      this.agents.set(key, agent);
    }
    return agent;
  }
}

/**
 * What aborts one attempt: a TimeoutError after `ms`, or `outer`'s reason when it aborts (a
 * shutdown). undici takes an EventEmitter with `aborted` and `reason` as its signal, as well
 * as an AbortSignal, and one costs a sixth as much: an AbortController is an EventTarget,
 * whose listeners undici adds and removes on every request (AbortSignal.timeout() and
 * AbortSignal.any() cost more again, more than signing the attempt).
 */
class Deadline extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly onOuterAbort = () => this.abort(this.outer!.reason);

  constructor(
    ms: number,
    private readonly outer: AbortSignal | undefined,
  ) {
    super();
    this.timer = setTimeout(() => this.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
    if (outer?.aborted) this.abort(outer.reason);
    else outer?.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  private abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort', reason);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onOuterAbort);
  }
}

/** Every header of one attempt made at `at` (also shown in the panel's delivery detail). */
export function requestHeaders(
  target: Target,
  webhookId: string,
  body: Uint8Array,
  at: number,
  userAgent: string,
  test: boolean,
): Record<string, string> {
  return {
    'user-agent': userAgent,
    ...target.headers,
    'content-type': 'application/json',
    ...signatureHeaders(signingKeys(target, at), webhookId, Math.floor(at / 1000), body),
    ...(test ? { 'x-booth-agent-test': 'true' } : {}),
  };
}

/**
 * Reads at most 4 KiB of a response body and drops the rest (a 10 MB answer costs nothing).
 * Read by its events: an async iterator over a two-byte "ok" costs twice as much.
 */
function readHead(body: Readable): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= RESPONSE_HEAD_BYTES) done();
    };
    // The status line is what counts; a body that breaks off keeps what arrived. The error
    // listener stays: destroying a body still arriving makes it emit an AbortError, which
    // with no listener would be thrown, and end the agent.
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      body.off('data', onData);
      body.destroy();
      resolve(size === 0 ? null : Buffer.concat(chunks).subarray(0, RESPONSE_HEAD_BYTES));
    };
    body.on('data', onData).on('error', done).once('end', done).once('close', done);
  });
}

/** Turns a failed request into an outcome with a reason an operator can act on. */
export function classify(
  error: unknown,
  url: string,
  timeouts: Pick<SenderOptions, 'connectTimeoutMs' | 'attemptTimeoutMs'>,
): AttemptOutcome {
  const { hostname, port } = new URL(url);
  const where = `${hostname}:${port || 443}`;
  const code = errorCode(error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL') {
    return { kind: 'unreachable', error: `the name ${hostname} does not resolve: offline, or a typo in the URL` };
  }
  if (code === 'ECONNREFUSED') return { kind: 'unreachable', error: `connection refused by ${where}` };
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return { kind: 'unreachable', error: `no connection to ${where} within ${seconds(timeouts.connectTimeoutMs)}` };
  }
  if (code && (isTlsCode(code) || code === 'EPROTO')) {
    return { kind: 'unreachable', error: `TLS could not be set up with ${hostname}: ${messageOf(error)} (${code})` };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') return { kind: 'unreachable', error: `the connection to ${where} was reset` };
  if (code && UNREACHABLE_CODES.has(code)) return { kind: 'unreachable', error: `${messageOf(error)} (${code})` };
  if (code === 'UND_ERR_SOCKET') return { kind: 'no-response', error: 'the endpoint closed the connection without answering' };
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || isAbort(error)) {
    return { kind: 'no-response', error: `no answer within ${seconds(timeouts.attemptTimeoutMs)}` };
  }
  return { kind: 'no-response', error: messageOf(error) };
}

function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

function messageOf(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause;
  if (cause instanceof Error && cause.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
