// A stop of the upload lane waits for the preview it is making: the preview is made while the
// file goes up, and when the file's upload ends first (here the storage cannot be reached), the
// preview must still be done before the stop is, or it would log (and fail) after the agent has
// closed its log. The preview's source is a large JPEG cut short, which sharp takes a few hundred
// milliseconds to find broken.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_SETTINGS } from '../../src/core/settings.js';
import { Uploader } from '../../src/media/uploader.js';
import { openStore } from '../../src/store/store.js';
import { useMediaServices } from '../helpers/media.js';
import { noisyPhoto } from '../helpers/photo.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();

describe('stopping the upload lane', () => {
  it('waits for the preview under way, and logs nothing after it is done', async () => {
    const dir = tempDir('stop-');
    const store = openStore(join(dir, 'outbox.db'));
    const photo = join(dir, 'photo.jpg');
    writeFileSync(photo, 'not an image');
    const poster = join(dir, 'poster.jpg');
    const whole = await noisyPhoto(8000, 6000);
    writeFileSync(poster, whole.subarray(0, Math.floor(whole.length * 0.95)));
    store.db
      .prepare(
        `INSERT INTO media (id, session_id, event_id, name, local_path, size, sha256, content_type, key, url, status, next_attempt_at,
           created_at, page_key, site_url, preview_key, poster_path)
         VALUES ('med_stop', 's-stop', 'evt_stop', 'clip.mp4', ?, 12, '', 'video/mp4', 'booths/1/s-stop/clip.mp4', 'https://x.test/c',
           'waiting', 0, 0, 'booths/1/s-stop/index.html', 'https://x.test/p', 'booths/1/s-stop/clip.preview.jpg', ?)`,
      )
      .run(photo, poster);
    const lines: string[] = [];
    let closed = false;
    const log = pino({ level: 'info' }, { write: (line: string) => (closed ? lines.push(`AFTER STOP ${line}`) : lines.push(line)) });
    const settings = { ...DEFAULT_SETTINGS, offline_check_min_ms: 60_000, offline_check_max_ms: 60_000 };
    const uploader = new Uploader({ media: store.media, storage: () => m.storage(), settings: () => settings, log, released: () => {} });
    await m.s3.down('refuse');
    try {
      uploader.start();
      await waitFor('the file put off, its preview still being made', () =>
        /cannot be reached/.test(String(store.db.prepare(`SELECT last_error FROM media WHERE id = 'med_stop'`).pluck().get())),
      );
      await uploader.stop();
      closed = true;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(lines.filter((line) => line.startsWith('AFTER STOP'))).toEqual([]);
    } finally {
      await m.s3.up();
      store.close();
    }
  });
  it('says nothing on the console when it cuts an upload short', async () => {
    const dir = tempDir('stop-');
    const store = openStore(join(dir, 'outbox.db'));
    const file = join(dir, 'clip.mp4');
    writeFileSync(file, Buffer.alloc(2_000_000, 7));
    store.db
      .prepare(
        `INSERT INTO media (id, session_id, event_id, name, local_path, size, sha256, content_type, key, url, status, next_attempt_at, created_at)
         VALUES ('med_cut', 's-cut', 'evt_cut', 'clip.mp4', ?, 2000000, '', 'video/mp4', 'booths/1/s-cut/clip.mp4', 'https://x.test/c', 'waiting', 0, 0)`,
      )
      .run(file);
    const settings = { ...DEFAULT_SETTINGS, upload_max_kbps: 800 };
    const log = pino({ level: 'silent' });
    const uploader = new Uploader({ media: store.media, storage: () => m.storage(), settings: () => settings, log, released: () => {} });
    const warned = vi.spyOn(console, 'warn');
    try {
      uploader.start();
      await waitFor('the upload under way', () => m.s3.requests.some((r) => r.key === 'booths/1/s-cut/clip.mp4' && r.received > 0));
      await uploader.stop();
      expect(warned).not.toHaveBeenCalled();
    } finally {
      warned.mockRestore();
      store.close();
    }
  });
});
