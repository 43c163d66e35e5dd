// The organiser's S3-compatible storage: one configured client of the AWS SDK, loaded at the
// first upload. The settings here are the ones every supported service accepts (AWS S3,
// Cloudflare R2, Backblaze B2, Wasabi, MinIO, DigitalOcean Spaces); the upload lane builds on it.
import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { S3Client } from '@aws-sdk/client-s3';

export interface S3Config {
  /** The S3 API's base URL, e.g. `https://<account>.r2.cloudflarestorage.com` (not a bucket's public URL). */
  endpoint: string;
  /** `auto` for R2; the bucket's region elsewhere (`us-east-1` for MinIO unless it was set). */
  region: string;
  bucket: string;
  /** The bucket in the path rather than in the host name: MinIO, and any endpoint given as an IP address. */
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  /** One more certificate authority (PEM) to trust, for a self-hosted MinIO on a private certificate. */
  ca: string | null;
}

export interface S3Options {
  connectTimeoutMs: number;
  /** How long a request may go without a byte either way before it fails; a slow upload that moves is left alone. */
  idleTimeoutMs: number;
  /** The SDK's own attempts per call; the upload lane that retries on its own schedule passes 1. */
  maxAttempts: number;
  /** How far the agent's clock is from this machine's, which requests are signed with (verify's tests set it). */
  clockOffsetMs?: number;
}

export type S3Sdk = typeof import('@aws-sdk/client-s3');

export interface S3 {
  client: S3Client;
  /** The SDK's commands (`PutObjectCommand`, `UploadPartCommand`, …), loaded with the client. */
  sdk: S3Sdk;
}

/**
 * The SDK is loaded at the first upload rather than at start: importing it and making a client
 * costs about 160 ms of CPU, more than undici's 100 ms, and a booth without storage never needs it.
 */
let loading: Promise<S3Sdk> | null = null;
export const loadSdk = (): Promise<S3Sdk> => {
  // On Node 20 the SDK prints, once per process when the first client is made, that its releases
  // from January 2027 need Node 22. That is a note for whoever upgrades the dependency, not for a
  // booth operator, so the SDK's documented switch turns it off unless the environment says otherwise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return (loading ??= import('@aws-sdk/client-s3'));
};

/**
 * The SDK's own messages, which it would otherwise print on the console: one for every upload a
 * stop cuts short ("An error was encountered in a non-retryable streaming request"), where the
 * upload lane already says in words what became of it. (Given a logger, the SDK also hands it
 * every command's input and output, which stay out of the agent's logs too.)
 */
const QUIET = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export async function openS3(config: S3Config, options: S3Options): Promise<S3> {
  const sdk = await loadSdk();
  const client = new sdk.S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    // Since 3.729 the SDK adds CRC32 checksums (as headers, or as an aws-chunked trailer on
    // streams) that several S3-compatible services refuse. Integrity comes instead from the
    // Content-MD5 every service checks (contentMd5 below) and the payload's SHA-256 in the signature.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A part goes whole in one request; R2 does not support `Expect: 100-continue`, which the SDK
    // would otherwise add to every body over 2 MiB.
    expectContinueHeader: false,
    maxAttempts: options.maxAttempts,
    logger: QUIET,
    ...(options.clockOffsetMs ? { systemClockOffset: options.clockOffsetMs } : {}),
    requestHandler: {
      httpsAgent: new Agent({ keepAlive: true, ...(config.ca ? { ca: [...rootCertificates, config.ca] } : {}) }),
      connectionTimeout: options.connectTimeoutMs,
      // The SDK's requestTimeout only prints a warning when it passes, unless told to throw; the
      // socket's idle timeout fails the request instead.
      socketTimeout: options.idleTimeoutMs,
    },
  });
  return { client, sdk };
}

/** The Content-MD5 header's value for a body: its MD5 in base64, which the service checks on arrival. */
export function contentMd5(body: Uint8Array): string {
  return createHash('md5').update(body).digest('base64');
}
