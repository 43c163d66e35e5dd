// "Safe to pack up?" counts the sessions' photos only the booth holds: with the storage
// unreachable the verdict names them, once uploaded (and delivered) it is safe again.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { closeout } from '../../src/operations/closeout.js';
import { mediaBooth, useMediaServices } from '../helpers/media.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();

describe('closeout with media', () => {
  it('is not safe while photos are only on this booth', async () => {
    const { t, capture } = await mediaBooth(m);
    try {
      await m.s3.down('refuse');
      for (const id of ['cm-1', 'cm-2', 'cm-3']) await capture(id, randomBytes(1024 * 1024));
      const report = closeout(t.agent.operations, {});
      expect(report).toMatchObject({ safe: false, media: { files: 3, bytes: 3 * 1024 * 1024 } });
      expect(report.verdict).toBe('not safe to pack up: 3 not delivered, 3 photos (3.1 MB) are only on this booth');
      expect(closeout(t.agent.operations, { event: 1 }).media).toEqual({ files: 3, bytes: 3 * 1024 * 1024, pages: 0, galleries: 0 });
      expect(closeout(t.agent.operations, { event: 2 }).media).toEqual({ files: 0, bytes: 0, pages: 0, galleries: 0 });
      expect(t.agent.store.views.closeoutFigures().media.files).toBe(3);

      await m.s3.up();
      await waitFor('the photos uploaded and delivered', () => closeout(t.agent.operations, {}).safe, 20_000);
      expect(closeout(t.agent.operations, {})).toMatchObject({
        media: { files: 0, bytes: 0, pages: 0, galleries: 0 },
        verdict: 'safe to pack up: all 3 delivered',
      });
    } finally {
      await m.s3.up();
      await t.stop();
    }
  });
  it("names a guest's page not up yet, though its photo is, and the event gallery behind", async () => {
    const { t, capture, media } = await mediaBooth(m, m.storage(), { event_gallery: true });
    try {
      m.s3.stall(/\/index\.html$/);
      await capture('cm-page', randomBytes(1000));
      await waitFor('the photo in, its page not', () => media('cm-page').file_done_at !== null);
      expect(closeout(t.agent.operations, {})).toMatchObject({
        media: { files: 0, bytes: 0, pages: 1, galleries: 0 },
        verdict: "not safe to pack up: 1 not delivered, 1 guest's page is not uploaded yet",
      });
      m.s3.stall(/\/1\/index\.html$/);
      await waitFor('the page up', () => media('cm-page').status === 'uploaded', 20_000);
      expect(closeout(t.agent.operations, {}).verdict).toContain('the event gallery is not up to date');
      m.s3.stall(null);
      await waitFor('the gallery built', () => closeout(t.agent.operations, {}).safe, 20_000);
    } finally {
      m.s3.stall(null);
      await t.stop();
    }
  });
});
