// Renders the app and tray icons from SVG to the PNGs electron-builder and the tray use,
// with a local Chromium (scripts/browser.mjs). Run after changing an icon: node scripts/make-icons.mjs
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { launchChromium } from './browser.mjs';

const tray = {
  delivered: {
    color: '#2e9e5b',
    mark: '<path d="M9 16.5 L14 21.5 L23 11" stroke="#fff" stroke-width="3.5" fill="none" stroke-linecap="round" stroke-linejoin="round"/>',
  },
  waiting: { color: '#7b8aa3', mark: '<path d="M16 9 V16 L21 19" stroke="#fff" stroke-width="3.5" fill="none" stroke-linecap="round"/>' },
  failed: {
    color: '#d64538',
    mark: '<path d="M16 8 V18" stroke="#fff" stroke-width="4" stroke-linecap="round"/><circle cx="16" cy="23.5" r="2.3" fill="#fff"/>',
  },
  paused: {
    color: '#1f5fa8',
    mark: '<rect x="10.5" y="9" width="4" height="14" rx="1" fill="#fff"/><rect x="17.5" y="9" width="4" height="14" rx="1" fill="#fff"/>',
  },
};

mkdirSync('assets/tray', { recursive: true });
mkdirSync('build', { recursive: true });
for (const [name, { color, mark }] of Object.entries(tray)) {
  writeFileSync(
    `assets/tray/${name}.svg`,
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" fill="${color}"/>${mark}</svg>\n`,
  );
}

const browser = await launchChromium();
const page = await browser.newPage();
async function render(svgFile, size, out) {
  await page.setViewportSize({ width: size, height: size });
  const svg = readFileSync(svgFile, 'utf8').replace('<svg ', `<svg width="${size}" height="${size}" `);
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
  await page.screenshot({ path: out, omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
}
await render('assets/icon.svg', 1024, 'build/icon.png');
await render('assets/icon.svg', 256, 'assets/icon.png');
for (const name of Object.keys(tray)) {
  await render(`assets/tray/${name}.svg`, 16, `assets/tray/${name}.png`);
  await render(`assets/tray/${name}.svg`, 32, `assets/tray/${name}@2x.png`);
}
await browser.close();
