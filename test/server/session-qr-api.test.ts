// A session's QR code against a real agent with the S3-compatible test service: GET
// /v1/sessions/{id}/qr.svg and qr.png behind the ingest token, read back by a decoder of
// their own to exactly the session's site_url (the booth's own, or the one the agent set at
// capture); 404 for an unknown or erased session, hostile ids answered cleanly; and the same
// code for the panel under /api/ with the admin token, beside the link in a delivery's detail.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryDetail, DeliveryPage } from '../../src/server/admin-types.js';
import { mediaBooth, useMediaServices } from '../helpers/media.js';
import { imageSize, readQrCode } from '../helpers/qr-code.js';
import { waitFor } from '../helpers/wait.js';

const m = useMediaServices();
let booth: Awaited<ReturnType<typeof mediaBooth>>;
let admin: string;
beforeAll(async () => {
  booth = await mediaBooth(m);
  admin = booth.t.agent.store.settings.token('admin_token');
});
afterAll(() => booth.t.stop());

/** A raw GET, so that the path reaches the server exactly as written (no `..` folded, no encoding). */
function get(path: string, headers: Record<string, string> = { authorization: `Bearer ${booth.t.token}` }) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: booth.t.agent.port, method: 'GET', path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const qrPath = (sessionId: string, format: 'svg' | 'png') => `/v1/sessions/${encodeURIComponent(sessionId)}/qr.${format}`;

/** A session captured with the booth's own links. */
async function boothSession(id: string, siteUrl: string, extra: Record<string, unknown> = {}): Promise<void> {
  const session = { id, type: 'still', direct_url: `${siteUrl}/photo.jpg`, site_url: siteUrl };
  const answer = await booth.t.post(JSON.stringify({ type: 'session', session, ...extra }));
  expect(answer.status).toBe(202);
}

/** The code of a session, checked as an image of the format asked for, and what a phone reads in it. */
async function scan(sessionId: string, format: 'svg' | 'png', path = qrPath(sessionId, format)): Promise<string | null> {
  const answer = await get(path);
  expect(answer.status, answer.body.toString()).toBe(200);
  expect(answer.headers['content-type']).toBe(format === 'svg' ? 'image/svg+xml' : 'image/png');
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
  expect(await imageSize(answer.body)).toEqual({ width: 512, height: 512, format });
  return readQrCode(answer.body);
}

const UNKNOWN = { error: 'there is no session with this id: none was captured on this booth, or it was erased' };
const ERASED = { error: "this session's data was erased: it has no link any more" };
const json = (answer: { headers: Record<string, unknown>; body: Buffer }) => {
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  return JSON.parse(answer.body.toString()) as unknown;
};

describe('GET /v1/sessions/{id}/qr.svg and qr.png', () => {
  it("read back to exactly the booth's own site_url, with the token in the header or in the path", async () => {
    const siteUrl = 'https://photos.example.com/e/2024/booth7-0042?lang=fr&x=%C3%A9';
    await boothSession('booth7-0042', siteUrl);
    expect(await scan('booth7-0042', 'svg')).toBe(siteUrl);
    expect(await scan('booth7-0042', 'png')).toBe(siteUrl);
    const answer = await get(`/t/${booth.t.token}${qrPath('booth7-0042', 'png')}`, {});
    expect(answer.status).toBe(200);
    expect(await readQrCode(answer.body)).toBe(siteUrl);
  });

  it('read back to exactly the site_url the agent set at capture, which the webhook carries once the photo is up', async () => {
    const { site_url: siteUrl } = await booth.capture('file-0001', randomBytes(3_000));
    expect(siteUrl).toMatch(/^https:\/\//);
    // Before the upload is done or not: the link is known at capture.
    expect(await scan('file-0001', 'svg')).toBe(siteUrl);
    expect(await scan('file-0001', 'png')).toBe(siteUrl);
    const webhook = await waitFor('the session webhook', () => m.receiver.requests.find((r) => r.body.includes('"file-0001"')));
    expect((JSON.parse(webhook.body.toString()) as { session: { site_url: string } }).session.site_url).toBe(siteUrl);
  });

  it('are refused without the ingest token, with the admin token, and from a foreign Host', async () => {
    await boothSession('guarded', 'https://photos.example.com/guarded');
    const path = qrPath('guarded', 'png');
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${admin}` }] as Record<string, string>[]) {
      const answer = await get(path, headers);
      expect(answer.status).toBe(401);
      expect(json(answer)).toEqual({ error: expect.stringContaining('a valid ingest token is required') });
    }
    expect((await get(`/t/wrong${path}`, {})).status).toBe(401);
    const foreign = await get(path, { authorization: `Bearer ${booth.t.token}`, host: 'evil.example' });
    expect(foreign.status).toBe(403);
  });

  it('answer 404 with a JSON error for a session never captured', async () => {
    for (const format of ['svg', 'png'] as const) {
      const answer = await get(qrPath('never-captured', format));
      expect(answer.status).toBe(404);
      expect(answer.headers['cache-control']).toBeUndefined();
      expect(json(answer)).toEqual(UNKNOWN);
    }
  });

  it('answer hostile ids cleanly: a path climbing out, markup, a very long id', async () => {
    for (const id of ['..', '../../etc/passwd', '..\\..\\windows', '%2e%2e', '<script>alert(1)</script>', 'x'.repeat(10_000), '\u0000']) {
      const answer = await get(qrPath(id, 'svg'));
      expect(answer.status, id.slice(0, 40)).toBe(404);
      expect(json(answer)).toEqual(UNKNOWN);
    }
    // Written raw, unencoded: `..` is a session id like any other, never a folder.
    for (const path of ['/v1/sessions/../qr.svg', '/v1/sessions/..%2F..%2Fetc%2Fpasswd/qr.png', '/v1/sessions/%3Cb%3E/qr.svg']) {
      const answer = await get(path);
      expect(answer.status, path).toBe(404);
      expect(json(answer)).toEqual(UNKNOWN);
    }
    // Not decodable at all: refused in the API's own shape, the path (and a token in it) not echoed.
    for (const path of ['/v1/sessions/%E0%A4%A/qr.svg', '/v1/sessions/100%/qr.png', `/t/${booth.t.token}/v1/sessions/%/qr.png`]) {
      const answer = await get(path);
      expect(answer.status, path).toBe(400);
      expect(json(answer)).toEqual({ error: 'the path is not valid: encode it (a % must start an escape such as %25)' });
    }
  });

  it('give the code of a session whose id holds markup or is long, as captured', async () => {
    for (const id of ['<img src=x onerror=alert(1)>', `long-${'y'.repeat(300)}`, 'a/b?c#d']) {
      const siteUrl = `https://photos.example.com/s/${encodeURIComponent(id).slice(0, 40)}`;
      await boothSession(id, siteUrl);
      expect(await scan(id, 'png')).toBe(siteUrl);
    }
  });

  it('answer 404 once the session is erased: by its id, or with its data (its payload, or its photo)', async () => {
    await boothSession('erase-by-id', 'https://photos.example.com/erase-by-id');
    expect((await get(qrPath('erase-by-id', 'svg'))).status).toBe(200);
    await erase({ session: 'erase-by-id' });
    expect(json(await get(qrPath('erase-by-id', 'svg')))).toEqual(UNKNOWN);

    // The session's own payload names the guest: it is stripped.
    await boothSession('names-jane', 'https://photos.example.com/names-jane', { guest: 'jane@example.com' });
    expect((await get(qrPath('names-jane', 'png'))).status).toBe(200);
    await erase({ email: 'jane@example.com' });
    const stripped = await get(qrPath('names-jane', 'png'));
    expect(stripped.status).toBe(404);
    expect(json(stripped)).toEqual(ERASED);

    // A share names the guest: the session's photo, which the agent uploaded, is erased with it.
    const captured = await booth.capture('shared-with-joe', randomBytes(2_000));
    const share = {
      type: 'share',
      session: { id: 'shared-with-joe', type: 'still', direct_url: captured.direct_url, site_url: captured.site_url },
      share: { id: 'share-joe', type: 'email', value: 'joe@example.com' },
      data_capture: { sections: [] },
    };
    expect((await booth.t.post(JSON.stringify(share))).status).toBe(202);
    expect((await get(qrPath('shared-with-joe', 'svg'))).status).toBe(200);
    await erase({ email: 'joe@example.com' });
    expect(json(await get(qrPath('shared-with-joe', 'svg')))).toEqual(ERASED);
  });
});

describe('the panel: GET /api/sessions/{id}/qr.svg and the link in a delivery detail', () => {
  it('give the same code with the admin token, and the detail of each event of the session names its link', async () => {
    const siteUrl = 'https://photos.example.com/panel-0007';
    await boothSession('panel-0007', siteUrl);
    const share = {
      type: 'share',
      session: { id: 'panel-0007', type: 'still', direct_url: `${siteUrl}/photo.jpg`, site_url: siteUrl },
      share: { id: 'share-panel-0007', type: 'sms', value: '+44 7700 900123' },
      data_capture: { sections: [] },
    };
    expect((await booth.t.post(JSON.stringify(share))).status).toBe(202);

    const code = await get('/api/sessions/panel-0007/qr.svg', { authorization: `Bearer ${admin}` });
    expect(code.status).toBe(200);
    expect(code.headers['content-type']).toBe('image/svg+xml');
    expect(code.headers['cache-control']).toBe('no-store');
    expect(await readQrCode(code.body)).toBe(siteUrl);
    expect((await get('/api/sessions/panel-0007/qr.svg')).status).toBe(401);
    const unknown = await get('/api/sessions/never-captured/qr.svg', { authorization: `Bearer ${admin}` });
    expect(unknown.status).toBe(404);
    expect(json(unknown)).toEqual(UNKNOWN);

    const page = JSON.parse((await get('/api/deliveries?session=panel-0007', { authorization: `Bearer ${admin}` })).body.toString());
    const details = await Promise.all(
      (page as DeliveryPage).items.map(async (d) => {
        const detail = await get(`/api/deliveries/${d.id}`, { authorization: `Bearer ${admin}` });
        return JSON.parse(detail.body.toString()) as DeliveryDetail;
      }),
    );
    expect(details.map((d) => [d.type, d.siteUrl])).toEqual([
      ['share', siteUrl],
      ['session', siteUrl],
    ]);

    await erase({ session: 'panel-0007' });
    const erased = await get(`/api/deliveries/${details[0]!.id}`, { authorization: `Bearer ${admin}` });
    expect((JSON.parse(erased.body.toString()) as DeliveryDetail).siteUrl).toBeNull();
  });
});

async function erase(guest: Record<string, string>): Promise<void> {
  const answer = await fetch(`${booth.t.base}/api/erase`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(guest),
  });
  expect(answer.status, await answer.clone().text()).toBe(200);
}
