// The operator's own page template: `booth-agent config set guest_page_template` (and the
// panel's API) refuses one that cannot be read or used, naming the line and the reason; one
// that is taken makes the pages; one that breaks later (moved, edited wrong) fails the upload
// in words, with its alert, the webhook waiting, until the fix and a retry, which sends only the page.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { retryUploads } from '../../src/operations/uploads.js';
import { openStore } from '../../src/store/store.js';
import { runCli } from '../helpers/cli.js';
import { mediaBooth, mediaDataDir, useMediaServices } from '../helpers/media.js';
import { endpointTo } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();

const GOOD =
  '<!DOCTYPE html>\n<html lang="en"><head><title>{{title}}</title></head>\n<body><img src="{{mediaUrl}}" alt="{{title}}"></body></html>\n';

describe('guest_page_template', () => {
  it('is refused when set if it does not parse, writes a value raw, or cannot be read, naming the line', async () => {
    const { dataDir } = mediaDataDir(m);
    const folder = tempDir('templates-');
    const set = (path: string) => runCli(['--data-dir', dataDir, 'config', 'set', 'guest_page_template', path]);
    const broken = join(folder, 'broken.hbs');
    writeFileSync(broken, '<html>\n<body>\n{{#if preview}}\n<img src="{{preview.url}}">\n{{/each}}\n</body>\n');
    const raw = join(folder, 'raw.hbs');
    writeFileSync(raw, '<html>\n<body>\n<h1>{{{eventName}}}</h1>\n');

    const refusedBroken = await set(broken);
    expect(refusedBroken.code).toBe(2);
    expect(refusedBroken.stderr).toContain("guest_page_template: line 3: if doesn't match each");
    const refusedRaw = await set(raw);
    expect(refusedRaw.code).toBe(2);
    expect(refusedRaw.stderr).toContain('guest_page_template: line 3: a value is written unescaped ({{{…}}} or {{& …}})');
    const missing = await set(join(folder, 'none.hbs'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('guest_page_template: cannot be read (ENOENT)');

    const store = openStore(join(dataDir, 'outbox.db'));
    try {
      expect(store.settings.read().guest_page_template).toBeNull();
    } finally {
      store.close();
    }
    const good = join(folder, 'good.hbs');
    writeFileSync(good, GOOD);
    const taken = await set(good);
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stdout).toBe(`guest_page_template = ${good}\n`);
    // Named from the operator's folder, it is kept whole: the agent reads it from its own.
    const relative = await runCli(['--data-dir', dataDir, 'config', 'set', 'guest_page_template', 'good.hbs'], { cwd: folder });
    expect(relative.code, relative.stderr).toBe(0);
    expect(relative.stdout).toBe(`guest_page_template = ${good}\n`);
  });

  it('makes the pages; broken later, it fails the upload in words until the fix and a retry, which sends only the page', async () => {
    const template = join(tempDir('template-'), 'page.hbs');
    writeFileSync(template, GOOD.replace('<body>', '<body><p class="ours">{{eventName}} by the operator</p>'));
    const b = await mediaBooth(m, m.storage(), { event_id: 11, event_name: 'Gala', guest_page_template: template });
    try {
      const first = await b.capture('tpl-1', randomBytes(2000));
      await waitFor('the first webhook', () => m.receiver.requests.some((r) => r.body.toString().includes('"tpl-1"')), 15_000);
      expect((await m.s3.readObject('booths/11/tpl-1/index.html'))?.toString()).toContain('<p class="ours">Gala by the operator</p>');
      expect(first.site_url).toBe(m.s3.objectUrl('booths/11/tpl-1/index.html'));

      b.t.addEndpoint(m.receiver.url, { ...endpointTo(m.receiver), types: ['agent.upload_failed'] });
      rmSync(template);
      await b.capture('tpl-2', randomBytes(2000));
      await waitFor('the upload failed', () => b.media('tpl-2').status === 'failed', 15_000);
      const reason = `the page template ${template}: cannot be read (ENOENT)`;
      expect(b.media('tpl-2')).toMatchObject({ last_error: reason, file_done_at: expect.any(Number) });
      const alert = await waitFor('agent.upload_failed', () =>
        m.receiver.requests.map((r) => JSON.parse(r.body.toString())).find((body) => body.type === 'agent.upload_failed'),
      );
      expect(alert).toMatchObject({ reason });
      expect(m.receiver.requests.some((r) => r.body.toString().includes('"tpl-2"'))).toBe(false);

      writeFileSync(template, GOOD);
      expect(retryUploads(b.t.agent.operations, { all: true })).toEqual({ retried: 1 });
      await waitFor('the webhook after the fix', () => m.receiver.requests.some((r) => r.body.toString().includes('"tpl-2"')), 15_000);
      const puts = (key: string) => m.s3.requests.filter((r) => r.operation === 'PutObject' && r.key === key).length;
      expect(puts('booths/11/tpl-2/photo.jpg')).toBe(1);
      expect(puts('booths/11/tpl-2/index.html')).toBe(1);
    } finally {
      await b.t.stop();
    }
  }, 60_000);
});
