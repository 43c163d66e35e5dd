// The operator's panel in a real browser, against a real agent and a real HTTPS receiver.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { panelSuite, screenshot } from '../helpers/browser.js';
import { contractExamples } from '../helpers/contract.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait.js';

const suite = panelSuite();
const { panel } = suite;
let receiver: Receiver;
beforeAll(() => {
  receiver = suite.receiver();
});

const heading = (page: Page) => page.getByRole('heading', { level: 1 });

const session = (id: string) =>
  JSON.stringify({
    type: 'session',
    session: { id, direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://photos.example.com/a', type: 'still' },
  });

describe('the panel', () => {
  it('refuses an http:// endpoint in words, then adds an https:// one and shows its secret', async () => {
    const { t, page } = await panel();
    expect(page.url()).not.toContain('token=');
    const url = page.getByLabel('Endpoint URL');
    await url.fill('http://hooks.example.com/booth');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await expect.poll(() => page.locator('#new-url-error').textContent()).toContain('HTTPS is required');
    expect(await url.getAttribute('aria-invalid')).toBe('true');
    expect(t.agent.store.endpoints.list()).toHaveLength(1);
    await screenshot(page, 'add-endpoint-refused');

    await url.fill('https://hooks.example.com/crm');
    await page.getByLabel('Surveys').uncheck();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const card = page.locator('.endpoint', { hasText: 'https://hooks.example.com/crm' });
    await card.waitFor();
    const added = t.agent.store.endpoints.list().find((e) => e.url === 'https://hooks.example.com/crm');
    expect(added).toMatchObject({ types: ['session', 'share', 'competition_win'] });
    await expect.poll(() => card.locator('code').textContent()).toBe(added!.secret);
    expect(await card.textContent()).toContain('Photo sessions, Shares, Prize wins');
    await screenshot(page, 'add-endpoint-added');
  });

  it('verifies an endpoint and sends a test event, and shows both results in words', async () => {
    const { page } = await panel();
    const card = page.locator('.endpoint', { hasText: receiver.url });
    await card.getByRole('button', { name: 'Verify' }).click();
    const result = card.locator('.result');
    await expect.poll(() => result.textContent(), { timeout: 10_000 }).toContain('Verified');
    expect(await result.textContent()).toMatch(/HTTP 200 in \d+ ms/);
    expect(await result.textContent()).toContain('TLS: TLSv1.3, certificate trusted.');
    // How many deliveries the agent lets into flight at once, as the delivery loop found it.
    await expect.poll(() => card.locator('.meta').textContent()).toMatch(/ · up to \d+ at once · /);

    await card.getByLabel(/Test event type/).selectOption('survey');
    await card.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => result.textContent(), { timeout: 10_000 }).toContain('Test survey: delivered: HTTP 200');
    expect(receiver.requests[receiver.requests.length - 1]!.headers['x-booth-agent-test']).toBe('true');
    const row = page.locator('#deliveries tr', { hasText: 'survey (test)' });
    await expect.poll(() => row.locator('.badge').textContent()).toBe('delivered');
    await screenshot(page, 'verify-and-test');
  });

  it('shows a failure, and a retry from the panel turns it delivered without a reload', async () => {
    const { t, page } = await panel({ max_retries: 0 });
    // A failure the agent would retry by itself does not call for the operator: this endpoint leaves it to them.
    t.agent.store.endpoints.update(t.agent.store.endpoints.list()[0]!.id, { autoRecover: 'off' });
    receiver.handle(() => ({ status: 500, body: '{"error":"CRM is down"}' }));
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));

    expect((await t.post(session('retry-me'))).status).toBe(202);
    await expect.poll(() => heading(page).textContent(), { timeout: 5000 }).toBe('1 failed: needs you');
    const row = page.locator('#deliveries tr', { hasText: 'retry-me' });
    await expect.poll(() => row.locator('.badge').textContent()).toBe('failed');
    await screenshot(page, 'failed');

    await row.click();
    const detail = page.locator('#detail');
    await expect.poll(() => detail.textContent()).toContain('HTTP 500 from the endpoint');
    expect(await detail.textContent()).toContain('{"error":"CRM is down"}');
    receiver.handle(() => ({ status: 200, body: 'thanks' }));
    await detail.getByRole('button', { name: 'Retry this delivery' }).click();
    await expect.poll(() => detail.locator('dd').first().textContent(), { timeout: 5000 }).toBe('delivered');
    await screenshot(page, 'retried-detail');
    await page.locator('#detail-close').click();
    await expect.poll(() => row.locator('.badge').textContent()).toBe('delivered');
    await expect.poll(() => heading(page).textContent()).toBe('All delivered');
    expect(navigations).toEqual([]);
    const attempts = t.agent.store.views.attempts(t.agent.store.views.list({ limit: 1 })[0]!.id);
    expect(attempts.map((a) => a.statusCode)).toEqual([500, 200]);
    await screenshot(page, 'retried');
  });

  it('pauses and resumes delivery', async () => {
    const { t, page } = await panel();
    await page.getByRole('button', { name: 'Pause delivery' }).click();
    await expect.poll(() => heading(page).textContent()).toBe('Delivery paused');
    const before = receiver.requests.length;
    await t.post(session('held-back'));
    await expect.poll(() => heading(page).textContent()).toBe('Delivery paused: 1 held back');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(receiver.requests.length).toBe(before);
    await screenshot(page, 'paused');
    await page.getByRole('button', { name: 'Resume delivery' }).click();
    await expect.poll(() => heading(page).textContent(), { timeout: 5000 }).toBe('All delivered');
    expect(receiver.requests.some((r) => r.body.includes('held-back'))).toBe(true);
  });

  it('says on the card why a secret could not be shown, as for an endpoint removed a moment ago', async () => {
    const { page } = await panel();
    const card = page.locator('.endpoint', { hasText: receiver.url });
    // The agent's own answer for an endpoint that is no longer there.
    await page.route('**/api/endpoints/*/secret', (route) =>
      route.continue({
        url: route
          .request()
          .url()
          .replace(/ep_[^/]+/, 'ep_gone'),
      }),
    );
    await card.getByRole('button', { name: 'Reveal' }).click();
    await expect.poll(() => card.locator('.result').textContent()).toMatch(/ep_gone/);
    expect(await card.locator('code').count()).toBe(0);
  });

  it('rotates a secret: both sign for a day, X-Signature switches when confirmed', async () => {
    const { t, page } = await panel();
    const [endpoint] = t.agent.store.endpoints.list();
    const card = page.locator('.endpoint', { hasText: receiver.url });
    await card.getByRole('button', { name: 'Rotate' }).click();
    await expect.poll(() => card.textContent()).toContain('Receivers updated: confirm');
    const rotated = t.agent.store.endpoints.get(endpoint!.id)!;
    expect(rotated.secret).not.toBe(endpoint!.secret);
    expect(await card.locator('code').textContent()).toBe(rotated.secret);
    await screenshot(page, 'rotation');

    await t.post(session('during-rotation'));
    const during = await waitFor('the delivery', () => receiver.requests.find((r) => r.body.includes('during-rotation')));
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(during.headers['x-signature']).toBe(createHmac('sha256', endpoint!.secret).update(during.body).digest('hex'));

    await card.getByRole('button', { name: 'Receivers updated: confirm' }).click();
    await expect.poll(() => card.textContent()).toContain('Rotation confirmed');
    await t.post(session('after-confirm'));
    const after = await waitFor('the delivery', () => receiver.requests.find((r) => r.body.includes('after-confirm')));
    expect(after.headers['x-signature']).toBe(createHmac('sha256', rotated.secret).update(after.body).digest('hex'));
  });

  it('opens the detail of an attempt from the keyboard: payload, request headers, every attempt with its reason', async () => {
    const { t, page } = await panel();
    let answered = 0;
    receiver.handle(() =>
      answered++ === 0 ? { status: 503, headers: { 'retry-after': '1' }, body: 'busy, come back' } : { status: 200, body: 'stored' },
    );
    await t.post(contractExamples.share!.replace('"share789"', '"detail-share"'));
    const row = page.locator('#deliveries tr', { hasText: 'share' });
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 8000 }).toBe('delivered');
    await row.focus();
    await page.keyboard.press('Enter');
    const detail = page.locator('#detail');
    await expect.poll(() => detail.locator('.attempt').count()).toBe(2);
    const text = (await detail.textContent())!;
    expect(text).toContain('"detail-share"');
    expect(text).toContain('webhook-signature');
    expect(text).toContain('x-signature');
    expect(text).toContain('HTTP 503: the endpoint asked to wait 1 s (Retry-After); no retry used');
    expect(text).toContain('busy, come back');
    expect(text).toContain('delivered: HTTP 200');
    await screenshot(page, 'detail');
  });

  it('fits a 1024-wide laptop, searches by session id and pages through the list', async () => {
    const { t, page } = await panel({}, 1024, 768);
    for (let n = 0; n < 60; n++) await t.post(session(`page-${n}`));
    await waitFor('all delivered', () => t.agent.store.views.counts().delivered === 60);
    await expect.poll(() => page.locator('#deliveries tr').count()).toBe(50);
    // The live list catches up with the last capture before we page from it.
    await expect.poll(() => page.locator('#deliveries tr').first().textContent()).toContain('page-59');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1024);
    await page.getByRole('button', { name: 'Older' }).click();
    await expect.poll(() => page.locator('#deliveries tr').count()).toBe(10);
    expect(await page.locator('#deliveries tr').last().textContent()).toContain('page-0');
    await page.getByRole('button', { name: 'Newest' }).click();
    await page.getByLabel('Session id').fill('page-42');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#deliveries tr').count()).toBe(1);
    expect(await page.locator('#deliveries tr').textContent()).toContain('page-42');
    await screenshot(page, 'laptop-1024');
  });
});

describe('the booth settings', () => {
  it('saves the event id, media URL template, hot folder and booth name, and puts a refusal next to its field', async () => {
    const { t, page } = await panel();
    await page.getByLabel('Media URL template').fill('https://cdn.example.com/{event_id}/photo.jpg');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#media-url-template-error').textContent()).toContain('Must contain {file}');
    expect(await page.getByLabel('Media URL template').getAttribute('aria-invalid')).toBe('true');

    await page.getByLabel('Event id the booth is running').fill('2024');
    await page.getByLabel('Media URL template').fill('https://cdn.example.com/{event_id}/{file}');
    await page.getByLabel(/Hot folder/).fill('/srv/booth/output');
    await page.getByLabel('Booth name').fill('Ballroom booth');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#booth-saved').textContent()).toBe('Saved.');
    expect(t.agent.store.settings.read()).toMatchObject({
      event_id: 2024,
      media_url_template: 'https://cdn.example.com/{event_id}/{file}',
      hot_folder: '/srv/booth/output',
      device_name: 'Ballroom booth',
    });
    expect(await page.locator('#dslrbooth-url').textContent()).toBe(`${t.base}/t/${t.token}/dslrbooth`);
    await screenshot(page, 'booth-settings');
  });
});

describe('the panel after an outage', () => {
  it('shows the backlog draining with a progress bar, the day chart, and a clock-skew warning', async () => {
    const { t, page } = await panel({ offline_check_max_ms: 100 });
    const [endpoint] = t.agent.store.endpoints.list();
    t.agent.store.endpoints.remove(endpoint!.id);
    const offline = await startReceiver();
    const port = offline.port;
    await offline.close();
    t.addEndpoint(`https://127.0.0.1:${port}/hook`, { ca: receiver.certificate.cert, strictOrder: true });
    for (let n = 0; n < 30; n++) await t.post(session(`outage-${n}`));
    await expect.poll(() => heading(page).textContent(), { timeout: 5000 }).toMatch(/^30 waiting for the network since \d\d:\d\d$/);
    await screenshot(page, 'outage');

    // Back, but slow, and with its clock ten minutes ahead of the booth's.
    const back = await startReceiver({
      port,
      handler: () => ({ status: 200, delayMs: 120, headers: { date: new Date(Date.now() + 10 * 60_000).toUTCString() } }),
    });
    try {
      await expect.poll(() => page.locator('#progress-text').textContent(), { timeout: 5000 }).toMatch(/^Catching up: \d+ of 30 sent/);
      expect(await page.locator('#progress').isVisible()).toBe(true);
      await screenshot(page, 'draining');
      await expect.poll(() => heading(page).textContent(), { timeout: 15_000 }).toBe('All delivered');
      expect(await page.locator('#progress').isVisible()).toBe(false);
      expect(await page.locator('#warnings').textContent()).toMatch(/The booth's clock is 10 min behind https:\/\/127\.0\.0\.1:\d+\/hook/);
      await page.reload();
      // Every event of the outage waited for the network: the chart's last hour says so.
      await expect.poll(() => page.locator('#chart rect.waiting').count()).toBeGreaterThan(0);
      expect(await page.locator('#chart title').last().textContent()).toMatch(/0 delivered, 0 retried, 0 failed, 30 waiting$/);
      await screenshot(page, 'after-outage');
    } finally {
      await back.close();
    }
  });

  it('exports every captured event as a CSV that Excel opens safely, and says it is safe to pack up', async () => {
    const { t, page } = await panel();
    const share = JSON.parse(contractExamples.share!);
    share.share.id = 'export-share';
    share.data_capture.sections[0].fields[0].value = '=HYPERLINK("http://evil.example","click me")';
    expect((await t.post(JSON.stringify(share))).status).toBe(202);
    expect((await t.post(session('export-session'))).status).toBe(202);
    await expect.poll(() => page.locator('#pack-up').textContent(), { timeout: 5000 }).toBe('Safe to pack up: all 2 delivered');

    const downloaded = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export' }).click();
    const file = await (await downloaded).path();
    const bytes = readFileSync(file!);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse(bytes.subarray(3), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.type)).toEqual(['share', 'session']);
    expect(rows[0]!['Email Address']).toBe(`'=HYPERLINK("http://evil.example","click me")`);
    await expect.poll(() => page.locator('#export-result').textContent()).toMatch(/^Saved booth-agent-export-.+\.csv\.$/);
    await screenshot(page, 'export');

    // The list may be showing alerts; the export still holds the booth's events.
    await page.locator('#filter-type').selectOption('agent.heartbeat');
    const again = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export' }).click();
    const second = parse(readFileSync((await (await again).path())!).subarray(3), { columns: true }) as Record<string, string>[];
    expect(second.map((r) => r.type)).toEqual(['share', 'session']);
    await expect
      .poll(() => page.locator('#export-result').textContent())
      .toMatch(/^Saved booth-agent-export-.+\.csv \(every event: alerts are not exported\)\.$/);
  });

  it('sends a newly added endpoint the events captured before it, from its card', async () => {
    const { t, page } = await panel();
    for (const id of ['early-1', 'early-2']) expect((await t.post(session(id))).status).toBe(202);
    await expect.poll(() => page.locator('#pack-up').textContent(), { timeout: 5000 }).toBe('Safe to pack up: all 2 delivered');
    const crm = await startReceiver();
    try {
      t.addEndpoint(crm.url, { ca: crm.certificate.cert });
      const card = page.locator('.endpoint', { hasText: crm.url });
      await card.getByRole('button', { name: 'Send earlier events' }).click();
      await expect.poll(() => card.locator('.result').textContent(), { timeout: 5000 }).toBe('2 earlier events queued.');
      await waitFor('both earlier events at the new endpoint', () => crm.requests.length === 2, 10_000);
      expect(crm.requests.map((r) => JSON.parse(r.body.toString()).session.id).sort()).toEqual(['early-1', 'early-2']);
      await screenshot(page, 'send-earlier-events');
      await card.getByRole('button', { name: 'Send earlier events' }).click();
      await expect
        .poll(() => card.locator('.result').textContent(), { timeout: 5000 })
        .toBe('No earlier event to send. Left out: 2 it already has.');
    } finally {
      await crm.close();
    }
  });

  it("finds a guest's data, erases it after asking, and names the receivers that already have it", async () => {
    const { t, page } = await panel();
    const share = contractExamples.share!.replace('"share789"', '"erase-share"');
    expect((await t.post(share)).status).toBe(202);
    await expect.poll(() => page.locator('#pack-up').textContent(), { timeout: 5000 }).toBe('Safe to pack up: all 1 delivered');

    await page.getByLabel('Find the guest by').selectOption('email');
    await page.getByLabel('What to look for').fill('nobody');
    await page.getByRole('button', { name: 'Find' }).click();
    await expect.poll(() => page.locator('#erase-error').textContent()).not.toBe('');
    expect(await page.locator('#erase-value').getAttribute('aria-invalid')).toBe('true');

    await page.getByLabel('What to look for').fill('GUEST@example.com');
    await page.getByRole('button', { name: 'Find' }).click();
    const result = page.locator('#erase-result');
    await expect.poll(() => result.textContent()).toContain('Found: 1 event (Shares: 1).');
    expect(await result.textContent()).toContain(`${receiver.url}: 1 delivered`);
    expect(t.agent.store.db.prepare(`SELECT CAST(body AS TEXT) FROM events`).pluck().get()).toContain('guest@example.com');
    await screenshot(page, 'erase-found');

    await page.getByRole('button', { name: 'Erase' }).click();
    await page.locator('#confirm-yes').click();
    await expect.poll(() => result.textContent()).toContain('Erased: 1 event (Shares: 1).');
    expect(await page.getByRole('button', { name: 'Erase' }).isDisabled()).toBe(true);
    expect(t.agent.store.db.prepare(`SELECT CAST(body AS TEXT) FROM events`).pluck().get()).not.toContain('guest@example.com');
    await screenshot(page, 'erase-done');
  });
});
