// An agent started in this process on a fresh data folder, with a short delivery schedule
// so retry and offline tests take milliseconds instead of the contract's seconds.
import { join } from 'node:path';
import { startAgent, type Agent } from '../../src/agent.js';
import type { Settings } from '../../src/core/settings.js';
import { generateSecret } from '../../src/core/signing.js';
import type { Endpoint, NewEndpoint } from '../../src/store/endpoints.js';
import type { StorageConfig } from '../../src/storage/config.js';
import { openStore, type Store } from '../../src/store/store.js';
import { tempDir } from './temp.js';

export const FAST: Partial<Settings> = {
  event_id: 1,
  retry_delay_ms: 150,
  offline_check_min_ms: 50,
  offline_check_max_ms: 200,
  connect_timeout_ms: 1000,
  attempt_timeout_ms: 1000,
};

export interface TestAgent {
  agent: Agent;
  dataDir: string;
  token: string;
  base: string;
  addEndpoint(url: string, options?: Partial<Omit<NewEndpoint, 'url'>>): Endpoint;
  post(body: string | Buffer, headers?: Record<string, string>, path?: string): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
}

/** Writes settings, and the organiser's storage if given, into a data folder's outbox before an agent starts. */
export function configure(dataDir: string, settings: Partial<Settings>, storage: StorageConfig | null = null): void {
  const store = openStore(join(dataDir, 'outbox.db'));
  for (const [key, value] of Object.entries(settings)) store.settings.write(key as keyof Settings, value as never);
  if (storage) setStorage(store, storage);
  store.close();
}

/** Sets the organiser's storage as `booth-agent storage set` does. */
export function setStorage(store: Store, storage: StorageConfig): void {
  store.storage.set(storage, Date.now());
}

export async function startTestAgent(settings: Partial<Settings> = {}, storage: StorageConfig | null = null): Promise<TestAgent> {
  const dataDir = tempDir('agent-');
  configure(dataDir, { ...FAST, ...settings }, storage);
  const agent = await startAgent({ dataDir, port: 0, stopGraceMs: 500, managedConfig: [] });
  const token = agent.store.settings.token('ingest_token');
  const base = `http://127.0.0.1:${agent.port}`;
  return {
    agent,
    dataDir,
    token,
    base,
    addEndpoint: (url, options = {}) =>
      agent.store.endpoints.add({ url, secret: generateSecret(), types: null, strictOrder: false, ca: null, ...options }, Date.now()),
    post: async (body, headers = {}, path = '/v1/events') => {
      const response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
        body,
      });
      const text = await response.text();
      return { status: response.status, json: text ? JSON.parse(text) : null };
    },
    stop: () => agent.stop(),
  };
}
