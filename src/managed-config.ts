// Managed configuration: an optional JSON file an installer or a fleet tool puts on each
// kiosk, so fifty booths get their endpoints, event id and port without anyone typing.
// The agent reads it at every start; what it lists is set, and endpoints it lists are added
// once (by URL). A file that cannot be used is reported in the logs and the panel and
// changes nothing: it never stops the agent.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { settingsSchema } from './core/settings.js';
import { generateSecret } from './core/signing.js';
import { endpointFields } from './operations/endpoints.js';
import type { Store } from './store/store.js';

export const MANAGED_CONFIG_FILE = 'managed-config.json';

const managedEndpoint = z.strictObject({
  url: endpointFields.url,
  secret: endpointFields.secret.optional(),
  types: endpointFields.types.default(null),
  strict_order: z.boolean().default(false),
  auto_recover: endpointFields.autoRecover.default('on'),
  format: endpointFields.format.default('snappic'),
  max_per_minute: endpointFields.maxPerMinute.default(null),
  headers: endpointFields.headers.default({}),
});

export const managedConfigSchema = z.strictObject({
  event_id: settingsSchema.shape.event_id.optional(),
  port: settingsSchema.shape.port.optional(),
  endpoints: z.array(managedEndpoint).default([]),
});
export type ManagedConfig = z.infer<typeof managedConfigSchema>;

/**
 * Where the file is looked for, first found wins: BOOTH_AGENT_MANAGED_CONFIG, then next to
 * the installed program (Windows), then the system-wide configuration folder.
 */
export function managedConfigLocations(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  const explicit = env.BOOTH_AGENT_MANAGED_CONFIG ? [env.BOOTH_AGENT_MANAGED_CONFIG] : [];
  if (platform === 'win32') {
    return [
      ...explicit,
      ...(env.BOOTH_AGENT_INSTALL_DIR ? [join(env.BOOTH_AGENT_INSTALL_DIR, MANAGED_CONFIG_FILE)] : []),
      join(env.ProgramData ?? 'C:\\ProgramData', 'BoothAgent', MANAGED_CONFIG_FILE),
    ];
  }
  if (platform === 'darwin') return [...explicit, join('/Library/Application Support/BoothAgent', MANAGED_CONFIG_FILE)];
  return [...explicit, join('/etc/booth-agent', MANAGED_CONFIG_FILE)];
}

export type ManagedConfigResult =
  { status: 'none' } | { status: 'applied'; file: string; added: number } | { status: 'invalid'; file: string; problem: string };

/** Reads the first managed configuration file found and applies it to the store. */
export function applyManagedConfig(store: Store, locations: string[], now: number): ManagedConfigResult {
  const file = locations.find((path) => existsSync(path));
  if (file === undefined) return { status: 'none' };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return { status: 'invalid', file, problem: `not readable JSON: ${(error as Error).message}` };
  }
  const parsed = managedConfigSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      status: 'invalid',
      file,
      problem: parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(file)'}: ${i.message}`).join('; '),
    };
  }
  const config = parsed.data;
  const known = new Set(store.endpoints.list().map((e) => e.url));
  let added = 0;
  store.db.transaction(() => {
    if (config.event_id !== undefined) store.settings.write('event_id', config.event_id);
    if (config.port !== undefined) store.settings.write('port', config.port);
    for (const endpoint of config.endpoints) {
      const { url } = endpoint;
      if (known.has(url)) continue;
      known.add(url);
      store.endpoints.add(
        {
          url,
          secret: endpoint.secret ?? generateSecret(),
          types: endpoint.types,
          strictOrder: endpoint.strict_order,
          ca: null,
          autoRecover: endpoint.auto_recover,
          format: endpoint.format,
          maxPerMinute: endpoint.max_per_minute,
          headers: endpoint.headers,
        },
        now,
      );
      added += 1;
    }
  })();
  return { status: 'applied', file, added };
}
