// The storage as the upload lane and verify use it: what openS3 needs, with the prefix the
// keys go under and the public URL the links are made from.
import type { Settings } from '../core/settings.js';
import type { StorageInput } from '../store/storage.js';
import type { Store } from '../store/store.js';
import { openS3, type S3, type S3Config } from './s3-client.js';

/** The storage as the booth was given it: what `storage set` stored, its secret opened. */
export type StorageConfig = StorageInput;

/** The storage as it is set now, or null: asked each time, so that a change takes effect at once. */
export type StorageSource = () => StorageConfig | null;

/** The storage set for this booth, or null; throws SecretsLockedError when its secret is sealed with a key this process lacks. */
export function storageConfig(store: Store): StorageConfig | null {
  const stored = store.storage.unlocked();
  if (!stored) return null;
  const { updatedAt: _updatedAt, secretLocked: _secretLocked, ...config } = stored;
  return config;
}

/** What openS3 takes, from the storage's settings. */
export function s3Config(config: StorageConfig): S3Config {
  return {
    endpoint: config.url,
    region: config.region,
    bucket: config.bucket,
    forcePathStyle: config.pathStyle,
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    ca: config.ca ?? null,
  };
}

/** A client for the storage with the agent's timeouts, trying each request once: its callers retry on their own schedule. */
export function openStorage(config: StorageConfig, settings: Readonly<Settings>): Promise<S3> {
  return openS3(s3Config(config), {
    connectTimeoutMs: settings.connect_timeout_ms,
    idleTimeoutMs: settings.attempt_timeout_ms,
    maxAttempts: 1,
  });
}
