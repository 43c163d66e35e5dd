// The link a guest opens for a stored file: the public URL and the key, or, when the bucket
// is private, a presigned GET that the service honours for 7 days (the longest SigV4 allows).
// Signing needs no network: a link is made at capture, before the file is uploaded.
import type { StorageConfig } from './config.js';
import { loadSdk } from './s3-client.js';

export const PRESIGNED_LINK_SECONDS = 7 * 24 * 60 * 60;

/** The public URL followed by the key, each of its segments percent-encoded. */
export function publicObjectUrl(publicUrl: string, key: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** The link to a key: public when the storage has a public URL, else presigned at `now` for PRESIGNED_LINK_SECONDS. */
export async function objectUrl(config: StorageConfig, key: string, now: number): Promise<string> {
  if (config.publicUrl !== null) return publicObjectUrl(config.publicUrl, key);
  const [{ S3Client, GetObjectCommand }, { getSignedUrl }] = await Promise.all([loadSdk(), import('@aws-sdk/s3-request-presigner')]);
  const client = new S3Client({
    endpoint: config.url,
    region: config.region,
    forcePathStyle: config.pathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
  });
  try {
    return await getSignedUrl(client, new GetObjectCommand({ Bucket: config.bucket, Key: key }), {
      expiresIn: PRESIGNED_LINK_SECONDS,
      signingDate: new Date(now),
    });
  } finally {
    client.destroy();
  }
}
