// What the benchmarks that run a real agent need of its outbox: a data folder with one
// endpoint and a backlog waiting for it, written before the agent starts, and the count of
// deliveries delivered so far, read as another process would.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { generateSecret } from '../dist/core/signing.js';
import { openStore } from '../dist/store/store.js';

/**
 * One endpoint at `endpointUrl` and `queued` session deliveries for it in `dataDir`, with
 * `settings` written; `held` marks the endpoint unreachable, so nothing is sent before the
 * agent has checked it. Returns the ingest token.
 */
export function prepareOutbox(dataDir, endpointUrl, { queued = 0, held = false, settings = {} } = {}) {
  const store = openStore(join(dataDir, 'outbox.db'));
  for (const [key, value] of Object.entries(settings)) store.settings.write(key, value);
  const endpoint = store.endpoints.add(
    { url: endpointUrl, secret: generateSecret(), types: null, strictOrder: false, ca: null },
    Date.now(),
  );
  if (held) store.db.prepare('UPDATE endpoints SET unreachable_since = ? WHERE id = ?').run(Date.now(), endpoint.id);
  store.db.transaction(() => {
    for (let i = 0; i < queued; i++) {
      const body = Buffer.from(
        JSON.stringify({
          type: 'session',
          event_id: 1,
          timestamp: new Date().toISOString(),
          session: { id: `q-${i}`, direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://cdn.example.com/a', type: 'still' },
        }),
      );
      store.queue.capture({ type: 'session', body, dedupeKey: null, occurredAt: '', sessionId: `q-${i}` }, Date.now(), 1000);
    }
  })();
  const token = store.settings.token('ingest_token');
  store.close();
  return token;
}

/** Deliveries delivered so far, read on a connection of its own. */
export function countDelivered(dataDir) {
  const db = new BetterSqlite3(join(dataDir, 'outbox.db'), { readonly: true });
  try {
    return db.prepare("SELECT n FROM delivery_counts WHERE status = 'delivered'").pluck().get() ?? 0;
  } finally {
    db.close();
  }
}
