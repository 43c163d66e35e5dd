// Secrets and signatures of the contract (webhooks.md, "Headers and signature").
// Two signatures travel on every attempt so that both kinds of receiver succeed:
// X-Signature for "HMAC the body with your secret", and the Standard Webhooks trio for
// receivers that use a library with replay protection.
import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** Why a secret given by the operator cannot be used, or null when it can. */
export function secretProblem(secret: string): string | null {
  if (!secret.startsWith(SECRET_PREFIX)) return `a secret starts with "${SECRET_PREFIX}"`;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    return `the part after "${SECRET_PREFIX}" must be base64`;
  }
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) {
    return `the key must be ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes (base64 of 32 random bytes is usual)`;
  }
  return null;
}

export interface SignedHeaders {
  'x-signature': string;
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The signature headers of one attempt; `unixSeconds` is the time of that attempt. */
export function signatureHeaders(
  secret: string,
  webhookId: string,
  unixSeconds: number,
  body: Uint8Array,
): SignedHeaders {
  const timestamp = String(unixSeconds);
  const standardKey = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const standard = createHmac('sha256', standardKey)
    .update(`${webhookId}.${timestamp}.`)
    .update(body)
    .digest('base64');
  return {
    'x-signature': createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex'),
    'webhook-id': webhookId,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${standard}`,
  };
}
