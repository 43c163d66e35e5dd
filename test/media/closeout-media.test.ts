// "Safe to pack up?" counts the sessions' photos only the booth holds: with the storage
// unreachable the verdict names them, once uploaded (and delivered) it is safe again.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closeout } from '../../src/operations/closeout.js';
import { startTestAgent } from '../helpers/agent.js';
import { useMediaServices } from '../helpers/media.js';
import { endpointTo } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();

describe('closeout with media', () => {
  it('is not safe while photos are only on this booth', async () => {
    const output = tempDir('output-');
    const t = await startTestAgent({ media_roots: [output], media_min_free_mb: 0 }, m.storage());
    t.addEndpoint(m.receiver.url, endpointTo(m.receiver));
    try {
      await m.s3.down('refuse');
      for (const id of ['cm-1', 'cm-2', 'cm-3']) {
        writeFileSync(join(output, `${id}.jpg`), randomBytes(1024 * 1024));
        const answer = await t.post(JSON.stringify({ type: 'session', session: { id, type: 'still', file: join(output, `${id}.jpg`) } }));
        rmSync(join(output, `${id}.jpg`));
        expect(answer.status).toBe(202);
      }
      const report = closeout(t.agent.operations, {});
      expect(report).toMatchObject({ safe: false, media: { files: 3, bytes: 3 * 1024 * 1024 } });
      expect(report.verdict).toBe('not safe to pack up: 3 not delivered, 3 photos (3 MB) are only on this booth');
      expect(closeout(t.agent.operations, { event: 1 }).media).toEqual({ files: 3, bytes: 3 * 1024 * 1024 });
      expect(closeout(t.agent.operations, { event: 2 }).media).toEqual({ files: 0, bytes: 0 });
      expect(t.agent.store.views.closeoutFigures().media.files).toBe(3);

      await m.s3.up();
      await waitFor('the photos uploaded and delivered', () => closeout(t.agent.operations, {}).safe, 20_000);
      expect(closeout(t.agent.operations, {})).toMatchObject({
        media: { files: 0, bytes: 0 },
        verdict: 'safe to pack up: all 3 delivered',
      });
    } finally {
      await m.s3.up();
      await t.stop();
    }
  });
});
