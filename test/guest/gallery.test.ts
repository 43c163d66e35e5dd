// The event gallery of a real agent against the S3-compatible test service: with event_gallery
// on, the event's index.html lists each uploaded session newest first, by its preview, linking
// its page, with every value escaped; an erase takes the session's file, page and preview out of
// the bucket, and the gallery is built again at once without it.
import { describe, expect, it } from 'vitest';
import { eraseGuest } from '../../src/operations/erase.js';
import { mediaBooth, useMediaServices } from '../helpers/media.js';
import { noisyPhoto } from '../helpers/photo.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();
const GALLERY = 'booths/21/index.html';

describe('the event gallery', () => {
  it('lists the uploaded sessions newest first, and drops an erased one at once', async () => {
    const { t, capture, media } = await mediaBooth(m, m.storage(), {
      event_gallery: true,
      event_id: 21,
      event_name: '<script>alert(1)</script> & Co',
    });
    try {
      const answers = [];
      for (const id of ['gal-1', 'gal-2', 'gal-3']) {
        answers.push(await capture(id, await noisyPhoto(320, 240)));
        await waitFor(`${id} uploaded`, () => media(id).status === 'uploaded');
      }
      const gallery = () => m.s3.open(m.s3.objectUrl(GALLERY));
      await waitFor('the gallery', async () => (await gallery()).status === 200);
      const first = await gallery();
      expect(first.headers['content-type']).toBe('text/html; charset=utf-8');
      const html = first.body.toString('utf8');
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
      expect(html).not.toContain('<script>');
      expect(html).toContain('<meta name="robots" content="noindex">');
      expect(html).toContain(m.s3.objectUrl('booths/21/gal-1/photo.preview.jpg'));
      // Three uploads within the minute: built once, at the first.
      expect(m.s3.requests.filter((r) => r.operation === 'PutObject' && r.key === GALLERY)).toHaveLength(1);

      const erased = ['booths/21/gal-2/photo.jpg', 'booths/21/gal-2/index.html', 'booths/21/gal-2/photo.preview.jpg'];
      for (const key of erased) expect(await m.s3.readObject(key), key).not.toBeNull();
      await eraseGuest(t.agent.operations, { session: 'gal-2' });
      for (const key of erased) expect(await m.s3.readObject(key), key).toBeNull();
      await waitFor('the gallery without the erased session', async () => !(await gallery()).body.toString().includes('gal-2'), 10_000);
      const after = (await gallery()).body.toString('utf8');
      const links = [...after.matchAll(/<a href="([^"]+)"/g)].map((match) => match[1]!.replaceAll('&#x3D;', '='));
      expect(links).toEqual([answers[2]!.site_url, answers[0]!.site_url]);
      for (const id of ['gal-1', 'gal-3']) expect(after).toContain(m.s3.objectUrl(`booths/21/${id}/photo.preview.jpg`));
    } finally {
      await t.stop();
    }
  });
});
