// Checks on requests to the loopback server, as small pure functions with adversarial table
// tests (test/core/request-guard.test.ts). Any web page the kiosk's browser opens can send
// requests to 127.0.0.1; these keep such a page from using the agent.
import { timingSafeEqual, createHash } from 'node:crypto';

/**
 * DNS rebinding defence: a page on evil.example can make its own name resolve to
 * 127.0.0.1, but its requests still carry `Host: evil.example`. Only the loopback names,
 * with our port, are ours.
 */
export function hostAllowed(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header.trim());
  return match ? match[1]! : null;
}

/**
 * The hashes of the tokens compared against: the ingest and admin tokens, asked about on
 * every request, and new ones only after a rotation (the oldest are dropped past a few).
 */
const expectedHashes = new Map<string, Buffer>();
const KEPT_HASHES = 4;

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** Compares tokens in constant time (by their hashes, so lengths leak nothing either). */
export function tokensEqual(given: string | null, expected: string): boolean {
  if (given === null) return false;
  let hash = expectedHashes.get(expected);
  if (hash === undefined) {
    hash = sha256(expected);
    expectedHashes.set(expected, hash);
    if (expectedHashes.size > KEPT_HASHES) expectedHashes.delete(expectedHashes.keys().next().value!);
  }
  return timingSafeEqual(sha256(given), hash);
}

/** An Idempotency-Key header: visible ASCII, 1 to 255 characters. Returns why not, or null. */
export function idempotencyKeyProblem(key: string): string | null {
  if (key.length === 0 || key.length > 255) return 'must be 1 to 255 characters';
  if (!/^[\x21-\x7e]+$/.test(key)) return 'must be visible ASCII characters without spaces';
  return null;
}

export interface AdminRequest {
  host: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
  authorization: string | undefined;
}

export type GuardVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/**
 * The admin API's door (docs/capture-api.md, "The panel and its API"): our own Host, no
 * cross-origin request (by Origin or by the browser's Sec-Fetch-Site), and the admin token,
 * which is not the ingest token. A page the kiosk's browser opens can reach 127.0.0.1 but
 * can pass none of these.
 */
export function checkAdminRequest(request: AdminRequest, port: number, adminToken: string): GuardVerdict {
  if (!hostAllowed(request.host, port)) {
    return { ok: false, status: 403, reason: `refused: the Host header must be 127.0.0.1:${port} or localhost:${port}` };
  }
  if (request.origin !== undefined && request.origin !== `http://${request.host}`) {
    return { ok: false, status: 403, reason: 'refused: cross-origin requests cannot use the admin API' };
  }
  if (request.secFetchSite !== undefined && request.secFetchSite !== 'same-origin' && request.secFetchSite !== 'none') {
    return { ok: false, status: 403, reason: 'refused: cross-site requests cannot use the admin API' };
  }
  if (!tokensEqual(bearerToken(request.authorization), adminToken)) {
    return { ok: false, status: 401, reason: 'the admin token is required (open the panel with booth-agent panel-url)' };
  }
  return { ok: true };
}
