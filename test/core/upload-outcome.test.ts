// What each failure of a request to the storage means for the upload, with the S3 SDK's shapes.
import { describe, expect, it } from 'vitest';
import { uploadProblem } from '../../src/core/upload-outcome.js';

const s3Error = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const netError = (code: string) => Object.assign(new Error(code), { code });

describe('uploadProblem', () => {
  it.each([
    [netError('ECONNREFUSED'), 'offline'],
    [netError('ENOTFOUND'), 'offline'],
    [Object.assign(new Error('x'), { cause: netError('ETIMEDOUT') }), 'offline'],
    [netError('DEPTH_ZERO_SELF_SIGNED_CERT'), 'offline'],
    [Object.assign(new Error('t'), { name: 'TimeoutError' }), 'offline'],
    [s3Error('SlowDown', 503), 'busy'],
    [s3Error('ServiceUnavailable', 503), 'busy'],
    [s3Error('TooManyRequests', 429), 'busy'],
    [s3Error('Unknown', 429), 'busy'],
    [s3Error('InternalError', 500), 'busy'],
    [s3Error('InvalidAccessKeyId', 403), 'refused'],
    [s3Error('SignatureDoesNotMatch', 403), 'refused'],
    [s3Error('AccessDenied', 403), 'refused'],
    [s3Error('NoSuchBucket', 404), 'refused'],
    [s3Error('Forbidden', 403), 'refused'],
    [s3Error('NoSuchUpload', 404), 'restart'],
  ] as const)('%s is %s', (error, kind) => {
    expect(uploadProblem(error).kind).toBe(kind);
  });

  it('says what the operator can do about a refusal', () => {
    expect(uploadProblem(s3Error('NoSuchBucket', 404)).reason).toBe('the storage has no such bucket: check the bucket name');
    expect(uploadProblem(s3Error('InvalidAccessKeyId', 403)).reason).toBe(
      'the storage does not know this access key: check the key id (booth-agent storage set)',
    );
  });
});
