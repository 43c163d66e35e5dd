import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { hotFolderFiles } from '../../src/capture/hot-folder.js';
import { openDatabase, UnreadableDatabaseError } from '../../src/store/database.js';
import { migrate, MIGRATIONS, NewerDatabaseError, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { tempDir } from '../helpers/temp.js';

const tables = (db: BetterSqlite3.Database) =>
  db.prepare(`SELECT name, sql FROM sqlite_schema WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name`).all();

describe('migrations', () => {
  // Numbers are handed out ahead of merging, so a branch may skip the ones another branch holds.
  it('are numbered in rising multiples of ten', () => {
    MIGRATIONS.forEach((m, i) => {
      expect(m.version % 10).toBe(0);
      expect(m.version).toBeGreaterThan(MIGRATIONS[i - 1]?.version ?? 0);
    });
  });

  it('step one version at a time on a real file, keeping the rows of the earlier step', () => {
    const file = join(tempDir(), 'outbox.db');
    const db = openDatabase(file, { migrate: false });
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    let previous = 0;
    for (const step of MIGRATIONS) {
      const before = previous === 0 ? [] : db.prepare('SELECT * FROM settings').all();
      expect(migrate(db, step.version)).toBe(step.version);
      expect(db.pragma('user_version', { simple: true })).toBe(step.version);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      if (previous !== 0) expect(db.prepare('SELECT * FROM settings').all()).toEqual(before);
      db.prepare(`INSERT INTO settings (key, value) VALUES (?, '1')`).run(`after_${step.version}`);
      previous = step.version;
    }
    db.close();
    const reopened = openDatabase(file);
    expect(reopened.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    // In the order written: by key, after_100 would sort before after_20.
    expect(reopened.prepare('SELECT key FROM settings ORDER BY rowid').pluck().all()).toEqual(MIGRATIONS.map((m) => `after_${m.version}`));
    reopened.close();
  });

  it('20 backfills session ids, waited flags and delivery counts from the rows of 10', () => {
    const db = openDatabase(join(tempDir(), 'step20.db'), { migrate: false });
    migrate(db, 10);
    db.exec(`
      INSERT INTO endpoints (id, url, secret, created_at) VALUES ('ep_1', 'https://a.example/h', 'whsec_x', 1);
      INSERT INTO events (id, type, body, occurred_at, captured_at) VALUES
        ('evt_1', 'session', CAST('{"type":"session","session":{"id":"s-1"}}' AS BLOB), '', 1),
        ('evt_2', 'share', CAST('{"type":"share","session":{"id":"s-2"}}' AS BLOB), '', 2);
      INSERT INTO deliveries (id, event_seq, endpoint_id, status, queued_at, next_attempt_at, updated_at) VALUES
        ('msg_1', 1, 'ep_1', 'delivered', 1, 1, 1), ('msg_2', 2, 'ep_1', 'failed', 2, 2, 2);
      INSERT INTO attempts (delivery_seq, started_at, duration_ms, outcome, status_code, reason) VALUES
        (1, 1, 5, 'answered', 200, 'ok'), (2, 2, 5, 'unreachable', NULL, 'offline'), (2, 3, 5, 'answered', 500, 'HTTP 500');
    `);
    migrate(db, 20);
    expect(db.prepare('SELECT id, session_id FROM events ORDER BY seq').all()).toEqual([
      { id: 'evt_1', session_id: 's-1' },
      { id: 'evt_2', session_id: 's-2' },
    ]);
    expect(db.prepare('SELECT waited FROM deliveries ORDER BY seq').pluck().all()).toEqual([0, 1]);
    const counts = () =>
      Object.fromEntries(
        (db.prepare('SELECT status, n FROM delivery_counts').all() as { status: string; n: number }[]).map((r) => [r.status, r.n]),
      );
    expect(counts()).toEqual({ queued: 0, waiting: 0, delivered: 1, failed: 1 });
    db.exec(`UPDATE deliveries SET status = 'queued' WHERE id = 'msg_2'`);
    expect(counts()).toEqual({ queued: 1, waiting: 0, delivered: 1, failed: 0 });
    db.exec(`DELETE FROM endpoints`);
    expect(counts()).toEqual({ queued: 0, waiting: 0, delivered: 0, failed: 0 });
    db.close();
  });

  it('50 keeps the hot folder files of 40, marks the ones sent, and lists repeats beside them', () => {
    const db = openDatabase(join(tempDir(), 'step50.db'), { migrate: false });
    migrate(db, 40);
    db.exec(`
      INSERT INTO hot_folders (folder, first_watched_at) VALUES ('/f', 1);
      INSERT INTO hot_folder_files (hash, path, taken_at, event_id, outcome) VALUES
        ('h1', '/f/a.jpg', 1, 'evt_1', 'sent as evt_1'),
        ('h2', '/f/b.jpg', 2, 'evt_0', 'already captured as evt_0'),
        ('h3', '/f/c.jpg', 3, NULL, 'already in the folder when it was first watched: not sent'),
        ('h4', '/f/d.jpg', 4, NULL, 'not sent: no URL for d.jpg');
    `);
    const files = (columns: string) => db.prepare(`SELECT ${columns} FROM hot_folder_files ORDER BY hash`).all();
    const before = files('*');
    migrate(db, 50);
    expect(files('hash, path, taken_at, event_id, outcome')).toEqual(before);
    expect(db.prepare('SELECT sent FROM hot_folder_files ORDER BY hash').pluck().all()).toEqual([1, 0, 0, 0]);
    expect(db.prepare('SELECT * FROM hot_folders').all()).toEqual([{ folder: '/f', first_watched_at: 1 }]);

    expect(() =>
      db.prepare(`INSERT INTO hot_folder_files (hash, path, taken_at, outcome) VALUES ('h1', '/f/copy.jpg', 5, 'x')`).run(),
    ).toThrow(/UNIQUE constraint failed/);
    const skip = db.prepare('INSERT INTO hot_folder_skipped (path, hash, seen_at, outcome) VALUES (?, ?, ?, ?)');
    skip.run('/f/copy.jpg', 'h1', 5, 'same content as /f/a.jpg, already sent as evt_1: not sent again');
    expect(() => skip.run('/f/copy.jpg', 'h1', 6, 'again')).toThrow(/UNIQUE constraint failed/);
    expect(() => skip.run('/f/other.jpg', 'never-taken', 6, 'x')).toThrow(/FOREIGN KEY constraint failed/);

    expect(hotFolderFiles(db, { limit: 3 })).toEqual([
      {
        path: '/f/copy.jpg',
        ref: 'h1.jpg',
        seenAt: 5,
        outcome: 'same content as /f/a.jpg, already sent as evt_1: not sent again',
        eventId: 'evt_1',
        sent: false,
      },
      { path: '/f/d.jpg', ref: 'h4.jpg', seenAt: 4, outcome: 'not sent: no URL for d.jpg', eventId: null, sent: false },
      {
        path: '/f/c.jpg',
        ref: 'h3.jpg',
        seenAt: 3,
        outcome: 'already in the folder when it was first watched: not sent',
        eventId: null,
        sent: false,
      },
    ]);
    expect(hotFolderFiles(db, { limit: 10 }).slice(3)).toEqual([
      { path: '/f/b.jpg', ref: 'h2.jpg', seenAt: 2, outcome: 'already captured as evt_0', eventId: 'evt_0', sent: false },
      { path: '/f/a.jpg', ref: 'h1.jpg', seenAt: 1, outcome: 'sent as evt_1', eventId: 'evt_1', sent: true },
    ]);
    db.close();
  });

  it('60 finds the events of 50 sent nowhere, and keeps finding them as deliveries come and go', () => {
    const db = openDatabase(join(tempDir(), 'step60.db'), { migrate: false });
    migrate(db, 50);
    db.exec(`
      INSERT INTO endpoints (id, url, secret, created_at) VALUES ('ep_1', 'https://a.example/h', 'whsec_x', 1);
      INSERT INTO events (id, type, body, test, occurred_at, captured_at) VALUES
        ('evt_1', 'session', CAST('{}' AS BLOB), 0, '', 1),
        ('evt_2', 'survey', CAST('{}' AS BLOB), 0, '', 2),
        ('evt_3', 'session', CAST('{}' AS BLOB), 1, '', 3);
      INSERT INTO deliveries (id, event_seq, endpoint_id, status, queued_at, next_attempt_at, updated_at) VALUES
        ('msg_1', 1, 'ep_1', 'delivered', 1, 1, 1);
    `);
    migrate(db, 60);
    const unsent = () => db.prepare('SELECT e.id FROM unsent_events u JOIN events e ON e.seq = u.event_seq ORDER BY e.seq').pluck().all();
    expect(unsent()).toEqual(['evt_2']);
    db.exec(`
      INSERT INTO events (id, type, body, occurred_at, captured_at) VALUES ('evt_4', 'session', CAST('{}' AS BLOB), '', 4);
      INSERT INTO deliveries (id, event_seq, endpoint_id, status, queued_at, next_attempt_at, updated_at) VALUES
        ('msg_4', 4, 'ep_1', 'queued', 4, 4, 4);
    `);
    expect(unsent()).toEqual(['evt_2']);
    db.exec(`DELETE FROM endpoints`);
    expect(unsent()).toEqual(['evt_1', 'evt_2', 'evt_4']);
    db.exec(`UPDATE events SET stripped_at = 5 WHERE id = 'evt_2'; DELETE FROM events WHERE id = 'evt_1'`);
    expect(unsent()).toEqual(['evt_4']);
    db.close();
  });

  it('100 starts an empty list of the files already there, for folders that were watched', () => {
    const db = openDatabase(join(tempDir(), 'step100.db'), { migrate: false });
    migrate(db, 90);
    db.exec(`INSERT INTO hot_folders (folder, first_watched_at) VALUES ('/f', 1)`);
    migrate(db, 100);
    expect(db.prepare('SELECT * FROM hot_folders').all()).toEqual([{ folder: '/f', first_watched_at: 1 }]);
    expect(db.prepare('SELECT * FROM hot_folder_existing').all()).toEqual([]);
    const add = db.prepare('INSERT INTO hot_folder_existing (folder, name, size, mtime_ms) VALUES (?, ?, ?, ?)');
    add.run('/f', 'a.jpg', 1000, 1_700_000_000_123.25);
    expect(db.prepare('SELECT * FROM hot_folder_existing').all()).toEqual([
      { folder: '/f', name: 'a.jpg', size: 1000, mtime_ms: 1_700_000_000_123.25 },
    ]);
    expect(() => add.run('/f', 'a.jpg', 1, 1)).toThrow(/UNIQUE constraint failed/);
    expect(() => add.run('/never-watched', 'a.jpg', 1, 1)).toThrow(/FOREIGN KEY constraint failed/);
    db.close();
  });

  it('110 dates the failures of 90 so that none an alert reported is reported again', () => {
    const db = openDatabase(join(tempDir(), 'step110.db'), { migrate: false });
    migrate(db, 90);
    db.exec(`
      INSERT INTO endpoints (id, url, secret, created_at) VALUES ('ep_1', 'https://a.example/h', 'whsec_x', 1);
      INSERT INTO events (id, type, body, occurred_at, captured_at) VALUES
        ('evt_1', 'session', CAST('{}' AS BLOB), '', 1), ('evt_2', 'session', CAST('{}' AS BLOB), '', 2),
        ('evt_3', 'session', CAST('{}' AS BLOB), '', 3), ('evt_4', 'session', CAST('{}' AS BLOB), '', 4),
        ('evt_5', 'session', CAST('{}' AS BLOB), '', 5);
      INSERT INTO deliveries (id, event_seq, endpoint_id, status, queued_at, next_attempt_at, updated_at, recoveries) VALUES
        ('msg_failed', 1, 'ep_1', 'failed', 10, 10, 40, 0),
        ('msg_failed_again', 2, 'ep_1', 'failed', 11, 11, 41, 2),
        ('msg_recovering', 3, 'ep_1', 'queued', 12, 12, 42, 1),
        ('msg_queued', 4, 'ep_1', 'queued', 13, 13, 43, 0),
        ('msg_delivered', 5, 'ep_1', 'delivered', 14, 14, 44, 1);
    `);
    migrate(db, 110);
    expect(db.prepare('SELECT id, failed_at FROM deliveries ORDER BY seq').all()).toEqual([
      { id: 'msg_failed', failed_at: 40 },
      { id: 'msg_failed_again', failed_at: 11 },
      { id: 'msg_recovering', failed_at: 12 },
      { id: 'msg_queued', failed_at: null },
      { id: 'msg_delivered', failed_at: null },
    ]);
    db.close();
  });

  it('130 adds an empty storage table that holds one row at most, and keeps the settings', () => {
    const db = openDatabase(join(tempDir(), 'step130.db'), { migrate: false });
    migrate(db, 100);
    db.exec(`INSERT INTO settings (key, value) VALUES ('event_id', '42')`);
    migrate(db, 130);
    expect(db.prepare('SELECT * FROM settings').all()).toEqual([{ key: 'event_id', value: '42' }]);
    expect(db.prepare('SELECT * FROM storage').all()).toEqual([]);
    const add = db.prepare(`
      INSERT INTO storage (id, url, region, bucket, prefix, access_key_id, secret, public_url, path_style, ca, updated_at)
      VALUES (?, 'https://s3.example.com', 'us-east-1', 'b', '', 'AKIA', 'sealed:v1:x', NULL, 0, NULL, 1)`);
    add.run(1);
    expect(() => add.run(2)).toThrow(/CHECK constraint failed/);
    expect(() => add.run(1)).toThrow(/UNIQUE constraint failed|PRIMARY KEY/);
    db.close();
  });

  it('150 keeps the deliveries of 140, none waiting for media, and records media with their parts', () => {
    const db = openDatabase(join(tempDir(), 'step150.db'), { migrate: false });
    migrate(db, 140);
    db.exec(`
      INSERT INTO endpoints (id, url, secret, created_at) VALUES ('ep_1', 'https://x.test/', 's', 1);
      INSERT INTO events (seq, id, type, body, occurred_at, captured_at) VALUES (1, 'evt_1', 'session', x'7b7d', 't', 1);
      INSERT INTO deliveries (id, event_seq, endpoint_id, status, queued_at, next_attempt_at, updated_at)
        VALUES ('msg_1', 1, 'ep_1', 'waiting', 1, 1, 1);`);
    const before = db.prepare('SELECT * FROM deliveries').all() as object[];
    migrate(db, 150);
    expect(db.prepare('SELECT * FROM deliveries').all()).toEqual(before.map((row) => ({ ...row, media_id: null })));
    db.exec(`
      INSERT INTO media (id, session_id, event_id, name, local_path, size, sha256, content_type, status, next_attempt_at, created_at)
        VALUES ('med_1', 's1', 'evt_1', 'a.jpg', '/d/media/med_1/a.jpg', 10, 'ab', 'image/jpeg', 'waiting', 1, 1);
      INSERT INTO media_parts (media_id, part_number, etag, size) VALUES ('med_1', 1, '"e1"', 8388608);`);
    expect(() => db.exec(`UPDATE media SET status = 'sent'`)).toThrow(/CHECK constraint failed/);
    expect(() => db.exec(`INSERT INTO media_parts (media_id, part_number, etag, size) VALUES ('med_9', 1, 'e', 1)`)).toThrow(
      /FOREIGN KEY constraint failed/,
    );
    db.exec(`DELETE FROM media WHERE id = 'med_1'`);
    expect(db.prepare('SELECT COUNT(*) FROM media_parts').pluck().get()).toBe(0);
    db.close();
  });

  it('160 gives the media of 150 no page, and counts an uploaded file as in the storage', () => {
    const db = openDatabase(join(tempDir(), 'step160.db'), { migrate: false });
    migrate(db, 150);
    db.exec(`
      INSERT INTO media (id, session_id, event_id, name, local_path, size, sha256, content_type, status, next_attempt_at, created_at, uploaded_at)
        VALUES ('med_1', 's1', 'evt_1', 'a.jpg', '/d/a.jpg', 10, 'ab', 'image/jpeg', 'uploaded', 1, 1, 5),
               ('med_2', 's2', 'evt_2', 'b.jpg', '/d/b.jpg', 10, 'ab', 'image/jpeg', 'waiting', 1, 1, NULL);`);
    const before = db.prepare('SELECT * FROM media ORDER BY seq').all() as Record<string, unknown>[];
    migrate(db, 160);
    const page = { page_key: null, site_url: null, preview_key: null, poster_path: null, gallery_key: null };
    expect(db.prepare('SELECT * FROM media ORDER BY seq').all()).toEqual([
      { ...before[0], ...page, file_done_at: 5 },
      { ...before[1], ...page, file_done_at: null },
    ]);
    db.exec(`INSERT INTO galleries (key, changed_at) VALUES ('b/1/index.html', 7)`);
    expect(() => db.exec(`INSERT INTO galleries (key, changed_at) VALUES ('b/1/index.html', 8)`)).toThrow(/UNIQUE constraint failed/);
    expect(() => db.exec(`INSERT INTO galleries (key, changed_at) VALUES ('b/2/index.html', NULL)`)).toThrow(/NOT NULL constraint failed/);
    db.close();
  });

  it('build the same schema whether applied at once or step by step', () => {
    const atOnce = openDatabase(join(tempDir(), 'a.db'));
    const stepped = openDatabase(join(tempDir(), 'b.db'), { migrate: false });
    for (const step of MIGRATIONS) migrate(stepped, step.version);
    expect(tables(stepped)).toEqual(tables(atOnce));
    atOnce.close();
    stepped.close();
  });

  it('make STRICT tables that refuse a value of the wrong type', () => {
    const db = openDatabase(join(tempDir(), 'strict.db'));
    for (const row of db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table'`).all() as { sql: string }[]) {
      expect(row.sql).toMatch(/\) STRICT$/);
    }
    expect(() => db.prepare(`INSERT INTO endpoints (id, url, secret, created_at) VALUES ('e', 'u', 's', 'yesterday')`).run()).toThrow(
      /cannot store TEXT value in INTEGER column/,
    );
    db.close();
  });

  it('refuse a database from a newer version and leave it untouched', () => {
    const file = join(tempDir(), 'future.db');
    const raw = new BetterSqlite3(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 10}`);
    raw.close();
    const before = statSync(file).mtimeMs;
    expect(() => openDatabase(file)).toThrow(NewerDatabaseError);
    expect(() => openDatabase(file)).toThrow(/newer Booth Agent \(schema \d+; this version knows up to \d+\)/);
    const check = new BetterSqlite3(file);
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 10);
    check.close();
    expect(statSync(file).mtimeMs).toBe(before);
  });

  it('roll back every pending step when one fails', () => {
    const db = openDatabase(join(tempDir(), 'rollback.db'), { migrate: false });
    db.exec('CREATE TABLE settings (x)');
    expect(() => migrate(db)).toThrow(/already exists/);
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    expect(db.prepare(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'events'`).pluck().get()).toBe(0);
    db.close();
  });
});

describe('openDatabase', () => {
  it('sets WAL, synchronous=FULL, foreign keys and secure_delete, and makes the file private', () => {
    const file = join(tempDir(), 'outbox.db');
    const db = openDatabase(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('secure_delete', { simple: true })).toBe(1);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a file that is not a database, and keeps it', () => {
    const file = join(tempDir(), 'outbox.db');
    writeFileSync(file, 'this is not a database, it is a shopping list'.repeat(200));
    expect(() => openDatabase(file)).toThrow(UnreadableDatabaseError);
    expect(() => openDatabase(file)).toThrow(/left as it is for recovery/);
    expect(statSync(file).size).toBe(9000);
  });
});
