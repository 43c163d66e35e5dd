// A Chromium-based browser driven by playwright-core (never a downloaded one), one per test
// file; scripts/browser.mjs says where it is looked for.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/browser.mjs';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Settings } from '../../src/core/settings.js';
import { startTestAgent, type TestAgent } from './agent.js';
import { startReceiver, type Receiver } from './receiver.js';

export const SCREENSHOTS = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

/** A page with the panel open at `url`, failing the test on any script error in the page. */
export async function openPanel(browser: Browser, url: string, width = 1280, height = 800): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width, height } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    // A refused request (a 400 the page shows next to a field) is logged by the browser
    // itself; anything else logged as an error is a defect.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource: the server responded with a status of 4')) {
      errors.push(message.text());
    }
  });
  await page.goto(url);
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

export interface OpenPanel {
  t: TestAgent;
  page: Page;
  adminToken: string;
}

/**
 * A test file's panel set-up: one browser and one HTTPS receiver for the file; for each test
 * an agent with an endpoint to that receiver and its panel open, "All delivered"; and no
 * script error in any page. The receiver answers 200 again after each test.
 */
export function panelSuite(): {
  receiver(): Receiver;
  panel(settings?: Partial<Settings>, width?: number, height?: number): Promise<OpenPanel>;
} {
  let browser: Browser;
  let receiver: Receiver;
  const agents: TestAgent[] = [];
  let errors: string[] = [];
  beforeAll(async () => {
    browser = await launchChromium({ args: ['--disable-sync'] });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
  });
  afterEach(async () => {
    expect(errors, 'errors in the page').toEqual([]);
    for (const agent of agents.splice(0)) await agent.stop();
    receiver.handle(() => ({ status: 200, body: 'ok' }));
  });
  return {
    receiver: () => receiver,
    async panel(settings = {}, width = 1280, height = 800) {
      const t = await startTestAgent(settings);
      agents.push(t);
      t.addEndpoint(receiver.url, { ca: receiver.certificate.cert });
      const adminToken = t.agent.store.settings.token('admin_token');
      const opened = await openPanel(browser, `${t.base}/#token=${adminToken}`, width, height);
      errors = opened.errors;
      await expect.poll(() => opened.page.getByRole('heading', { level: 1 }).textContent()).toBe('All delivered');
      return { t, page: opened.page, adminToken };
    },
  };
}
