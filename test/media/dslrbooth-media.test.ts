// dslrBooth's triggers with the organiser's storage set: at session_end the final file itself
// is handed over (it must be in media_roots), uploaded, and the session webhook carries its link.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { useMediaServices } from '../helpers/media.js';
import { endpointTo } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();
let t: TestAgent;
let output: string;
beforeAll(async () => {
  output = tempDir('dslrbooth-');
  const storage = m.storage();
  t = await startTestAgent({ media_roots: [output], media_min_free_mb: 0, device_id: 3 }, storage);
  t.addEndpoint(m.receiver.url, endpointTo(m.receiver));
});
afterAll(async () => {
  await t.stop();
});

const trigger = async (eventType: string, ...params: string[]) => {
  const query = new URLSearchParams({ event_type: eventType, ...Object.fromEntries(params.map((p, i) => [`param${i + 1}`, p])) });
  const response = await fetch(`${t.base}/t/${t.token}/dslrbooth?${query}`);
  expect(response.status).toBe(200);
};

describe('dslrBooth with storage set', () => {
  it('uploads the final file and sends the session with its link', async () => {
    const final = join(output, 'prints', 'final_0007.jpg');
    const original = join(output, 'IMG_0007.jpg');
    const bytes = randomBytes(250_000);
    mkdirSync(join(output, 'prints'));
    writeFileSync(original, 'original');
    writeFileSync(final, bytes);
    await trigger('session_start', 'Print');
    await trigger('processing_start', original, final);
    await trigger('session_end');
    await waitFor('the session webhook', () => m.receiver.requests.length === 1, 15_000);
    const body = JSON.parse(m.receiver.requests[0]!.body.toString());
    const key = `booths/1/${body.session.id}/final_0007.jpg`;
    expect(body.session).toMatchObject({ id: expect.stringMatching(/^3-/), type: 'still', direct_url: m.s3.objectUrl(key) });
    expect((await m.s3.readObject(key))?.equals(bytes)).toBe(true);
  });
});
