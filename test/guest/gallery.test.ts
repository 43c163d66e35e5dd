// The event gallery of a real agent against the S3-compatible test service: with event_gallery
// on, the event's index.html lists each uploaded session newest first, linking its page, with
// every value escaped; an erase takes the session's objects out of the bucket and the gallery
// is built again at once without it.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eraseGuest } from '../../src/operations/erase.js';
import { mediaBooth, useMediaServices } from '../helpers/media.js';
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
        answers.push(await capture(id, randomBytes(2_000)));
        await waitFor(`${id} uploaded`, () => media(id).status === 'uploaded');
      }
      const listed = async () => (await m.s3.readObject(GALLERY))?.toString('utf8') ?? '';
      await waitFor('the gallery lists a session', async () => (await listed()).includes('gal-'));
      const gallery = m.s3.requests.filter((r) => r.operation === 'PutObject' && r.key === GALLERY);
      // Three uploads within the minute: built once, at the first.
      expect(gallery.length).toBe(1);
      const html = await listed();
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
      expect(html).not.toContain('<script>');
      expect(html).toContain('<meta name="robots" content="noindex">');

      await eraseGuest(t.agent.operations, { session: 'gal-2' });
      for (const key of ['booths/21/gal-2/photo.jpg', 'booths/21/gal-2/index.html']) expect(await m.s3.readObject(key)).toBeNull();
      await waitFor('the gallery without the erased session', async () => !(await listed()).includes('gal-2'), 10_000);
      const after = await listed();
      const links = [...after.matchAll(/<a href="([^"]+)"/g)].map((match) => match[1]!.replaceAll('&#x3D;', '='));
      expect(links).toEqual([answers[2]!.site_url, answers[0]!.site_url]);
    } finally {
      await t.stop();
    }
  });
});
