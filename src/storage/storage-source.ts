// What the media path needs to know of the organiser's storage: the client's settings, the
// prefix keys start with, and the public URL guests open objects through. Where it is kept
// (the storage table, its sealed secret) is the storage operations' business; the capture
// path and the upload lane only ask for it, each time, so a change takes effect at once.
import { loadSdk, type StorageConfig } from './s3-client.js';

export interface StorageSettings extends StorageConfig {
  /** Prepended to every key ({prefix} in storage_key_template), e.g. `booths/`; may be empty. */
  prefix: string;
  /** The bucket's public base URL, e.g. `https://media.example.com`; null: links are presigned. */
  publicUrl: string | null;
}

/** The configured storage now, or null when none is set. */
export type StorageSource = () => StorageSettings | null;

/** How long a presigned link works: SigV4's longest, 7 days. */
export const PRESIGNED_LINK_SECONDS = 7 * 24 * 60 * 60;

/**
 * The link a guest opens for an object: the public URL followed by the key, each segment
 * encoded, or a presigned GET that stops working 7 days after `now`.
 */
export async function objectUrl(storage: StorageSettings, key: string, now: number): Promise<string> {
  const path = key.split('/').map(encodeURIComponent).join('/');
  if (storage.publicUrl !== null) return `${storage.publicUrl.replace(/\/+$/, '')}/${path}`;
  const [{ S3Client, GetObjectCommand }, { getSignedUrl }] = await Promise.all([loadSdk(), import('@aws-sdk/s3-request-presigner')]);
  const client = new S3Client({
    endpoint: storage.endpoint,
    region: storage.region,
    forcePathStyle: storage.forcePathStyle,
    credentials: { accessKeyId: storage.accessKeyId, secretAccessKey: storage.secretAccessKey },
  });
  try {
    return await getSignedUrl(client, new GetObjectCommand({ Bucket: storage.bucket, Key: key }), {
      expiresIn: PRESIGNED_LINK_SECONDS,
      signingDate: new Date(now),
    });
  } finally {
    client.destroy();
  }
}
