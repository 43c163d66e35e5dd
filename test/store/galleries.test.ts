// When an event gallery is due to be built again (store/media.ts): at once the first time, then
// at most once a minute while uploads keep changing it, and at once after an erase, on a real
// outbox file.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GALLERY_EVERY_MS } from '../../src/store/media.js';
import { eraseMedia } from '../../src/store/erasure.js';
import { openStore, type Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/temp.js';

const KEY = 'booths/7/index.html';
const T0 = Date.parse('2026-12-06T12:00:00Z');

/** A session the gallery lists, its upload finished at `at`: as the upload lane records it, the gallery changed then. */
function uploadedAt(store: Store, id: string, at: number): void {
  store.db
    .prepare(
      `INSERT INTO media (id, session_id, event_id, name, local_path, size, sha256, content_type, key, status, next_attempt_at, created_at, gallery_key)
       VALUES (@id, @id, @id, 'photo.jpg', '', 1, '', 'image/jpeg', @id, 'uploading', 0, 0, @gallery)`,
    )
    .run({ id, gallery: KEY });
  store.media.uploaded(id, at);
}

describe('event galleries', () => {
  it('is built at once the first time, then at most once a minute while it changes', () => {
    const store = openStore(join(tempDir(), 'outbox.db'));
    try {
      const { media } = store;
      expect(media.galleriesDue(T0)).toEqual([]);
      uploadedAt(store, 'med_1', T0);
      expect(media.galleriesDue(T0)).toEqual([KEY]);
      media.galleryBuilt(KEY, T0 + 10);
      expect(media.galleriesDue(T0 + 10 + GALLERY_EVERY_MS)).toEqual([]);

      uploadedAt(store, 'med_2', T0 + 5_000);
      expect(media.galleriesDue(T0 + 5_000)).toEqual([]);
      expect(media.galleriesDue(T0 + 10 + GALLERY_EVERY_MS - 1)).toEqual([]);
      expect(media.galleriesDue(T0 + 10 + GALLERY_EVERY_MS)).toEqual([KEY]);
      // A change in the millisecond its build began may have come after the read: built again.
      media.galleryBuilt(KEY, T0 + 5_000);
      expect(media.galleriesDue(T0 + 5_000 + GALLERY_EVERY_MS)).toEqual([KEY]);
    } finally {
      store.close();
    }
  });

  it('is due at once after an erase of a session it lists, whatever its minute', () => {
    const store = openStore(join(tempDir(), 'outbox.db'));
    try {
      uploadedAt(store, 'med_1', T0);
      store.media.galleryBuilt(KEY, T0 + 1);
      expect(store.media.galleriesDue(T0 + 2)).toEqual([]);
      eraseMedia(store.db, [{ mediaId: 'med_1', localPath: '', onBooth: false }], T0 + 2);
      expect(store.media.galleriesDue(T0 + 2)).toEqual([KEY]);
      expect(store.media.gallerySessions(KEY)).toEqual([]);
    } finally {
      store.close();
    }
  });
});
