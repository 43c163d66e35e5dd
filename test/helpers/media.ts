// The services the media tests need, started before a file's tests and closed after them: the
// S3-compatible storage (public under booths/) and an HTTPS receiver for the webhooks.
import { afterAll, beforeAll } from 'vitest';
import type { StorageConfig } from '../../src/storage/config.js';
import type { S3Config } from '../../src/storage/s3-client.js';
import { startReceiver, type Receiver } from './receiver.js';
import { startS3Server, type S3Server } from './s3-server.js';

export interface MediaServices {
  s3: S3Server;
  receiver: Receiver;
  /** The storage as the agent reads it: the test service, keys under booths/, its public URL. */
  storage(overrides?: Partial<StorageConfig>): StorageConfig;
}

export function useMediaServices(): MediaServices {
  const services = {
    storage: (overrides: Partial<StorageConfig> = {}) => ({
      ...storageOf(services.s3.config()),
      prefix: 'booths/',
      publicUrl: services.s3.objectUrl('').replace(/\/$/, ''),
      ...overrides,
    }),
  } as MediaServices;
  beforeAll(async () => {
    services.s3 = await startS3Server({ publicPrefixes: ['booths/'] });
    services.receiver = await startReceiver();
  });
  afterAll(async () => {
    await services.receiver.close();
    await services.s3.close();
  });
  return services;
}

/** The test service's client settings as the booth's storage. */
function storageOf({ forcePathStyle, ...s3 }: S3Config): Omit<StorageConfig, 'prefix' | 'publicUrl'> {
  return { ...s3, pathStyle: forcePathStyle };
}
