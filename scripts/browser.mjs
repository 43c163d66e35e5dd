// The one way the tests, the benchmark and the icon script find and start a browser, with
// playwright-core (which never downloads one): the browser named by CHROMIUM_PATH, else
// Debian's or Ubuntu's Chromium, else an installed Google Chrome or Microsoft Edge.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** Debian's package, Ubuntu's older package, and Ubuntu's snap, in that order. */
export const LINUX_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium'];

/** playwright-core's names for a Chrome or Edge installed where their installers put them. */
export const CHANNELS = ['chrome', 'msedge'];

export const HOW_TO_INSTALL =
  'No browser for the panel tests: install Chromium (Debian/Ubuntu: sudo apt-get install -y chromium) or Google Chrome or Microsoft Edge (macOS, Windows), or set CHROMIUM_PATH to a Chromium-based browser.';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** An error with one line to print: its message is the whole story, so it carries no stack. */
function oneLine(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

/**
 * Launches the first browser found. `env`, `paths` and `channels` are the places looked at;
 * the defaults are this machine's.
 * @param {{ env?: NodeJS.ProcessEnv, paths?: string[], channels?: string[], args?: string[] }} [where]
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchChromium({ env = process.env, paths = LINUX_CHROMIUMS, channels = CHANNELS, args = [] } = {}) {
  const options = { args: [...ARGS, ...args] };
  if (env.CHROMIUM_PATH) {
    if (!existsSync(env.CHROMIUM_PATH)) throw oneLine(`CHROMIUM_PATH is ${env.CHROMIUM_PATH}, and there is no file there.`);
    return chromium.launch({ ...options, executablePath: env.CHROMIUM_PATH });
  }
  const found = paths.find((path) => existsSync(path));
  if (found) return chromium.launch({ ...options, executablePath: found });
  for (const channel of channels) {
    try {
      return await chromium.launch({ ...options, channel });
    } catch (error) {
      // "Chromium distribution 'chrome' is not found at …" when it is not installed; anything
      // else (an installed browser that fails to start) is worth its own report.
      if (!/distribution '[^']+' is not found/.test(String(error?.message))) throw error;
    }
  }
  throw oneLine(HOW_TO_INSTALL);
}
