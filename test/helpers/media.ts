// The services the media tests need, started before a file's tests and closed after them: the
// S3-compatible storage (public under booths/) and an HTTPS receiver for the webhooks.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Settings } from '../../src/core/settings.js';
import type { StorageConfig } from '../../src/storage/config.js';
import { openStore } from '../../src/store/store.js';
import { configure, FAST, startTestAgent } from './agent.js';
import { runCli } from './cli.js';
import { endpointTo, startReceiver, type Receiver } from './receiver.js';
import { startS3Server, type S3Server } from './s3-server.js';
import { tempDir } from './temp.js';

export interface MediaServices {
  s3: S3Server;
  receiver: Receiver;
  /** The storage as the agent reads it: the test service, keys under booths/, its public URL. */
  storage(overrides?: Partial<StorageConfig>): StorageConfig;
}

export function useMediaServices(): MediaServices {
  const services = {
    storage: (overrides: Partial<StorageConfig> = {}) => ({ ...services.s3.storage('booths/'), ...overrides }),
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

/**
 * A data folder for `booth-agent run` with the media services: the receiver its endpoint, media
 * taken from a folder of its own (`output`) with no disk margin; answers the ingest token too.
 */
export function mediaDataDir(services: MediaServices): { dataDir: string; output: string; token: string } {
  const dataDir = tempDir('agent-');
  const output = tempDir('output-');
  configure(dataDir, { ...FAST, media_roots: [output], media_min_free_mb: 0 });
  const setup = openStore(join(dataDir, 'outbox.db'));
  setup.endpoints.add(endpointTo(services.receiver), Date.now());
  const token = setup.settings.token('ingest_token');
  setup.close();
  return { dataDir, output, token };
}

/**
 * Sets the test service as the booth's storage the way an operator does, with `booth-agent
 * storage set` (its certificate in the data folder); without `--public-url`, links are presigned.
 */
export async function setStorageWithCli(dataDir: string, s3: S3Server, more: string[] = []): Promise<void> {
  const config = s3.config();
  writeFileSync(join(dataDir, 'ca.pem'), config.ca!);
  const set = await runCli(
    [
      'storage',
      'set',
      '--data-dir',
      dataDir,
      '--url',
      config.endpoint,
      '--bucket',
      config.bucket,
      '--region',
      config.region,
      '--prefix',
      'booths/',
    ].concat(['--access-key-id', config.accessKeyId, '--secret-stdin', '--path-style', '--ca', join(dataDir, 'ca.pem'), ...more]),
    { input: `${config.secretAccessKey}\n` },
  );
  expect(set.code, set.stderr).toBe(0);
}

/** What an agent wrote of itself: `outputs` (a process's standard output and error), and each log file in its data folder. */
export function agentLogs(dataDir: string, ...outputs: string[]): string {
  const logs = join(dataDir, 'logs');
  return [...outputs, ...readdirSync(logs).map((name) => readFileSync(join(logs, name), 'utf8'))].join('\n');
}

/**
 * An agent with the services' storage and receiver, taking files from a folder of its own:
 * `capture` writes a file there, captures a session naming it (the file is then removed, as
 * the agent holds its copy) and answers the capture's JSON; `media` is the session's media row.
 */
export async function mediaBooth(services: MediaServices, storage = services.storage(), settings: Partial<Settings> = {}) {
  const output = tempDir('output-');
  const t = await startTestAgent({ media_roots: [output], media_min_free_mb: 0, ...settings }, storage);
  t.addEndpoint(services.receiver.url, endpointTo(services.receiver));
  const capture = async (sessionId: string, bytes: Buffer, name = 'photo.jpg') => {
    writeFileSync(join(output, name), bytes);
    const answer = await t.post(JSON.stringify({ type: 'session', session: { id: sessionId, type: 'still', file: join(output, name) } }));
    rmSync(join(output, name));
    expect(answer.status).toBe(202);
    return answer.json as { id: string; direct_url: string; site_url: string };
  };
  const media = (sessionId: string) =>
    t.agent.store.db.prepare('SELECT * FROM media WHERE session_id = ?').get(sessionId) as Record<string, any>;
  return { t, capture, media };
}
