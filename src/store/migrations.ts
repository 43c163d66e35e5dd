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
  {
    // For the operator's panel: secret rotation, the clock skew seen in answers, search by
    // session id, whether a delivery waited for the network (the day chart), and delivery
    // counts kept by triggers so the header never counts a million rows.
    version: 20,
    up(db) {
      db.exec(`
        ALTER TABLE endpoints ADD COLUMN previous_secret TEXT;
        ALTER TABLE endpoints ADD COLUMN previous_secret_until INTEGER;
        ALTER TABLE endpoints ADD COLUMN rotation_pending INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE endpoints ADD COLUMN clock_skew_ms INTEGER;

        ALTER TABLE events ADD COLUMN session_id TEXT;
        UPDATE events SET session_id = json_extract(CAST(body AS TEXT), '$.session.id');
        CREATE INDEX events_by_session ON events (session_id) WHERE session_id IS NOT NULL;

        -- Whether a delivery ever had to wait for the network, kept by triggers wherever
        -- its status becomes 'waiting', so the day chart shows an outage's hours.
        ALTER TABLE deliveries ADD COLUMN waited INTEGER NOT NULL DEFAULT 0;
        UPDATE deliveries SET waited = 1 WHERE status = 'waiting'
          OR EXISTS (SELECT 1 FROM attempts a WHERE a.delivery_seq = deliveries.seq AND a.outcome = 'unreachable');
        CREATE TRIGGER deliveries_waited_insert AFTER INSERT ON deliveries WHEN NEW.status = 'waiting' BEGIN
          UPDATE deliveries SET waited = 1 WHERE seq = NEW.seq;
        END;
        CREATE TRIGGER deliveries_waited_update AFTER UPDATE OF status ON deliveries WHEN NEW.status = 'waiting' BEGIN
          UPDATE deliveries SET waited = 1 WHERE seq = NEW.seq;
        END;
        CREATE INDEX events_by_time ON events (captured_at);

        CREATE INDEX deliveries_by_delivered_at ON deliveries (delivered_at) WHERE delivered_at IS NOT NULL;

        CREATE TABLE delivery_counts (
          status TEXT PRIMARY KEY,
          n      INTEGER NOT NULL
        ) STRICT;
        INSERT INTO delivery_counts (status, n)
          SELECT s.column1, (SELECT COUNT(*) FROM deliveries d WHERE d.status = s.column1)
          FROM (VALUES ('queued'), ('waiting'), ('delivered'), ('failed')) AS s;
        CREATE TRIGGER delivery_counts_insert AFTER INSERT ON deliveries BEGIN
          UPDATE delivery_counts SET n = n + 1 WHERE status = NEW.status;
        END;
        CREATE TRIGGER delivery_counts_delete AFTER DELETE ON deliveries BEGIN
          UPDATE delivery_counts SET n = n - 1 WHERE status = OLD.status;
        END;
        CREATE TRIGGER delivery_counts_update AFTER UPDATE OF status ON deliveries
        WHEN OLD.status <> NEW.status BEGIN
          UPDATE delivery_counts SET n = n - 1 WHERE status = OLD.status;
          UPDATE delivery_counts SET n = n + 1 WHERE status = NEW.status;
        END;
      `);
    },
  },
  {
    // Booth integrations (docs/capture-api.md: dslrBooth triggers, the hot folder):
    // dslrBooth's session state, kept on disk so an agent restart in the middle of a booth
    // session loses nothing, and the hot folder's files, taken once by their content across
    // restarts and renames.
    version: 30,
    up(db) {
      db.exec(`
        CREATE TABLE dslr_sessions (
          seq         INTEGER PRIMARY KEY,
          session_id  TEXT NOT NULL UNIQUE,
          mode        TEXT,
          final_file  TEXT,
          upload_url  TEXT,
          started_at  INTEGER NOT NULL,
          updated_at  INTEGER NOT NULL,
          ended_at    INTEGER,
          outcome     TEXT                               -- what became of it, in words
        ) STRICT;

        CREATE TABLE hot_folder_files (
          hash      TEXT PRIMARY KEY,                    -- sha256 of the file's content
          path      TEXT NOT NULL,
          taken_at  INTEGER NOT NULL,
          event_id  TEXT,
          outcome   TEXT NOT NULL
        ) STRICT;

        CREATE TABLE hot_folders (
          folder            TEXT PRIMARY KEY,
          first_watched_at  INTEGER NOT NULL
        ) STRICT;
      `);
    },
  },
  {
    // The delivery loop asks each endpoint when its next queued delivery is due. Only
    // queued rows are in this index, so the answer is one step however long the history.
    version: 40,
    up(db) {
      db.exec(`CREATE INDEX deliveries_due ON deliveries (endpoint_id, next_attempt_at) WHERE status = 'queued'`);
    },
  },
  {
    // The hot folder lists every media file it has seen, newest first. A file whose content
    // was taken before (a copy, or the same file renamed) is still not sent, and now says so,
    // in a table of its own: hot_folder_files stays one row per content, so its primary key
    // remains what guarantees a content is taken at most once, and the upgrade leaves those
    // rows as they are. `sent` tells a file that became a new event from one whose event
    // was already there ("already captured as …").
    version: 50,
    up(db) {
      db.exec(`
        ALTER TABLE hot_folder_files ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;
        UPDATE hot_folder_files SET sent = 1 WHERE outcome LIKE 'sent as %';
        CREATE INDEX hot_folder_files_by_time ON hot_folder_files (taken_at);

        CREATE TABLE hot_folder_skipped (
          path     TEXT NOT NULL,
          hash     TEXT NOT NULL REFERENCES hot_folder_files (hash),  -- the content taken before
          seen_at  INTEGER NOT NULL,
          outcome  TEXT NOT NULL,                                   -- why not sent, in words
          PRIMARY KEY (path, hash)
        ) STRICT;
        CREATE INDEX hot_folder_skipped_by_time ON hot_folder_skipped (seen_at);
      `);
    },
  },
  {
    // The organiser's data (docs/capture-api.md, "Erasing a guest", "Safe to pack up"):
    // - `stripped_at`: when an event's payload lost its personal data (an erase, or the
    //   retention by kind); the partial index finds the events still to strip in one step.
    // - `erasures`: the audit of each erase, with no personal data: a salted hash of the
    //   identifier and what went.
    // - `unsent_events`: the guests' events with no delivery at all (no endpoint took their
    //   type, or theirs was removed), kept by triggers so that the verdict the tray shows
    //   never scans the outbox; and an index of Send Test events, which the verdict leaves out.
    version: 60,
    up(db) {
      db.exec(`
        ALTER TABLE events ADD COLUMN stripped_at INTEGER;
        CREATE INDEX events_unstripped ON events (captured_at) WHERE stripped_at IS NULL;
        CREATE INDEX events_test ON events (seq) WHERE test = 1;

        CREATE TABLE erasures (
          id               INTEGER PRIMARY KEY,
          at               INTEGER NOT NULL,
          kind             TEXT NOT NULL CHECK (kind IN ('email', 'phone', 'session')),
          identifier_hash  TEXT NOT NULL,                 -- HMAC-SHA256 of the identifier, keyed with the folder's salt
          counts           TEXT NOT NULL                  -- JSON: what went
        ) STRICT;

        CREATE TABLE unsent_events (
          event_seq INTEGER PRIMARY KEY REFERENCES events (seq) ON DELETE CASCADE
        ) STRICT;
        INSERT INTO unsent_events (event_seq)
          SELECT seq FROM events e WHERE e.test = 0 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq);
        CREATE TRIGGER unsent_on_capture AFTER INSERT ON events WHEN NEW.test = 0 BEGIN
          INSERT INTO unsent_events (event_seq) VALUES (NEW.seq);
        END;
        CREATE TRIGGER unsent_on_delivery AFTER INSERT ON deliveries BEGIN
          DELETE FROM unsent_events WHERE event_seq = NEW.event_seq;
        END;
        CREATE TRIGGER unsent_on_last_delivery_dropped AFTER DELETE ON deliveries BEGIN
          INSERT OR IGNORE INTO unsent_events (event_seq)
            SELECT seq FROM events WHERE seq = OLD.event_seq AND test = 0 AND stripped_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_seq = OLD.event_seq);
        END;
        CREATE TRIGGER unsent_on_strip AFTER UPDATE OF stripped_at ON events WHEN NEW.stripped_at IS NOT NULL BEGIN
          DELETE FROM unsent_events WHERE event_seq = NEW.seq;
        END;
      `);
    },
  },
  {
    // Deliveries that heal themselves and raise the alarm (docs/webhooks.md, "Automatic
    // recovery", "Extra headers", "Formats", "Alerts", "A rate for each endpoint"):
    // - endpoints: whether failures recover by themselves, extra headers (a JSON object,
    //   sealed like the secrets), the body's format, a rate, and when it was disabled (the
    //   agent.endpoint_disabled alert looks for the ones disabled since the last).
    // - deliveries: when a failed one is next tried by itself, and how many times it was;
    //   failed ones by when they failed, for agent.delivery_failed.
    // - events: the agent's own events (alerts), which are not the guests' data: left out
    //   of "safe to pack up?", the export and the replay; found by type and time.
    version: 70,
    up(db) {
      db.exec(`
        ALTER TABLE endpoints ADD COLUMN auto_recover TEXT NOT NULL DEFAULT 'on' CHECK (auto_recover IN ('on', 'off', 'all'));
        ALTER TABLE endpoints ADD COLUMN headers TEXT;
        ALTER TABLE endpoints ADD COLUMN format TEXT NOT NULL DEFAULT 'snappic' CHECK (format IN ('snappic', 'flat', 'chat'));
        ALTER TABLE endpoints ADD COLUMN max_per_minute INTEGER CHECK (max_per_minute > 0);
        ALTER TABLE endpoints ADD COLUMN disabled_at INTEGER;

        ALTER TABLE deliveries ADD COLUMN recover_at INTEGER;
        ALTER TABLE deliveries ADD COLUMN recoveries INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX deliveries_recover ON deliveries (recover_at) WHERE recover_at IS NOT NULL;
        CREATE INDEX deliveries_failed ON deliveries (updated_at) WHERE status = 'failed';

        ALTER TABLE events ADD COLUMN alert INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX events_alert ON events (type, captured_at) WHERE alert = 1;

        DROP TRIGGER unsent_on_capture;
        CREATE TRIGGER unsent_on_capture AFTER INSERT ON events WHEN NEW.test = 0 AND NEW.alert = 0 BEGIN
          INSERT INTO unsent_events (event_seq) VALUES (NEW.seq);
        END;
        DROP TRIGGER unsent_on_last_delivery_dropped;
        CREATE TRIGGER unsent_on_last_delivery_dropped AFTER DELETE ON deliveries BEGIN
          INSERT OR IGNORE INTO unsent_events (event_seq)
            SELECT seq FROM events WHERE seq = OLD.event_seq AND test = 0 AND alert = 0 AND stripped_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_seq = OLD.event_seq);
        END;
      `);
    },
  },
  {
    // The in-flight limit the delivery loop found for each endpoint (core/concurrency-limit.ts),
    // written when it changes, at most once a second: `status` and the panel show it, and
    // the next start begins from it rather than from scratch.
    version: 80,
    up(db) {
      db.exec(`ALTER TABLE endpoints ADD COLUMN in_flight_limit INTEGER CHECK (in_flight_limit > 0);`);
    },
  },
  {
    // A token that every change to the endpoints table replaces with a random one, made by
    // any connection of any process. Endpoints are read (and their secrets opened) on every
    // turn of the delivery loop; a reader keeps what it read until the token differs. A
    // random value rather than a counter: a change rolled back restores the token it replaced,
    // and a count could reach that same value again by another change.
    version: 90,
    up(db) {
      db.exec(`
        CREATE TABLE endpoints_version (
          id    INTEGER PRIMARY KEY CHECK (id = 1),
          token INTEGER NOT NULL
        ) STRICT;
        INSERT INTO endpoints_version (id, token) VALUES (1, random());
        CREATE TRIGGER endpoints_version_insert AFTER INSERT ON endpoints BEGIN
          UPDATE endpoints_version SET token = random();
        END;
        CREATE TRIGGER endpoints_version_update AFTER UPDATE ON endpoints BEGIN
          UPDATE endpoints_version SET token = random();
        END;
        CREATE TRIGGER endpoints_version_delete AFTER DELETE ON endpoints BEGIN
          UPDATE endpoints_version SET token = random();
        END;
      `);
    },
  },
  {
    // The files a hot folder held when it was first watched, listed before the capture server
    // answers and in the transaction that records the folder: those are "already there",
    // however late the watcher reports them, even after a restart. A row goes once its file
    // is taken (its content hash then keeps it from being sent) or has left the folder. Size
    // and modification time tell a different file saved later under the same name.
    version: 100,
    up(db) {
      db.exec(`
        CREATE TABLE hot_folder_existing (
          folder    TEXT NOT NULL REFERENCES hot_folders (folder),
          name      TEXT NOT NULL,
          size      INTEGER NOT NULL,
          mtime_ms  REAL NOT NULL,
          PRIMARY KEY (folder, name)
        ) STRICT;
      `);
    },
  },
  {
    // When a delivery first failed in its current round (since its capture or the operator's
    // retry), kept through its automatic retries and cleared once it is delivered: each
    // failure is reported in the first agent.delivery_failed after this time, even when an
    // automatic retry came before that alert. Rows of 90: a failure not yet tried again by
    // itself failed when it was last updated; one tried again already is given when it was
    // queued, the earliest it can have failed, so that no failure an alert reported counts again.
    version: 110,
    up(db) {
      db.exec(`
        ALTER TABLE deliveries ADD COLUMN failed_at INTEGER;
        UPDATE deliveries SET failed_at = CASE WHEN recoveries = 0 THEN updated_at ELSE queued_at END
          WHERE status = 'failed' OR (status IN ('queued', 'waiting') AND recoveries > 0);
        CREATE INDEX deliveries_failed_at ON deliveries (failed_at) WHERE failed_at IS NOT NULL;
      `);
    },
  },
  {
    // The attempts to endpoints with a rate that have started and are not recorded yet
    // (docs/webhooks.md, "A rate for each endpoint"). An attempt is recorded once it has
    // ended, in a commit not synced on its own; its start is written here first, synced,
    // before its request goes out, so that the rate still counts it after a crash or a power
    // cut. Recording the attempt removes its start; one cut short stays for its minute.
    version: 120,
    up(db) {
      db.exec(`
        CREATE TABLE attempt_starts (
          delivery_seq INTEGER NOT NULL REFERENCES deliveries (seq) ON DELETE CASCADE,
          started_at   INTEGER NOT NULL,
          PRIMARY KEY (delivery_seq, started_at)
        ) STRICT;
      `);
    },
  },
  {
    // The organiser's S3-compatible storage for the session photos: one per booth, so one
    // row. The secret is sealed like an endpoint's; a public URL of NULL means presigned links.
    version: 130,
    up(db) {
      db.exec(`
        CREATE TABLE storage (
          id             INTEGER PRIMARY KEY CHECK (id = 1),
          url            TEXT NOT NULL,               -- the S3 API's base URL, without the bucket
          region         TEXT NOT NULL,
          bucket         TEXT NOT NULL,
          prefix         TEXT NOT NULL,
          access_key_id  TEXT NOT NULL,
          secret         TEXT NOT NULL,
          public_url     TEXT,
          path_style     INTEGER NOT NULL,
          ca             TEXT,                         -- extra trusted CA (PEM)
          updated_at     INTEGER NOT NULL
        ) STRICT;
      `);
    },
  },
  {
    // The deliveries under a lease: at most what is in flight. Every start gives back the
    // leases an earlier run left, and every stop its own; without this index both read every
    // delivery the outbox holds (100,000 queued: tens of milliseconds before the agent can
    // take its first capture).
    version: 140,
    up(db) {
      db.exec(`CREATE INDEX deliveries_leased ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL`);
    },
  },
  {
    // A session's media held by the agent (docs/capture-api.md, "Media"): the local copy, what
    // the storage is to check it against, and where its upload stands. A multipart upload's id
    // and each finished part are recorded as they finish, so a restart resumes at the next part.
    // A delivery that waits for a file names it in media_id; the upload's completion clears it.
    version: 150,
    up(db) {
      db.exec(`
        CREATE TABLE media (
          seq              INTEGER PRIMARY KEY,
          id               TEXT NOT NULL UNIQUE,         -- med_<ULID>
          session_id       TEXT NOT NULL,
          event_id         TEXT,                         -- the session event that named it; NULL: sent, not named yet
          name             TEXT NOT NULL,                -- the file's name, {file} in the key
          local_path       TEXT NOT NULL,
          size             INTEGER NOT NULL,
          sha256           TEXT NOT NULL,                -- hex
          content_type     TEXT NOT NULL,
          key              TEXT,                         -- the object's key, set when an event names it
          url              TEXT,                         -- the link the webhooks carry
          status           TEXT NOT NULL CHECK (status IN ('waiting', 'uploading', 'uploaded', 'failed')),
          upload_id        TEXT,                         -- the multipart upload under way
          part_size        INTEGER,
          bytes_done       INTEGER NOT NULL DEFAULT 0,
          attempts         INTEGER NOT NULL DEFAULT 0,
          next_attempt_at  INTEGER NOT NULL,
          last_error       TEXT,
          failed_at        INTEGER,                      -- when it last failed for good, for agent.upload_failed
          created_at       INTEGER NOT NULL,
          uploaded_at      INTEGER,
          local_removed_at INTEGER,
          erased_at        INTEGER
        ) STRICT;
        CREATE INDEX media_by_session ON media (session_id, seq);
        CREATE INDEX media_due ON media (status, next_attempt_at) WHERE event_id IS NOT NULL;

        CREATE TABLE media_parts (
          media_id    TEXT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
          part_number INTEGER NOT NULL,
          etag        TEXT NOT NULL,
          size        INTEGER NOT NULL,
          PRIMARY KEY (media_id, part_number)
        ) STRICT;

        ALTER TABLE deliveries ADD COLUMN media_id TEXT;
        CREATE INDEX deliveries_by_media ON deliveries (media_id) WHERE media_id IS NOT NULL;
      `);
    },
  },
  {
    // The guest's page (docs/storage.md, "The guest's page"): beside each session's file the
    // agent uploads a page and a preview for link cards, whose keys are fixed at capture like the
    // file's. The file's own upload is recorded apart (file_done_at), so a stop between the file
    // and the page resumes with the page and never sends the file again. Rows from before have
    // no page; an uploaded one has its file in.
    version: 160,
    up(db) {
      db.exec(`
        ALTER TABLE media ADD COLUMN page_key TEXT;       -- the session's page; NULL: none is made
        ALTER TABLE media ADD COLUMN site_url TEXT;       -- the page's link; NULL: the file's (url)
        ALTER TABLE media ADD COLUMN preview_key TEXT;    -- the link cards' JPEG; NULL: none (a video without poster, a HEIC)
        ALTER TABLE media ADD COLUMN poster_path TEXT;    -- the local copy of a video's session.poster
        ALTER TABLE media ADD COLUMN file_done_at INTEGER; -- the file is in the storage; the preview and page may remain
        ALTER TABLE media ADD COLUMN gallery_key TEXT;    -- the event's gallery that lists the session
        UPDATE media SET file_done_at = uploaded_at WHERE status = 'uploaded';
        CREATE INDEX media_by_gallery ON media (gallery_key, seq) WHERE gallery_key IS NOT NULL;

        -- An event gallery to rebuild when it changed after it was last built.
        CREATE TABLE galleries (
          key        TEXT PRIMARY KEY,
          changed_at INTEGER NOT NULL,
          built_at   INTEGER
        ) STRICT;
      `);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export class NewerDatabaseError extends Error {
  constructor(
    readonly found: number,
    readonly supported: number,
  ) {
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
