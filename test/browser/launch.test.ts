// Where the browser tests look for a browser, and what they say when there is none.
import { describe, expect, it } from 'vitest';
import { HOW_TO_INSTALL, launchChromium } from '../../scripts/browser.mjs';

describe('finding a browser', () => {
  it('starts the first Linux Chromium that exists, skipping paths that do not', async () => {
    const browser = await launchChromium({ env: {}, paths: ['/nonexistent/chromium', '/usr/bin/chromium'], channels: [] });
    try {
      expect(browser.version()).toMatch(/^\d+\./);
    } finally {
      await browser.close();
    }
  });

  it('prefers CHROMIUM_PATH, and names it when nothing is there', async () => {
    await expect(launchChromium({ env: { CHROMIUM_PATH: '/nonexistent/chrome' } })).rejects.toThrow(
      'CHROMIUM_PATH is /nonexistent/chrome, and there is no file there.',
    );
  });

  it('with no browser anywhere, fails with one line that says how to install one', async () => {
    // The channels are real look-ups: this machine has neither Chrome nor Edge installed.
    const error: Error = await launchChromium({ env: {}, paths: ['/nonexistent/chromium'], channels: ['chrome', 'msedge'] }).then(
      () => new Error('a browser started'),
      (refusal: Error) => refusal,
    );
    expect(error.message).toBe(HOW_TO_INSTALL);
    expect(error.stack).toBe(HOW_TO_INSTALL);
    expect(HOW_TO_INSTALL).not.toContain('\n');
    expect(HOW_TO_INSTALL).toContain('apt-get install -y chromium');
  });
});
