// Erasing a guest takes their sessions' files too (a guest's face is personal data), against the
// S3-compatible test service: the object and any open upload go from the storage, the local copy
// from the data folder; by address, the files of the sessions shared to it; a dry run only lists.
// With the storage unreachable the deletion is owed and the upload lane carries it out later;
// an upload under way stops and never completes.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eraseGuest } from '../../src/operations/erase.js';
import { setStorage } from '../helpers/agent.js';
import { mediaBooth, useMediaServices } from '../helpers/media.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();

async function booth(settings = {}) {
  const b = await mediaBooth(m, m.storage(), settings);
  return { ...b, erase: (input: object) => eraseGuest(b.t.agent.operations, input) };
}

describe('erasing the media of a guest', () => {
  it('lists the photo in a dry run, then deletes the object and the local copy', async () => {
    const b = await booth();
    try {
      const bytes = randomBytes(200_000);
      await b.capture('er-1', bytes);
      await waitFor('the photo uploaded', () => b.media('er-1')?.status === 'uploaded');
      const { local_path: localPath, key, id } = b.media('er-1');
      const before = b.media('er-1');

      const dry = await b.erase({ session: 'er-1', dryRun: true });
      expect(dry.media).toEqual([
        { mediaId: id, sessionId: 'er-1', name: 'photo.jpg', bytes: bytes.length, status: 'uploaded', inStorage: true, onBooth: true },
      ]);
      expect(dry.counts.media).toBe(1);
      expect(dry.storage).toBeNull();
      expect(b.media('er-1')).toEqual(before);
      expect(existsSync(localPath)).toBe(true);
      expect((await m.s3.readObject(key))?.equals(bytes)).toBe(true);

      const done = await b.erase({ session: 'er-1' });
      expect(done.storage).toEqual({ deleted: 1, owed: 0, reason: null });
      expect(await m.s3.readObject(key)).toBeNull();
      expect(existsSync(localPath)).toBe(false);
      expect(b.media('er-1')).toMatchObject({ erased_at: expect.any(Number), key: null, url: null, name: '', status: 'failed' });
      // An operator's retry of failed uploads does not bring it back.
      expect(b.t.agent.store.media.retryFailed(Date.now())).toBe(0);
    } finally {
      await b.t.stop();
    }
  });

  it('by email, erases the photo of the session shared to that address', async () => {
    const b = await booth();
    try {
      await b.capture('er-2', randomBytes(50_000));
      await b.capture('er-3', randomBytes(50_000));
      await waitFor('the photos uploaded', () => b.media('er-2')?.status === 'uploaded' && b.media('er-3')?.status === 'uploaded');
      const url = b.media('er-2').url as string;
      const share = {
        type: 'share',
        session: { id: 'er-2', type: 'still', direct_url: url, site_url: url },
        share: { id: 'sh1', type: 'email', value: 'Guest@Example.test' },
        data_capture: { sections: [] },
      };
      expect((await b.t.post(JSON.stringify(share))).status).toBe(202);
      const { key, local_path: localPath } = b.media('er-2');

      const dry = await b.erase({ email: 'guest@example.test', dryRun: true });
      expect(dry.media.map((f) => f.sessionId)).toEqual(['er-2']);
      const done = await b.erase({ email: 'guest@example.test' });
      expect(done.storage).toMatchObject({ deleted: 1, owed: 0 });
      expect(await m.s3.readObject(key)).toBeNull();
      expect(existsSync(localPath)).toBe(false);
      // The session nobody shared to that address keeps its photo.
      expect(await m.s3.readObject(b.media('er-3').key)).not.toBeNull();
      expect(existsSync(b.media('er-3').local_path)).toBe(true);
    } finally {
      await b.t.stop();
    }
  });

  it('owes the deletion while the storage cannot be reached, and the upload lane carries it out', async () => {
    const b = await booth();
    try {
      await b.capture('er-4', randomBytes(50_000));
      await waitFor('the photo uploaded', () => b.media('er-4')?.status === 'uploaded');
      const { key, local_path: localPath } = b.media('er-4');
      await m.s3.down('refuse');
      const done = await b.erase({ session: 'er-4' }).finally(() => m.s3.up());
      expect(done.storage).toMatchObject({ deleted: 0, owed: 1, reason: expect.stringContaining('cannot be reached') });
      expect(existsSync(localPath)).toBe(false);
      expect(await m.s3.readObject(key)).not.toBeNull();
      await waitFor('the object deleted by the upload lane', () => b.media('er-4').key === null, 15_000);
      expect(await m.s3.readObject(key)).toBeNull();
    } finally {
      await b.t.stop();
    }
  });

  it('owes the deletion while no storage is set, and carries it out once one is set again', async () => {
    const b = await booth();
    try {
      await b.capture('er-6', randomBytes(50_000));
      await waitFor('the photo uploaded', () => b.media('er-6')?.status === 'uploaded');
      const { key } = b.media('er-6');
      b.t.agent.store.storage.remove();
      const done = await b.erase({ session: 'er-6' });
      expect(done.storage).toEqual({ deleted: 0, owed: 1, reason: 'no storage is set: the files are deleted once one is set again' });
      expect(await m.s3.readObject(key)).not.toBeNull();
      setStorage(b.t.agent.store, m.storage());
      await waitFor('the object deleted by the upload lane', () => b.media('er-6').key === null, 15_000);
      expect(await m.s3.readObject(key)).toBeNull();
    } finally {
      await b.t.stop();
    }
  });

  it('stops an upload under way, which never completes, and aborts it in the storage', async () => {
    const b = await booth({ upload_max_kbps: 16_000 });
    try {
      const completes = m.s3.count('CompleteMultipartUpload');
      await b.capture('er-5', randomBytes(20 * 1024 * 1024));
      await waitFor('the first part sent', () => b.media('er-5')?.bytes_done > 0, 20_000);
      const { key } = b.media('er-5');
      const done = await b.erase({ session: 'er-5' });
      expect(done.media).toMatchObject([{ status: 'uploading', inStorage: true }]);
      expect(done.storage).toMatchObject({ deleted: 0, owed: 1 });
      await waitFor('the upload stopped and aborted', () => b.media('er-5').key === null, 20_000);
      expect(m.s3.incompleteUploads().filter((u) => u.key === key)).toEqual([]);
      expect(await m.s3.readObject(key)).toBeNull();
      expect(m.s3.count('CompleteMultipartUpload')).toBe(completes);
      expect(b.media('er-5')).toMatchObject({ status: 'failed', upload_id: null });
    } finally {
      await b.t.stop();
    }
  });
});
