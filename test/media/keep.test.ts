// The local copies of sessions' files are removed media_keep_days after their upload, never
// before, and never while the upload is still to make; one sent with PUT and never named goes
// as long after it came. On a real data folder and a real outbox.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maintain } from '../../src/store/retention.js';
import { openStore } from '../../src/store/store.js';
import { tempDir } from '../helpers/temp.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 5, 20);

describe('media_keep_days', () => {
  it('removes uploaded copies older than the setting, and unnamed ones as old; keeps the rest', async () => {
    const dir = tempDir();
    const store = openStore(join(dir, 'outbox.db'));
    store.settings.write('media_keep_days', 7);
    const add = (id: string, status: string, eventId: string | null, createdAt: number, uploadedAt: number | null) => {
      const folder = join(dir, 'media', id);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'a.jpg'), 'x');
      store.db
        .prepare(
          `INSERT INTO media (id, session_id, event_id, name, local_path, size, sha256, content_type, status, next_attempt_at, created_at, uploaded_at)
           VALUES (?, 's', ?, 'a.jpg', ?, 1, 'h', 'image/jpeg', ?, 0, ?, ?)`,
        )
        .run(id, eventId, join(folder, 'a.jpg'), status, createdAt, uploadedAt);
      return folder;
    };
    const old = add('med_old', 'uploaded', 'evt_1', NOW - 30 * DAY, NOW - 7 * DAY - 1);
    const recent = add('med_recent', 'uploaded', 'evt_2', NOW - 30 * DAY, NOW - 7 * DAY + 1000);
    const waiting = add('med_waiting', 'waiting', 'evt_3', NOW - 30 * DAY, null);
    const failed = add('med_failed', 'failed', 'evt_4', NOW - 30 * DAY, null);
    const unnamed = add('med_unnamed', 'waiting', null, NOW - 8 * DAY, null);
    const fresh = add('med_fresh', 'waiting', null, NOW - DAY, null);

    expect((await maintain(store, NOW)).copiesRemoved).toBe(2);
    expect([old, recent, waiting, failed, unnamed, fresh].map(existsSync)).toEqual([false, true, true, true, false, true]);
    expect(store.db.prepare('SELECT id FROM media WHERE local_removed_at = ? ORDER BY id').pluck().all(NOW)).toEqual([
      'med_old',
      'med_unnamed',
    ]);
    expect(store.media.received('s', 'a.jpg')?.id).toBe('med_fresh');
    expect((await maintain(store, NOW + 1)).copiesRemoved).toBe(0);
    store.close();
  });
});
