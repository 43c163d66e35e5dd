// The link a guest opens for a stored file: the public URL and the key, or, when the bucket
// is private, a presigned GET that the service honours for 7 days (the longest SigV4 allows).
import type { StorageConfig } from './config.js';
import type { S3 } from './s3-client.js';

export const PRESIGNED_LINK_SECONDS = 7 * 24 * 60 * 60;

/** The public URL followed by the key, each of its segments percent-encoded. */
export function publicObjectUrl(publicUrl: string, key: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** The link to a key: public when the storage has a public URL, else presigned for PRESIGNED_LINK_SECONDS. */
export async function objectUrl(config: StorageConfig, s3: S3, key: string): Promise<string> {
  if (config.publicUrl !== null) return publicObjectUrl(config.publicUrl, key);
  const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
  return getSignedUrl(s3.client, new s3.sdk.GetObjectCommand({ Bucket: config.bucket, Key: key }), { expiresIn: PRESIGNED_LINK_SECONDS });
}
