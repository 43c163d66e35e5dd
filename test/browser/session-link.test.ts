// A delivery's detail in a real browser shows its session's link, which opens in a new tab
// with no way back to the panel, and the link's QR code, which loads and reads back to it.
import { describe, expect, it } from 'vitest';
import { panelSuite, screenshot } from '../helpers/browser.js';
import { readQrCode } from '../helpers/qr-code.js';

const suite = panelSuite();

describe("the guest's link in a delivery's detail", () => {
  it('shows the link and its QR code for an event with a session, and nothing for one whose session is unknown', async () => {
    const { t, page } = await suite.panel();
    // A link on this machine, so that the new tab really opens it.
    const siteUrl = `${t.base}/healthz?session=link-0042`;
    const session = { id: 'link-0042', type: 'still', direct_url: `${t.base}/healthz`, site_url: siteUrl };
    expect((await t.post(JSON.stringify({ type: 'session', session }))).status).toBe(202);
    const orphan = { ...session, id: 'no-session-event', site_url: `${t.base}/healthz?session=orphan` };
    const share = {
      type: 'share',
      session: orphan,
      share: { id: 'share-1', type: 'email', value: 'a@example.com' },
      data_capture: { sections: [] },
    };
    expect((await t.post(JSON.stringify(share))).status).toBe(202);

    const codes: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/qr.')) codes.push(request.url());
    });
    const row = page.locator('#deliveries tr', { hasText: 'link-0042' });
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 8000 }).toBe('delivered');
    await row.click();
    const section = page.locator('#detail-link');
    await expect.poll(() => section.isVisible()).toBe(true);
    const link = section.getByRole('link');
    expect(await link.textContent()).toBe(siteUrl);
    expect(await link.getAttribute('href')).toBe(siteUrl);
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await link.getAttribute('rel')).toBe('noopener');

    const qr = section.getByRole('img', { name: `QR code of ${siteUrl}` });
    const loaded = `(() => { const img = document.querySelector('#detail-qr img'); return img && img.complete ? img.naturalWidth : 0; })()`;
    await expect.poll(() => page.evaluate(loaded)).toBeGreaterThan(0);
    const src = (await qr.getAttribute('src'))!;
    expect(src).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(await readQrCode(Buffer.from(src.slice(src.indexOf(',') + 1), 'base64'))).toBe(siteUrl);
    await screenshot(page, 'detail-link');

    // The open dialog follows the agent, and keeps the code it fetched once.
    await t.post(JSON.stringify({ type: 'session', session: { ...session, id: 'another' } }));
    await expect.poll(() => page.locator('#deliveries tr', { hasText: 'another' }).locator('.badge').textContent()).toBe('delivered');
    expect(await qr.getAttribute('src')).toBe(src);
    expect(codes).toEqual([`${t.base}/api/sessions/link-0042/qr.svg`]);

    const [tab] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await tab.waitForLoadState();
    expect(tab.url()).toBe(siteUrl);
    expect(await tab.evaluate('window.opener')).toBeNull();
    await tab.close();

    await page.locator('#detail-close').click();
    await page.locator('#deliveries tr', { hasText: 'no-session-event' }).click();
    await expect.poll(() => page.locator('#detail-title').textContent()).toMatch(/^share to /);
    expect(await section.isVisible()).toBe(false);
    expect(await section.getByRole('img').count()).toBe(0);
  });
});
