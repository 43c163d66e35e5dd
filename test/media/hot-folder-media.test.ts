// The hot folder with the organiser's storage set: each finished file is handed to the agent
// itself, copied in, uploaded, and its session webhook goes out with the object's link; a
// sidecar with the booth's own URLs keeps them, and nothing is uploaded for it.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/agent.js';
import { configure, FAST } from '../helpers/agent.js';
import { useMediaServices } from '../helpers/media.js';
import { endpointTo } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();
let agent: Agent;
let folder: string;
beforeAll(async () => {
  const dataDir = tempDir('hot-agent-');
  folder = join(tempDir('hot-folder-'), 'Output');
  mkdirSync(folder);
  configure(
    dataDir,
    { ...FAST, event_id: 5, device_id: 9, hot_folder: folder, hot_folder_settle_ms: 200, media_min_free_mb: 0 },
    m.storage(),
  );
  agent = await startAgent({ dataDir, port: 0, managedConfig: [] });
  agent.store.endpoints.add(endpointTo(m.receiver), Date.now());
});
afterAll(async () => {
  await agent.stop();
});

const sessions = () => m.receiver.requests.map((r) => JSON.parse(r.body.toString()) as Record<string, any>);

describe('the hot folder with storage set', () => {
  it('uploads each photo, then sends its session with the link, from the hot folder alone (no media_roots)', async () => {
    const bytes = randomBytes(400_000);
    writeFileSync(join(folder, 'IMG_0001.JPG'), bytes);
    await waitFor('the session webhook', () => sessions().length === 1, 15_000);
    const [body] = sessions();
    const key = `booths/5/${body!.session.id}/IMG_0001.JPG`;
    expect(body!.session).toMatchObject({
      type: 'still',
      direct_url: m.s3.objectUrl(key),
      site_url: m.s3.objectUrl(`booths/5/${body!.session.id}/index.html`),
      device: { id: 9 },
    });
    expect(body!.session).not.toHaveProperty('file');
    expect((await m.s3.readObject(key))?.equals(bytes)).toBe(true);
  });

  it('keeps the URLs a sidecar gives, uploading nothing for that file', async () => {
    const puts = m.s3.count('PutObject');
    writeFileSync(
      join(folder, 'IMG_0002.jpg.json'),
      JSON.stringify({ session: { id: 'own-2', direct_url: 'https://booth.example/2.jpg', site_url: 'https://booth.example/s/2' } }),
    );
    writeFileSync(join(folder, 'IMG_0002.jpg'), randomBytes(1000));
    await waitFor('the second session', () => sessions().length === 2, 15_000);
    expect(sessions()[1]!.session).toMatchObject({ id: 'own-2', direct_url: 'https://booth.example/2.jpg' });
    expect(m.s3.count('PutObject')).toBe(puts);
    expect(agent.store.db.prepare('SELECT COUNT(*) FROM media').pluck().get()).toBe(1);
  });
});
