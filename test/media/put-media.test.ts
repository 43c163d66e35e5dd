// PUT /v1/sessions/{id}/media/{name} on a real agent: a booth program on another computer, or
// one that holds the bytes in memory, sends the file, then the event names it by its bare
// name; the file is uploaded and the webhook goes out with its link. Each refusal keeps nothing.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { useMediaServices } from '../helpers/media.js';
import { endpointTo } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();
let t: TestAgent;
beforeAll(async () => {
  const storage = m.storage();
  t = await startTestAgent({ media_max_mb: 2, media_min_free_mb: 0 }, storage);
  t.addEndpoint(m.receiver.url, endpointTo(m.receiver));
});
afterAll(async () => {
  await t.stop();
});

async function put(path: string, body: Buffer, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.base}${path}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${t.token}`, 'content-type': 'image/jpeg', ...headers },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

const copies = () => {
  try {
    return readdirSync(join(t.dataDir, 'media')).length;
  } catch {
    return 0;
  }
};

describe('PUT /v1/sessions/{session_id}/media/{file_name}', () => {
  it('takes the bytes, then the event names the file and its webhook carries the link', async () => {
    const bytes = randomBytes(150_000);
    const sent = await put('/v1/sessions/remote-1/media/0042.jpg', bytes);
    expect(sent).toEqual({
      status: 201,
      json: { media: expect.stringMatching(/^med_/), size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
    });
    const answer = await t.post('{"type":"session","session":{"id":"remote-1","type":"still","file":"0042.jpg"}}');
    expect(answer).toMatchObject({ status: 202, json: { direct_url: m.s3.objectUrl('booths/1/remote-1/0042.jpg') } });
    await waitFor('the webhook', () => m.receiver.requests.length === 1, 10_000);
    expect((await m.s3.readObject('booths/1/remote-1/0042.jpg'))?.equals(bytes)).toBe(true);
    const media = t.agent.store.db.prepare('SELECT id, event_id, status FROM media').all();
    expect(media).toEqual([{ id: sent.json.media, event_id: answer.json.id, status: 'uploaded' }]);
  });

  it('refuses a name with a folder in it, a file not a media file, a body too large, and no token', async () => {
    const before = copies();
    expect(await put('/v1/sessions/s/media/..%2F..%2Fetc%2Fpasswd.jpg', Buffer.from('x'))).toMatchObject({
      status: 400,
      json: { issues: [{ path: 'file_name' }] },
    });
    expect(await put('/v1/sessions/s/media/notes.txt', Buffer.from('x'))).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^body: is not a media file/), issues: [{ path: 'body' }] },
    });
    expect(await put('/v1/sessions/s/media/big.mp4', randomBytes(2 * 1024 * 1024 + 1), { 'content-type': 'video/mp4' })).toEqual({
      status: 400,
      json: {
        error: 'body: is larger than media_max_mb (2 MB)',
        issues: [{ path: 'body', message: 'is larger than media_max_mb (2 MB)' }],
      },
    });
    expect(await put('/v1/sessions/s/media/empty.jpg', Buffer.alloc(0))).toMatchObject({ status: 400, json: { error: 'body: is empty' } });
    const anonymous = await fetch(`${t.base}/v1/sessions/s/media/a.jpg`, { method: 'PUT', body: 'x' });
    expect(anonymous.status).toBe(401);
    expect(copies()).toBe(before);
  });

  it('leaves every other route to JSON alone', async () => {
    const answer = await t.post('{}', { 'content-type': 'image/jpeg' });
    expect(answer.status).toBe(415);
  });
});
