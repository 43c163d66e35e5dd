// Secrets and signatures of the contract (docs/webhooks.md, "Signatures").
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

/** An endpoint's secrets, with the state of a rotation in progress. */
export interface EndpointSecrets {
  secret: string;
  /** The secret before the last rotation, still signing beside the new one for a while. */
  previousSecret: string | null;
  previousSecretUntil: number | null;
  /** A rotation the operator has not confirmed yet: X-Signature stays on the previous secret. */
  rotationPending: boolean;
}

export interface SigningKeys {
  /** The one secret X-Signature is made with. */
  xSignature: string;
  /** Every secret that signs `webhook-signature` (two during the 24 hours after a rotation). */
  standard: string[];
}

/**
 * After a rotation the previous secret keeps signing `webhook-signature` beside the new one
 * for 24 hours, so receivers can switch without losing a delivery; X-Signature, which
 * holds one value, switches when the operator confirms the rotation.
 */
export function signingKeys(secrets: EndpointSecrets, now: number): SigningKeys {
  const { secret, previousSecret, previousSecretUntil, rotationPending } = secrets;
  const previousSigns = previousSecret !== null && previousSecretUntil !== null && now < previousSecretUntil;
  return {
    xSignature: rotationPending && previousSecret !== null ? previousSecret : secret,
    standard: previousSigns ? [secret, previousSecret] : [secret],
  };
}

export interface SignedHeaders {
  'x-signature': string;
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The signature headers of one attempt; `unixSeconds` is the time of that attempt. */
export function signatureHeaders(keys: SigningKeys, webhookId: string, unixSeconds: number, body: Uint8Array): SignedHeaders {
  const timestamp = String(unixSeconds);
  const standard = keys.standard.map((secret) => {
    const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
    return `v1,${createHmac('sha256', key).update(`${webhookId}.${timestamp}.`).update(body).digest('base64')}`;
  });
  return {
    'x-signature': createHmac('sha256', Buffer.from(keys.xSignature, 'utf8')).update(body).digest('hex'),
    'webhook-id': webhookId,
    'webhook-timestamp': timestamp,
    'webhook-signature': standard.join(' '),
  };
}
