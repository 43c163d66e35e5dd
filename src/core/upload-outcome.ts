// What a failed request to the organiser's storage means for the upload (docs/webhooks.md,
// "Media uploaded by the agent"): the storage cannot be reached (wait, spending nothing), it is
// busy (back off, spending an attempt), it refuses what will not change by itself (fail at once,
// in words the operator can act on), or it forgot the multipart upload (start it again).
import { errorCode, isTlsCode, UNREACHABLE_CODES } from './network-errors.js';

export type UploadProblem =
  | { kind: 'offline'; reason: string }
  | { kind: 'busy'; reason: string }
  | { kind: 'refused'; reason: string }
  | { kind: 'restart'; reason: string };

/** S3's codes for refusals that only the operator can end, in words. */
const REFUSALS: Record<string, string> = {
  InvalidAccessKeyId: 'the storage does not know this access key: check the key id (booth-agent storage set)',
  SignatureDoesNotMatch: 'the storage refused the secret key: check it (booth-agent storage set)',
  AccessDenied: 'the storage denied access: the key may not write to this bucket or prefix',
  AllAccessDisabled: 'the storage denied access: the bucket is disabled',
  NoSuchBucket: 'the storage has no such bucket: check the bucket name',
  InvalidBucketName: 'the bucket name is not valid for this storage',
  AccountProblem: 'the storage account has a problem: check it with the provider',
  RequestTimeTooSkewed: "the booth's clock is too far from the storage's: set the computer's time",
  BadDigest: 'the storage received the file differently from how it was sent, and refused it',
  EntityTooLarge: 'the storage refused the file as too large',
};

const BUSY = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'TooManyRequests', 'Throttling']);

interface S3ErrorShape {
  name?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

export function uploadProblem(error: unknown): UploadProblem {
  const e = (error ?? {}) as S3ErrorShape;
  const name = typeof e.name === 'string' ? e.name : '';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : null;
  const code = errorCode(error);
  if (name === 'NoSuchUpload') return { kind: 'restart', reason: 'the storage no longer knows the upload under way; starting it again' };
  if (code !== null && (UNREACHABLE_CODES.has(code) || isTlsCode(code))) {
    return { kind: 'offline', reason: `the storage cannot be reached (${code})` };
  }
  if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'offline', reason: 'the storage did not answer in time' };
  const refusal = REFUSALS[name];
  if (refusal !== undefined) return { kind: 'refused', reason: refusal };
  if (BUSY.has(name) || status === 429 || status === 503 || (status !== null && status >= 500)) {
    return { kind: 'busy', reason: `the storage is busy (${name || `HTTP ${status}`}); trying again later` };
  }
  if (status === 403) return { kind: 'refused', reason: 'the storage denied access (HTTP 403): check the key and its permissions' };
  if (status !== null) return { kind: 'refused', reason: `the storage refused the upload (${name || 'HTTP'} ${status})` };
  return { kind: 'offline', reason: `the storage could not be reached: ${typeof e.message === 'string' ? e.message : String(error)}` };
}
