// The panel's Uploads card in a real browser, against a real agent and the S3-compatible test
// service: a large photo's progress bar moving part by part with its rate and time left; a
// failed upload with its reason and Retry, which sends it once the storage is fixed.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setStorage, type TestAgent } from '../helpers/agent.js';
import { panelSuite, screenshot } from '../helpers/browser.js';
import { useMediaServices } from '../helpers/media.js';
import { tempDir } from '../helpers/temp.js';

const suite = panelSuite();
const m = useMediaServices();

async function capture(t: TestAgent, output: string, session: string, bytes: number): Promise<void> {
  const file = join(output, `${session}.jpg`);
  writeFileSync(file, randomBytes(bytes));
  expect((await t.post(JSON.stringify({ type: 'session', session: { id: session, type: 'still', file } }))).status).toBe(202);
}

describe('the Uploads card', () => {
  it('shows a large upload with its bar, bytes, rate and time left, moving a part at a time', async () => {
    const output = tempDir('output-');
    // 5 MB a second: the three parts of a 17 MB file take about a second and a half each.
    const { t, page } = await suite.panel({ media_roots: [output], media_min_free_mb: 0, upload_max_kbps: 40_000 });
    setStorage(t.agent.store, m.storage());
    const card = page.locator('section', { has: page.getByRole('heading', { name: 'Uploads' }) });
    await expect.poll(() => card.locator('#uploads-summary').textContent()).toBe('Nothing to upload.');

    await capture(t, output, 'big-1', 17_000_000);
    await expect.poll(() => page.locator('#summary').textContent()).toContain('uploading 1 photo (17 MB)');
    // The row read whole in the page at one moment: the upload moves on (and ends) as the test reads.
    const uploading = () =>
      page.evaluate(`(() => {
        const row = document.querySelector('#uploads-list li[data-status="uploading"]');
        const bar = row && row.querySelector('progress');
        if (!bar) return null;
        return row.querySelector('.upload-name').textContent + ' ' + bar.value + '/' + bar.max + ' ' +
          row.querySelector('.upload-words').textContent;
      })()`) as Promise<string | null>;
    // After the first part or, on a busy machine, the second (16.8 MB shows as 17 MB).
    await expect
      .poll(uploading, { timeout: 10_000 })
      .toMatch(/^big-1\.jpg (8388608|16777216)\/17000000 (8\.4|17) MB of 17 MB · \d(\.\d)? MB\/s · about \d+ (ms|s) left$/);
    await screenshot(page, 'uploads-progress');
    await expect.poll(() => card.locator('#uploads-summary').textContent(), { timeout: 15_000 }).toBe('Nothing to upload.');
    expect(await card.locator('li').count()).toBe(0);
  });

  it('shows a failed upload with its reason and Retry, which sends it after the storage is fixed', async () => {
    const output = tempDir('output-');
    const { t, page } = await suite.panel({ media_roots: [output], media_min_free_mb: 0 });
    setStorage(t.agent.store, { ...m.storage(), secretAccessKey: 'wrong-secret-0000000000000000000000000000' });
    const card = page.locator('section', { has: page.getByRole('heading', { name: 'Uploads' }) });

    await capture(t, output, 'bad-1', 3_000);
    const failed = card.locator('li[data-status="failed"]');
    await expect
      .poll(() => failed.locator('.upload-words').textContent(), { timeout: 10_000 })
      .toBe('failed: the storage refused the secret key: check it (booth-agent storage set)');
    expect(await card.locator('#uploads-summary').textContent()).toBe('1 failed');
    expect(await page.locator('#summary').textContent()).toContain('1 upload failed');
    expect(await card.getByRole('button', { name: 'Retry all failed uploads' }).isVisible()).toBe(true);
    await screenshot(page, 'uploads-failed');

    // Retried before the fix, it fails again in the same words.
    const status = () => t.agent.store.media.list({ limit: 1 })[0]?.status;
    const puts = m.s3.count('PutObject');
    await failed.getByRole('button', { name: 'Retry bad-1.jpg' }).click();
    await expect.poll(() => m.s3.count('PutObject'), { timeout: 10_000 }).toBeGreaterThan(puts);
    await expect.poll(status, { timeout: 10_000 }).toBe('failed');
    await expect.poll(() => failed.locator('.upload-words').textContent()).toContain('the storage refused the secret key');

    setStorage(t.agent.store, m.storage());
    await card.locator('li[data-status="failed"]').getByRole('button', { name: 'Retry bad-1.jpg' }).click();
    await expect.poll(status, { timeout: 10_000 }).toBe('uploaded');
    await expect.poll(() => card.locator('#uploads-summary').textContent()).toBe('Nothing to upload.');
    expect(await card.locator('li').count()).toBe(0);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent(), { timeout: 10_000 }).toBe('All delivered');
  });
});
