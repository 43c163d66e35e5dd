// The guest's page of a real agent against the S3-compatible test service over HTTPS: the page
// and its preview go up beside the photo with their content types, the webhook waits for them
// and carries the links the capture gave, and Chromium opens the page from the service: the
// photo loads, nothing is asked of any other host, no error, the link-card tags are there and
// absolute; the page validates; hostile values stay text in the browser; a template that cannot
// be used is refused when set, and fails the upload in words when it breaks later.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HtmlValidate } from 'html-validate';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../scripts/browser.mjs';
import { retryUploads } from '../../src/operations/uploads.js';
import { mediaBooth, useMediaServices } from '../helpers/media.js';
import { noisyPhoto } from '../helpers/photo.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser.close();
});

const get = (url: string) => m.s3.open(url);

const sessionOf = (body: Buffer) =>
  (JSON.parse(body.toString()) as { session?: { id: string; direct_url: string; site_url: string } }).session;

/** The session's webhook, once it came. */
async function webhookOf(sessionId: string) {
  const delivered = await waitFor(
    'the session webhook',
    () => m.receiver.requests.find((r) => sessionOf(r.body)?.id === sessionId),
    30_000,
  );
  return { at: delivered.at, session: sessionOf(delivered.body)! };
}

/**
 * Opens the page in a fresh Chromium context, gives `check` the page, every request it made and
 * every error it had, then closes the context.
 */
async function inBrowser(
  url: string,
  check: (opened: { page: Page; requested: string[]; errors: string[] }) => Promise<void>,
): Promise<void> {
  // The test service's certificate is its own; the page's and the photo's origin is the service.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 } });
  try {
    const page = await context.newPage();
    const requested: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
    });
    await page.goto(url, { waitUntil: 'load' });
    await check({ page, requested, errors });
  } finally {
    await context.close();
  }
}

/** An <img> as the page's script sees it (the tests run in Node, without the DOM's types). */
interface Picture {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
}

const meta = (page: Page, attribute: 'property' | 'name', value: string) =>
  page.locator(`meta[${attribute}="${value}"]`).getAttribute('content');

describe('the guest’s page', () => {
  it('goes up with its preview after the photo, before the webhook, which carries the links the capture gave', async () => {
    const b = await mediaBooth(m, m.storage(), { event_id: 7, event_name: 'Acme Summer Party' });
    try {
      let pageAtWebhook: Promise<{ status: number }> | null = null;
      m.receiver.handle((received) => {
        const session = sessionOf(received.body);
        if (session?.id === 'pg-1') pageAtWebhook ??= get(session.site_url);
        return { status: 200, body: 'ok' };
      });
      const photo = await noisyPhoto(2400, 1600);
      const answer = await b.capture('pg-1', photo);
      expect(answer.site_url).toBe(m.s3.objectUrl('booths/7/pg-1/index.html'));
      expect(answer.direct_url).toBe(m.s3.objectUrl('booths/7/pg-1/photo.jpg'));
      const webhook = await webhookOf('pg-1');
      expect(webhook.session).toMatchObject({ direct_url: answer.direct_url, site_url: answer.site_url });
      // Asked for the moment the webhook arrived: the page was there already.
      expect(await waitFor('the page asked for', () => pageAtWebhook)).toBeTruthy();
      expect((await pageAtWebhook!).status).toBe(200);

      const puts = (key: string) => m.s3.requests.filter((r) => r.operation === 'PutObject' && r.key === key);
      const [file] = puts('booths/7/pg-1/photo.jpg');
      const [preview] = puts('booths/7/pg-1/photo.preview.jpg');
      const [page] = puts('booths/7/pg-1/index.html');
      expect(file!.headers['content-type']).toBe('image/jpeg');
      expect(preview!.headers['content-type']).toBe('image/jpeg');
      expect(page!.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page!.headers['cache-control']).toBe('public, max-age=300');
      expect(file!.at).toBeLessThanOrEqual(preview!.at);
      expect(preview!.at).toBeLessThanOrEqual(page!.at);
      expect(page!.at).toBeLessThanOrEqual(webhook.at);

      const served = await get(answer.site_url);
      expect(served.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(served.body.length).toBeLessThan(30_000);
      const image = await get(m.s3.objectUrl('booths/7/pg-1/photo.preview.jpg'));
      expect(image.headers['content-type']).toBe('image/jpeg');
      const size = await sharp(image.body).metadata();
      expect({ width: size.width, height: size.height }).toEqual({ width: 1200, height: 800 });
      expect(image.body.length).toBeLessThanOrEqual(300_000);
      expect(b.media('pg-1')).toMatchObject({ status: 'uploaded', file_done_at: expect.any(Number) });
    } finally {
      m.receiver.handle(() => ({ status: 200, body: 'ok' }));
      await b.t.stop();
    }
  }, 60_000);

  it('opens in Chromium from the storage: the photo loads, no other host, no error, link-card tags absolute', async () => {
    const b = await mediaBooth(m, m.storage(), { event_id: 7, event_name: 'Acme Summer Party' });
    try {
      const answer = await b.capture('pg-2', await noisyPhoto(1600, 1200));
      await webhookOf('pg-2');
      await inBrowser(answer.site_url, async (opened) => {
        const { page } = opened;
        expect(await page.title()).toBe('Acme Summer Party');
        expect(await page.locator('h1').textContent()).toBe('Acme Summer Party');
        const img = page.locator('main img');
        await waitFor('the photo to load', () =>
          img.evaluate((el) => (el as unknown as Picture).complete && (el as unknown as Picture).naturalWidth > 0),
        );
        expect(await img.evaluate((el) => [(el as unknown as Picture).naturalWidth, (el as unknown as Picture).naturalHeight])).toEqual([
          1600, 1200,
        ]);
        expect(await img.getAttribute('src')).toBe(answer.direct_url);
        const download = page.locator('a', { hasText: 'Download' });
        expect(await download.getAttribute('href')).toBe(answer.direct_url);
        expect(await download.getAttribute('download')).toBe('photo.jpg');
        // Fits a phone's width without scrolling sideways.
        expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

        const preview = m.s3.objectUrl('booths/7/pg-2/photo.preview.jpg');
        expect(await meta(page, 'property', 'og:image')).toBe(preview);
        expect(await meta(page, 'property', 'og:url')).toBe(answer.site_url);
        expect(await meta(page, 'property', 'og:title')).toBe('Acme Summer Party');
        expect(await meta(page, 'property', 'og:image:width')).toBe('1200');
        expect(await meta(page, 'property', 'og:image:height')).toBe('900');
        expect(await meta(page, 'name', 'twitter:card')).toBe('summary_large_image');
        expect(await meta(page, 'name', 'twitter:image')).toBe(preview);
        expect(await meta(page, 'name', 'robots')).toBe('noindex');
        for (const value of [preview, answer.site_url]) expect(new URL(value).protocol).toBe('https:');

        const storageOrigin = new URL(m.s3.objectUrl('')).origin;
        expect(opened.requested.length).toBeGreaterThanOrEqual(2);
        expect(opened.requested.filter((url) => new URL(url).origin !== storageOrigin)).toEqual([]);
        expect(opened.errors).toEqual([]);
      });
    } finally {
      await b.t.stop();
    }
  }, 60_000);

  it('works from a private bucket: the page, its photo and its preview by presigned links', async () => {
    const b = await mediaBooth(m, m.storage({ publicUrl: null }), { event_id: 12 });
    try {
      const answer = await b.capture('private-1', await noisyPhoto(800, 600));
      const page = new URL(answer.site_url);
      expect(`${page.origin}${page.pathname}`).toBe(m.s3.objectUrl('booths/12/private-1/index.html'));
      expect(page.searchParams.get('X-Amz-Expires')).toBe('604800');
      const webhook = await webhookOf('private-1');
      expect(webhook.session.site_url).toBe(answer.site_url);
      await inBrowser(answer.site_url, async ({ page: opened, errors }) => {
        const img = opened.locator('main img');
        expect(await img.getAttribute('src')).toBe(answer.direct_url);
        await waitFor('the photo to load', () => img.evaluate((el) => (el as unknown as Picture).naturalWidth > 0));
        const preview = new URL((await meta(opened, 'property', 'og:image'))!);
        expect(`${preview.origin}${preview.pathname}`).toBe(m.s3.objectUrl('booths/12/private-1/photo.preview.jpg'));
        expect((await get(preview.href)).status).toBe(200);
        expect(errors).toEqual([]);
      });
    } finally {
      await b.t.stop();
    }
  }, 60_000);

  it('validates with html-validate, for a photo, a GIF, and a video with and without poster', async () => {
    const output = tempDir('output-');
    const b = await mediaBooth(m, m.storage(), { event_id: 8, media_roots: [output] });
    try {
      const files: Record<string, Buffer> = {
        'still.jpg': await noisyPhoto(300, 200),
        'loop.gif': await sharp({ create: { width: 80, height: 60, channels: 3, background: '#cc3366' } })
          .gif()
          .toBuffer(),
        'clip.mp4': Buffer.from('not played in this test'),
        'cover.jpg': await noisyPhoto(320, 180),
      };
      for (const [name, bytes] of Object.entries(files)) writeFileSync(join(output, name), bytes);
      const capture = async (id: string, type: string, file: string, poster?: string) => {
        const session = { id, type, file: join(output, file), ...(poster ? { poster: join(output, poster) } : {}) };
        const answer = await b.t.post(JSON.stringify({ type: 'session', session }));
        expect(answer.status).toBe(202);
        await webhookOf(id);
        return (await get(answer.json.site_url)).body.toString('utf8');
      };
      const pages = {
        still: await capture('val-1', 'still', 'still.jpg'),
        gif: await capture('val-2', 'gif', 'loop.gif'),
        video: await capture('val-3', 'video', 'clip.mp4', 'cover.jpg'),
        bare: await capture('val-4', 'video', 'clip.mp4'),
      };
      const validator = new HtmlValidate({ extends: ['html-validate:recommended'] });
      for (const html of Object.values(pages)) {
        const report = await validator.validateString(html);
        expect(report.results.flatMap((r) => r.messages.map((message) => `${message.ruleId}: ${message.message}`))).toEqual([]);
      }
      expect(pages.gif).toContain('<title>Your GIF</title>');
      expect(pages.gif).toContain('download="gif.gif"');
      const poster = m.s3.objectUrl('booths/8/val-3/clip.preview.jpg');
      expect(pages.video).toContain(`poster="${poster}"`);
      expect(pages.video).toContain(`<meta property="og:image" content="${poster}">`);
      expect(pages.video).toContain(`<meta property="og:video" content="${m.s3.objectUrl('booths/8/val-3/clip.mp4')}">`);
      expect(pages.bare).not.toContain('og:image');
      expect(pages.bare).toContain('<meta name="twitter:card" content="summary">');
      const bare = m.s3.requests.filter((r) => r.operation === 'PutObject' && r.key?.startsWith('booths/8/val-4/'));
      expect(bare.map((r) => r.key)).toEqual(['booths/8/val-4/clip.mp4', 'booths/8/val-4/index.html']);
    } finally {
      await b.t.stop();
    }
  }, 60_000);

  it('goes without preview when the photo cannot be read as an image, holding no webhook', async () => {
    const b = await mediaBooth(m, m.storage(), { event_id: 9 });
    try {
      const answer = await b.capture('broken-1', Buffer.from('these bytes are no JPEG'));
      await webhookOf('broken-1');
      const html = (await get(answer.site_url)).body.toString('utf8');
      expect(html).not.toContain('og:image');
      expect(m.s3.requests.filter((r) => r.key === 'booths/9/broken-1/photo.preview.jpg')).toEqual([]);

      // sharp names the file it cannot read; the log never does, as a name may be a guest's.
      // The first try is refused by the storage; the copy is gone by the retry.
      m.s3.deny('PutObject');
      try {
        await b.capture('broken-2', Buffer.from('gone before its upload'), 'Jane Doe +44 7700 900123.jpg');
        await waitFor('the refused upload', () => b.media('broken-2').status === 'failed', 15_000);
      } finally {
        m.s3.deny();
      }
      rmSync(b.media('broken-2').local_path);
      expect(retryUploads(b.t.agent.operations, { all: true })).toEqual({ retried: 1 });
      await waitFor('the upload failed for its copy', () => /local copy/.test(b.media('broken-2').last_error ?? ''), 15_000);
      await b.t.stop();
      const log = readFileSync(join(b.t.dataDir, 'logs', 'agent.log'), 'utf8');
      const withoutPreview = log.split('\n').filter((line) => line.includes('"msg":"page without preview"'));
      expect(withoutPreview.some((line) => line.includes('"reason":"Input file is missing: the file"'))).toBe(true);
      expect(withoutPreview.filter((line) => line.includes('Jane Doe'))).toEqual([]);
    } finally {
      await b.t.stop();
    }
  });

  it('keeps a hostile session id, event name and template value as text, in the browser', async () => {
    const hostile = (n: number) => `x"><img src=x onerror="window.__owned=${n}"><script>window.__owned=${n}</script>`;
    const template = join(tempDir('template-'), 'page.hbs');
    writeFileSync(
      template,
      '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{{title}}</title><link rel="icon" href="data:,"></head>\n' +
        '<body><p id="event" data-name="{{eventName}}">{{eventName}}</p><p id="session" title="{{sessionId}}">{{sessionId}}</p>' +
        '<img src="{{mediaUrl}}" alt="{{title}}"></body></html>\n',
    );
    for (const guestPageTemplate of [null, template]) {
      const b = await mediaBooth(m, m.storage(), { event_id: 10, event_name: hostile(1), guest_page_template: guestPageTemplate });
      try {
        const sessionId = `${hostile(2)}-${guestPageTemplate === null ? 'own' : 'operator'}`;
        const answer = await b.capture(sessionId, await noisyPhoto(200, 150));
        await webhookOf(sessionId);
        await inBrowser(answer.site_url, async (opened) => {
          const { page } = opened;
          await page.waitForLoadState('load');
          expect(await page.evaluate('window.__owned')).toBeUndefined();
          expect(await page.locator('script').count()).toBe(0);
          expect(await page.locator('img').count()).toBe(1);
          expect(await page.title()).toBe(hostile(1));
          if (guestPageTemplate === null) {
            expect(await page.locator('h1').textContent()).toBe(hostile(1));
          } else {
            expect(await page.locator('#event').textContent()).toBe(hostile(1));
            expect(await page.locator('#event').getAttribute('data-name')).toBe(hostile(1));
            expect(await page.locator('#session').textContent()).toBe(sessionId);
            expect(await page.locator('#session').getAttribute('title')).toBe(sessionId);
          }
          expect(await page.locator('img').evaluate((el) => (el as unknown as Picture).naturalWidth)).toBe(200);
          expect(opened.errors).toEqual([]);
        });
      } finally {
        await b.t.stop();
      }
    }
  }, 60_000);
});
