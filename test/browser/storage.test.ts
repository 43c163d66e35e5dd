// The panel's Storage card in a real browser, against a real agent and the S3-compatible test
// service: set, Verify with each step, Remove after a confirmation; the secret never on the page.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestAgent } from '../helpers/agent.js';
import { panelSuite, screenshot } from '../helpers/browser.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';

const suite = panelSuite();
const { panel } = suite;
let server: S3Server;
beforeAll(async () => {
  server = await startS3Server({ publicPrefixes: ['booth/'] });
});
afterAll(() => server.close());

/** Everything the page holds and everything /api/state tells it. */
async function seenByThePanel(t: TestAgent, page: Page, adminToken: string): Promise<string> {
  const state = await fetch(`${t.base}/api/state`, { headers: { authorization: `Bearer ${adminToken}` } });
  expect(state.status).toBe(200);
  const values: string[] = [];
  for (const input of await page.locator('input').all()) values.push(await input.inputValue());
  return `${await page.content()}\n${values.join('\n')}\n${await state.text()}`;
}

describe('the Storage card', () => {
  it('saves a storage, never shows its secret again, verifies it step by step and removes it after asking', async () => {
    const { t, page, adminToken } = await panel();
    const card = page.locator('section', { has: page.getByRole('heading', { name: 'Storage' }) });
    await expect.poll(() => card.locator('#storage-summary').textContent()).toBe('No storage set: photos stay on this computer.');

    await card.getByLabel('Service URL').fill('http://minio.lan:9000');
    await card.getByLabel('Bucket', { exact: true }).fill(server.bucket);
    await card.getByLabel('Access key id').fill(server.accessKeyId);
    await card.getByLabel('Secret access key').fill(server.secretAccessKey);
    await card.getByRole('button', { name: 'Set storage' }).click();
    await expect.poll(() => card.locator('#storage-url-error').textContent()).toContain('HTTPS is required');
    expect(t.agent.store.storage.get()).toBeNull();

    await card.getByLabel('Service URL').fill(server.endpoint);
    await card.getByLabel('Folder in the bucket').fill('booth/');
    await card.getByLabel('Public URL of the files').fill(`${server.endpoint}/${server.bucket}`);
    await card.getByLabel('The bucket goes in the path').check();
    await card.getByRole('button', { name: 'Set storage' }).click();
    await expect.poll(() => card.locator('#storage-saved').textContent()).toBe('Saved. Verify checks it end to end.');
    expect(await card.getByLabel('Secret access key').inputValue()).toBe('');
    await expect.poll(() => card.locator('#storage-summary').textContent()).toContain(`Uploading to ${server.bucket}/booth/`);
    // The test service's certificate is trusted through the CA, which the panel does not take: set it as the CLI would.
    const stored = t.agent.store.storage.get()!;
    expect(stored).toMatchObject({ secretAccessKey: server.secretAccessKey, prefix: 'booth/', pathStyle: true, region: 'us-east-1' });
    t.agent.store.storage.set({ ...stored, ca: server.certificate.cert }, Date.now());
    expect(await seenByThePanel(t, page, adminToken)).not.toContain(server.secretAccessKey);

    await card.getByRole('button', { name: 'Verify' }).click();
    const steps = card.locator('#storage-report li');
    await expect.poll(() => steps.count(), { timeout: 10_000 }).toBe(4);
    expect(await steps.allTextContents()).toEqual([
      expect.stringMatching(/^Upload: ok\. Uploaded a test file to booth-media as booth\/\.booth-agent-verify\//),
      expect.stringMatching(/^A guest's phone opens the link: ok\. Opened https:\/\/127\.0\.0\.1:\d+\/booth-media\/booth\//),
      'Delete the test file: ok. Deleted the test file.',
      expect.stringContaining("guests' phones must trust the link's certificate"),
    ]);
    await screenshot(page, 'storage-verified');

    await card.getByRole('button', { name: 'Remove' }).click();
    await page.locator('#confirm-no').click();
    expect(t.agent.store.storage.get()).not.toBeNull();
    await card.getByRole('button', { name: 'Remove' }).click();
    await page.locator('#confirm-yes').click();
    await expect.poll(() => card.locator('#storage-summary').textContent()).toBe('No storage set: photos stay on this computer.');
    expect(t.agent.store.storage.get()).toBeNull();
  });
});
