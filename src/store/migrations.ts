// Numbered schema steps, in tens so a step can later be slotted between two others.
// `PRAGMA user_version` records the last step applied; every pending step runs inside one
// transaction, so a power cut mid-upgrade leaves the previous version intact.
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  up(db: Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 10,
    up(db) {
      db.exec(`
        CREATE TABLE settings (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) STRICT;

        CREATE TABLE endpoints (
          id                TEXT PRIMARY KEY,
          url               TEXT NOT NULL,
          secret            TEXT NOT NULL,
          types             TEXT,                        -- JSON array of payload types; NULL: all
          enabled           INTEGER NOT NULL DEFAULT 1,
          disabled_reason   TEXT,
          strict_order      INTEGER NOT NULL DEFAULT 0,  -- 1: one delivery in flight at a time
          ca                TEXT,                        -- extra trusted CA (PEM) for this endpoint
          unreachable_since INTEGER,                     -- set while the endpoint cannot be reached
          created_at        INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE events (
          seq          INTEGER PRIMARY KEY,              -- capture order
          id           TEXT NOT NULL UNIQUE,             -- evt_<ULID>
          type         TEXT NOT NULL,
          body         BLOB NOT NULL,                    -- the exact bytes every attempt sends
          dedupe_key   TEXT,                             -- Idempotency-Key or natural key
          test         INTEGER NOT NULL DEFAULT 0,
          occurred_at  TEXT NOT NULL,                    -- the payload's timestamp
          captured_at  INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX events_dedupe ON events (dedupe_key, captured_at) WHERE dedupe_key IS NOT NULL;

        CREATE TABLE deliveries (
          seq              INTEGER PRIMARY KEY,
          id               TEXT NOT NULL UNIQUE,         -- the webhook-id, msg_<ULID>
          event_seq        INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
          endpoint_id      TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
          status           TEXT NOT NULL CHECK (status IN ('queued', 'waiting', 'delivered', 'failed')),
          attempts_used    INTEGER NOT NULL DEFAULT 0,
          queued_at        INTEGER NOT NULL,
          next_attempt_at  INTEGER NOT NULL,
          last_error       TEXT,
          lease_owner      TEXT,
          lease_expires_at INTEGER,
          delivered_at     INTEGER,
          updated_at       INTEGER NOT NULL,
          UNIQUE (event_seq, endpoint_id)
        ) STRICT;
        CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint_id, status, seq);
        CREATE INDEX deliveries_by_status ON deliveries (status, seq);

        CREATE TABLE attempts (
          id            INTEGER PRIMARY KEY,
          delivery_seq  INTEGER NOT NULL REFERENCES deliveries (seq) ON DELETE CASCADE,
          started_at    INTEGER NOT NULL,
          duration_ms   INTEGER NOT NULL,
          outcome       TEXT NOT NULL CHECK (outcome IN ('answered', 'no-response', 'unreachable')),
          status_code   INTEGER,
          error         TEXT,
          response_head BLOB,                            -- the first 4 KiB of the response body
          reason        TEXT NOT NULL
        ) STRICT;
        CREATE INDEX attempts_by_delivery ON attempts (delivery_seq, id);
      `);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export class NewerDatabaseError extends Error {
  constructor(readonly found: number, readonly supported: number) {
    super(
      `this database was written by a newer Booth Agent (schema ${found}; this version knows up to ${supported}). ` +
        'Install the newer version again, or point --data-dir at another folder; the file was not changed.',
    );
    this.name = 'NewerDatabaseError';
  }
}

/** Applies every step above the database's version, up to `target`, in one transaction. */
export function migrate(db: Database, target: number = SCHEMA_VERSION): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) throw new NewerDatabaseError(current, SCHEMA_VERSION);
  const pending = MIGRATIONS.filter((m) => m.version > current && m.version <= target);
  if (pending.length === 0) return current;
  db.transaction(() => {
    for (const step of pending) {
      step.up(db);
      db.pragma(`user_version = ${step.version}`);
    }
  }).immediate();
  return pending[pending.length - 1]!.version;
}
