// Verify for the organiser's storage (docs/storage.md, "What verify tells you"): what the agent
// does with a guest's photo, with a small test file. It is uploaded with the key, read back
// without any credentials through the link a guest's phone will open, and deleted. Each
// failure is said in plain words: the network's (DNS, TLS) and the service's S3 error codes.
import { rootCertificates } from 'node:tls';
import { ulidFactory } from '../core/ids.js';
import type { StorageVerifyReport, StorageVerifyStep } from '../core/read-model.js';
import { errorCode, isTlsCode } from '../core/network-errors.js';
import { classify, loadUndici } from '../delivery/sender.js';
import { s3Config, type StorageConfig } from './config.js';
import { objectUrl } from './object-url.js';
import { contentMd5, openS3, type S3 } from './s3-client.js';

const newUlid = ulidFactory();

/** Where verify's test files go, under the prefix: a guest's files never share this folder. */
export const PROBE_FOLDER = '.booth-agent-verify/';

export interface VerifyOptions {
  connectTimeoutMs: number;
  timeoutMs: number;
  /** The agent's clock, which requests are signed with. */
  now: () => number;
}

export const PRESIGNED_NOTE = 'Links are presigned: they stop working 7 days after they are made. Give a public URL for links that last.';
export const CA_NOTE =
  "The storage's certificate is trusted through the CA given for it; guests' phones must trust the link's certificate on their own.";

export async function verifyStorage(config: StorageConfig, options: VerifyOptions): Promise<StorageVerifyReport> {
  const links = config.publicUrl === null ? 'presigned' : 'public';
  const notes = [...(links === 'presigned' ? [PRESIGNED_NOTE] : []), ...(config.ca ? [CA_NOTE] : [])];
  const s3 = await openS3(s3Config(config), {
    connectTimeoutMs: options.connectTimeoutMs,
    idleTimeoutMs: options.timeoutMs,
    maxAttempts: 1,
    clockOffsetMs: options.now() - Date.now(),
  });
  const key = `${config.prefix}${PROBE_FOLDER}${newUlid()}.txt`;
  const body = Buffer.from(`Booth Agent checked this storage at ${new Date(options.now()).toISOString()}.\n`);
  const steps: StorageVerifyStep[] = [];
  try {
    const notUploaded = await s3Problem(config, options, 'upload a file', () =>
      s3.client.send(
        new s3.sdk.PutObjectCommand({
          Bucket: config.bucket,
          Key: key,
          Body: body,
          ContentMD5: contentMd5(body),
          ContentType: 'text/plain',
        }),
      ),
    );
    if (notUploaded !== null) return { ok: false, links, steps: [{ step: 'upload', ok: false, message: notUploaded }], notes };
    steps.push({ step: 'upload', ok: true, message: `Uploaded a test file to ${config.bucket} as ${key}.` });
    steps.push(await readAsGuest(config, s3, key, body, options));
    const notDeleted = await s3Problem(config, options, 'delete a file', () =>
      s3.client.send(new s3.sdk.DeleteObjectCommand({ Bucket: config.bucket, Key: key })),
    );
    steps.push(
      notDeleted === null
        ? { step: 'delete', ok: true, message: 'Deleted the test file.' }
        : {
            step: 'delete',
            ok: false,
            message: `${notDeleted}; the test file stays at ${key}, and erasing a guest cannot delete their files`,
          },
    );
    return { ok: steps.every((s) => s.ok), links, steps, notes };
  } finally {
    s3.client.destroy();
  }
}

/** Runs one S3 request: null when it worked, else what went wrong in plain words. */
async function s3Problem(
  config: StorageConfig,
  options: VerifyOptions,
  action: string,
  send: () => Promise<unknown>,
): Promise<string | null> {
  try {
    await send();
    return null;
  } catch (error) {
    return describeS3Failure(config, options, action, error);
  }
}

/** An S3 request's failure, as the operator can act on it. */
function describeS3Failure(config: StorageConfig, options: VerifyOptions, action: string, error: unknown): string {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === undefined) return networkProblem(config.url, error, 'the storage', options);
  const code = (error as Error).name;
  switch (code) {
    case 'InvalidAccessKeyId':
      return `the storage does not know this key id (${config.accessKeyId}): it is mistyped, deleted, or from another account or service`;
    case 'SignatureDoesNotMatch':
      return 'the secret does not match the key: the key id is known but the secret is not its secret';
    case 'NoSuchBucket':
      return `the bucket ${config.bucket} does not exist at ${config.url}`;
    case 'AccessDenied':
      return `access denied: the key may not ${action} in ${config.bucket}${config.prefix ? ` under ${config.prefix}` : ''} (its policy)`;
    case 'RequestTimeTooSkewed':
      return "the booth's clock is too far off: the storage refuses requests signed more than 15 minutes from its own time; set the booth's date and time";
    case 'AuthorizationHeaderMalformed':
      return `the storage refused the request's signature scope, most often a wrong region (${config.region}): ${(error as Error).message}`;
    default:
      return `the storage answered HTTP ${status}${code && code !== 'Unknown' ? ` ${code}` : ''}: ${(error as Error).message}`;
  }
}

/** A failure before any answer: the name, the connection, TLS. */
function networkProblem(url: string, error: unknown, what: string, options: VerifyOptions): string {
  const code = errorCode(error) ?? '';
  const outcome = classify(error, url, { connectTimeoutMs: options.connectTimeoutMs, attemptTimeoutMs: options.timeoutMs });
  const detail = 'error' in outcome ? outcome.error : String(error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL') {
    return `${what}'s name could not be looked up (DNS): ${detail}`;
  }
  if (isTlsCode(code) || code === 'EPROTO') return `the secure connection to ${what} failed (TLS): ${detail}`;
  return `${what} could not be reached: ${detail}`;
}

/** Step 2: the test file read back with no credentials, through the link a guest will get. */
async function readAsGuest(config: StorageConfig, s3: S3, key: string, body: Buffer, options: VerifyOptions): Promise<StorageVerifyStep> {
  const url = await objectUrl(config, key, options.now());
  const shown = config.publicUrl === null ? 'the presigned link' : url;
  const cannot = 'the upload works but guests cannot open the link';
  const { Agent, request } = await loadUndici();
  const dispatcher = new Agent({
    connect: { timeout: options.connectTimeoutMs, ...(config.ca ? { ca: [...rootCertificates, config.ca] } : {}) },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  try {
    const answer = await request(url, { dispatcher, headers: { 'user-agent': 'Booth Agent verify' } });
    const got = Buffer.from(await answer.body.arrayBuffer());
    if (answer.statusCode === 200 && got.equals(body)) {
      return { step: 'read', ok: true, message: `Opened ${shown} without credentials, as a guest's phone will: the same bytes came back.` };
    }
    if (answer.statusCode === 403 && config.publicUrl !== null) {
      return { step: 'read', ok: false, message: `${cannot}: ${url} was refused (HTTP 403), so the bucket or prefix is not public` };
    }
    if (answer.statusCode === 404 && config.publicUrl !== null) {
      return {
        step: 'read',
        ok: false,
        message: `${cannot}: ${url} was not found (HTTP 404), so the public URL does not lead to the bucket`,
      };
    }
    if (answer.statusCode === 200) return { step: 'read', ok: false, message: `${cannot}: ${shown} gives other bytes than were uploaded` };
    return { step: 'read', ok: false, message: `${cannot}: ${shown} answered HTTP ${answer.statusCode}` };
  } catch (error) {
    return { step: 'read', ok: false, message: `${cannot}: ${networkProblem(url, error, 'the link', options)}` };
  } finally {
    await dispatcher.close();
  }
}
