// The panel's endpoint options (format, automatic retries, rate, alerts, extra headers) and
// the settings of automatic retries and alerts, in a real browser against a real agent.
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestAgent } from '../helpers/agent.js';
import { panelSuite, screenshot } from '../helpers/browser.js';
import type { Receiver } from '../helpers/receiver.js';

const suite = panelSuite();
const { panel } = suite;
let receiver: Receiver;
beforeAll(() => {
  receiver = suite.receiver();
});

const SECRET_VALUE = 'secret-value-123';
const OTHER_VALUE = 'other-value-456';

/** Everything the page holds and everything the admin API tells it: no header value may be in either. */
async function seenByThePanel(t: TestAgent, page: Page, adminToken: string): Promise<string> {
  const state = await fetch(`${t.base}/api/state`, { headers: { authorization: `Bearer ${adminToken}` } });
  expect(state.status).toBe(200);
  return `${await page.content()}\n${await state.text()}`;
}

describe('endpoint options in the panel', () => {
  it('adds a flat, rate-limited endpoint with an API key header and alerts, and never shows the key again', async () => {
    const { t, page, adminToken } = await panel();
    const form = page.locator('#add-endpoint');
    await form.getByLabel('Endpoint URL').fill('https://hooks.example.com/sheet');
    for (const type of ['Photo sessions', 'Surveys', 'Prize wins']) await form.getByLabel(type).uncheck();
    await form.getByLabel('Alerts (agent.*)').check();
    await form.getByLabel('Format').selectOption({ label: 'Flat (spreadsheets, no-code)' });
    await form.getByLabel('At most this many per minute').fill('30');
    await form.getByRole('button', { name: 'Add header' }).click();
    await form.getByLabel('Header name').fill('X-Api-Key');
    await form.getByLabel('Header value').fill(SECRET_VALUE);
    await screenshot(page, 'endpoint-options-add');
    await form.getByRole('button', { name: 'Add endpoint' }).click();

    const card = page.locator('.endpoint', { hasText: 'https://hooks.example.com/sheet' });
    await card.waitFor();
    const added = t.agent.store.endpoints.list().find((e) => e.url === 'https://hooks.example.com/sheet')!;
    expect(added).toMatchObject({
      types: ['share', 'agent.*'],
      format: 'flat',
      maxPerMinute: 30,
      autoRecover: 'on',
      headers: { 'X-Api-Key': SECRET_VALUE },
    });
    // The in-flight limit joins the card once the delivery loop has looked at the endpoint.
    expect(await card.locator('.meta').textContent()).toMatch(
      /^Shares, Alerts( · up to \d+ at once)? · flat format · at most 30 a minute · headers: X-Api-Key · enabled$/,
    );
    // The typed rows went with the request: the add form holds no header any more.
    expect(await form.getByLabel('Header value').count()).toBe(0);
    expect(await seenByThePanel(t, page, adminToken)).not.toContain(SECRET_VALUE);
    await screenshot(page, 'endpoint-options-added');
  });

  it('edits the headers: a reserved one is refused by name, one is removed and another set, values never shown', async () => {
    const { t, page, adminToken } = await panel();
    const endpoint = t.addEndpoint('https://hooks.example.com/crm', { headers: { 'X-Api-Key': SECRET_VALUE } });
    const card = page.locator('.endpoint', { hasText: 'https://hooks.example.com/crm' });
    await expect.poll(() => card.locator('.meta').textContent()).toContain('headers: X-Api-Key');
    await card.getByRole('button', { name: 'Edit' }).click();
    const form = card.locator('form.edit');
    expect(await form.textContent()).toContain('X-Api-Key••••••');
    expect(await seenByThePanel(t, page, adminToken)).not.toContain(SECRET_VALUE);

    await form.getByRole('button', { name: 'Add header' }).click();
    await form.getByLabel('Header name').fill('X-Signature');
    await form.getByLabel('Header value').fill('forged');
    await form.getByRole('button', { name: 'Save' }).click();
    const error = form.locator(`#headers-error-${endpoint.id}`);
    await expect.poll(() => error.textContent()).toBe('X-Signature is set by Booth Agent on every delivery and cannot be replaced');
    expect(await form.getByLabel('Header name').getAttribute('aria-invalid')).toBe('true');
    expect(t.agent.store.endpoints.get(endpoint.id)!.headers).toEqual({ 'X-Api-Key': SECRET_VALUE });
    await screenshot(page, 'endpoint-options-refused-header');

    // Another panel (or the CLI) changes an endpoint meanwhile: the list is drawn again, the draft stays.
    const other = t.agent.store.endpoints.list().find((e) => e.url === receiver.url)!;
    const patched = await fetch(`${t.base}/api/endpoints/${other.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ maxPerMinute: 100 }),
    });
    expect(patched.status).toBe(200);
    await expect.poll(() => page.locator('.endpoint', { hasText: receiver.url }).locator('.meta').textContent()).toContain('at most 100');
    expect(await form.getByLabel('Header name').count(), 'the header row added before the update').toBe(1);
    expect(await form.getByLabel('Header name').inputValue()).toBe('X-Signature');

    await form.getByLabel('Header name').fill('X-Other');
    await form.getByLabel('Header value').fill(OTHER_VALUE);
    await form.getByRole('button', { name: 'Remove header X-Api-Key' }).click();
    expect(await form.textContent()).toContain('removed when you save');
    await form.getByLabel('Automatic retries').selectOption({ label: 'Off' });
    await form.getByLabel('At most this many per minute').fill('');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => card.locator('.meta').textContent())
      .toMatch(/^all booth events( · up to \d+ at once)? · no automatic retries · headers: X-Other · enabled$/);
    // The live update can show the saved endpoint a moment before the save's answer closes the form.
    await expect.poll(() => card.locator('form.edit').count()).toBe(0);
    expect(t.agent.store.endpoints.get(endpoint.id)).toMatchObject({
      headers: { 'X-Other': OTHER_VALUE },
      autoRecover: 'off',
      maxPerMinute: null,
    });
    const seen = await seenByThePanel(t, page, adminToken);
    expect(seen).not.toContain(SECRET_VALUE);
    expect(seen).not.toContain(OTHER_VALUE);

    // A new value for a header it has, typed over the mask: sent, and not shown back either.
    await card.getByRole('button', { name: 'Edit' }).click();
    await card.getByLabel('New value for X-Other').fill('third-value-789');
    await card.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => t.agent.store.endpoints.get(endpoint.id)!.headers).toEqual({ 'X-Other': 'third-value-789' });
    expect(await seenByThePanel(t, page, adminToken)).not.toContain('third-value-789');
    await screenshot(page, 'endpoint-options-edited');
  });

  it('names the refused field: a rate that is not a number, no event type at all', async () => {
    const { t, page } = await panel();
    const form = page.locator('#add-endpoint');
    await form.getByLabel('Endpoint URL').fill('https://hooks.example.com/nothing');
    for (const type of ['Photo sessions', 'Shares', 'Surveys', 'Prize wins']) await form.getByLabel(type).uncheck();
    await form.getByLabel('At most this many per minute').fill('lots');
    await form.getByRole('button', { name: 'Add endpoint' }).click();
    await expect.poll(() => page.locator('#new-max-per-minute-error').textContent()).toBe('Must be a number of attempts a minute');
    expect(await page.locator('#new-types-error').textContent()).toBe('Choose at least one type');
    expect(await form.getByLabel('At most this many per minute').getAttribute('aria-invalid')).toBe('true');
    expect(t.agent.store.endpoints.list()).toHaveLength(1);
  });
});

describe('the settings of automatic retries and alerts', () => {
  it('saves a retry schedule and alert timings, and puts a refusal of the schedule next to it', async () => {
    const { t, page } = await panel();
    const schedule = page.getByLabel('Automatic retry schedule');
    expect(await schedule.inputValue()).toBe('5m,30m,2h,6h,12h');
    expect(await page.getByLabel(/Alert when a delivery has waited longer than/).inputValue()).toBe('15');
    expect(await page.getByLabel(/Heartbeat alert every/).inputValue()).toBe('60');

    await schedule.fill('soon');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#recover-schedule-error').textContent()).toMatch(/^"soon" is not a duration/);
    expect(await schedule.getAttribute('aria-invalid')).toBe('true');
    expect(t.agent.store.settings.read().recover_schedule).toBe('5m,30m,2h,6h,12h');
    await screenshot(page, 'recover-schedule-refused');

    await schedule.fill('2s,4s');
    await page.getByLabel(/Alert when a delivery has waited longer than/).fill('5');
    await page.getByLabel(/Heartbeat alert every/).fill('0');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#booth-saved').textContent()).toBe('Saved.');
    expect(await schedule.getAttribute('aria-invalid')).toBeNull();
    expect(t.agent.store.settings.read()).toMatchObject({
      recover_schedule: '2s,4s',
      alert_waiting_after_ms: 5 * 60_000,
      heartbeat_interval_ms: 0,
    });

    await page.getByLabel(/Heartbeat alert every/).fill('an hour');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#heartbeat-interval-error').textContent()).toBe('Must be a number of minutes');
    expect(t.agent.store.settings.read().heartbeat_interval_ms).toBe(0);
  });
});

describe('a failed delivery the agent will try again by itself', () => {
  // Needs automatic recovery, which sets the delivery's recoverAt when it fails.
  it('says when the next automatic retry is, in the list and in the detail', async () => {
    const { t, page } = await panel({ max_retries: 0, recover_schedule: '1h' });
    receiver.handle(() => ({ status: 500, body: 'down for now' }));
    const body = JSON.stringify({
      type: 'session',
      session: { id: 'recover-me', direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://photos.example.com/a', type: 'still' },
    });
    expect((await t.post(body)).status).toBe(202);
    const row = page.locator('#deliveries tr', { hasText: 'recover-me' });
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 5000 }).toBe('failed');
    const [failed] = t.agent.store.views.list({ status: 'failed', limit: 1 });
    expect(failed!.recoverAt, 'the failed delivery is due to be recovered').not.toBeNull();
    expect(failed!.recoverAt).toBeGreaterThan(Date.now() + 50 * 60_000);
    await expect.poll(() => row.textContent()).toMatch(/next automatic retry at \d\d:\d\d/);

    await row.click();
    const detail = page.locator('#detail');
    await expect.poll(() => detail.locator('.recover').textContent()).toMatch(/^Next automatic retry at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\./);
    await screenshot(page, 'next-automatic-retry');
  });
});
