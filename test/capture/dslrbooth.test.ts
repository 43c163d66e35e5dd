// Realistic dslrBooth trigger sequences against a real agent and a real HTTPS receiver.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent.js';
import { eraseGuest } from '../../src/operations/erase.js';
import { configure, FAST, startTestAgent, type TestAgent } from '../helpers/agent.js';
import { holding } from '../helpers/files.js';
import { endpointTo, startReceiver, type Receiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

let receiver: Receiver;
const agents: { stop(): Promise<void> }[] = [];
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  receiver.requests.splice(0);
});

const SETTINGS = {
  event_id: 77,
  device_id: 12,
  device_name: 'Ballroom booth',
  device_info: 'Windows 11',
  media_url_template: 'https://media.example.com/{event_id}/{date}/{file}',
};

async function booth(settings = {}): Promise<TestAgent> {
  const t = await startTestAgent({ ...SETTINGS, ...settings });
  agents.push(t);
  t.addEndpoint(receiver.url, { ca: receiver.certificate.cert });
  return t;
}

/** One trigger, as dslrBooth sends it; returns how long the answer took. */
async function trigger(base: string, token: string, eventType: string, ...params: string[]): Promise<number> {
  const query = new URLSearchParams({ event_type: eventType });
  params.forEach((p, i) => query.set(`param${i + 1}`, p));
  const started = performance.now();
  const response = await fetch(`${base}/t/${token}/dslrbooth?${query}`);
  const took = performance.now() - started;
  expect(response.status).toBe(200);
  expect(await response.text()).toBe('ok');
  return took;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));
const payloads = () => receiver.requests.map((r) => JSON.parse(r.body.toString()));

describe('dslrBooth triggers', () => {
  it("a GIF session with an upload: one session webhook with the booth's own URL, every answer fast", async () => {
    const t = await booth();
    const times: number[] = [];
    const send = async (type: string, ...params: string[]) => times.push(await trigger(t.base, t.token, type, ...params));
    await send('session_start', 'GIF');
    await send('countdown_start');
    await send('countdown', '3');
    await send('capture_start');
    await send('file_download', 'IMG_0001.JPG');
    await send(
      'processing_start',
      'C:\\dslrBooth\\Originals\\IMG_0001.JPG',
      'C:\\dslrBooth\\Originals\\IMG_0002.JPG',
      'C:\\dslrBooth\\Prints\\20261127_210405.gif',
    );
    await send('sharing_screen');
    await send(
      'file_upload',
      'C:\\dslrBooth\\Prints\\20261127_210405.gif',
      'https://gallery.dslrbooth.example/s/AbC123',
      'gif',
      'Smith wedding',
    );
    await send('session_end');
    await waitFor('the session webhook', () => receiver.requests.length === 1);
    await settle();
    expect(receiver.requests).toHaveLength(1);
    const [payload] = payloads();
    expect(payload).toEqual({
      type: 'session',
      event_id: 77,
      timestamp: expect.any(String),
      session: {
        id: expect.stringMatching(/^12-[0-9a-z]{26}$/),
        direct_url: 'https://gallery.dslrbooth.example/s/AbC123',
        site_url: 'https://gallery.dslrbooth.example/s/AbC123',
        type: 'gif',
        device: { id: 12, name: 'Ballroom booth', device_info: 'Windows 11' },
      },
    });
    console.info(
      `dslrBooth trigger answers: max ${Math.max(...times).toFixed(1)} ms, median ${times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!.toFixed(1)} ms`,
    );
    expect(Math.max(...times)).toBeLessThan(500);
  });

  it('a print session without an upload: the URL comes from the media URL template', async () => {
    const t = await booth();
    await trigger(t.base, t.token, 'session_start', 'Print');
    await trigger(t.base, t.token, 'processing_start', 'C:\\dslrBooth\\Originals\\a.jpg', 'C:\\dslrBooth\\Prints\\print 1.jpg');
    await trigger(t.base, t.token, 'printing', 'C:\\dslrBooth\\Prints\\print 1.jpg', '2', 'DNP DS620');
    await trigger(t.base, t.token, 'session_end');
    await waitFor('the session webhook', () => receiver.requests.length === 1);
    const [payload] = payloads();
    const day = new Date().toISOString().slice(0, 10);
    expect(payload.session).toMatchObject({ type: 'still', direct_url: `https://media.example.com/77/${day}/print%201.jpg` });
  });

  it.each([
    ['Video', 'video'],
    ['Boomerang', 'gif'],
    ['PrintAndGIF', 'still'],
  ])('maps booth mode %s to session type %s', async (mode, type) => {
    const t = await booth();
    await trigger(t.base, t.token, 'session_start', mode);
    await trigger(t.base, t.token, 'processing_start', 'C:\\out\\final.mp4');
    await trigger(t.base, t.token, 'session_end');
    await waitFor('the session webhook', () => receiver.requests.length === 1);
    expect(payloads()[0].session.type).toBe(type);
  });

  it('a cancelled session, a stray session_end and unknown events send nothing and break nothing', async () => {
    const t = await booth();
    await trigger(t.base, t.token, 'session_end');
    await trigger(t.base, t.token, 'session_start', 'Print');
    await trigger(t.base, t.token, 'countdown_start');
    await trigger(t.base, t.token, 'selfie_mirror_on', 'x');
    await trigger(t.base, t.token, 'session_end');
    await trigger(t.base, t.token, 'printing', 'C:\\stray.jpg');
    await trigger(t.base, t.token, '');
    await settle();
    expect(receiver.requests).toHaveLength(0);
    expect(t.agent.store.db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(0);
    const outcomes = t.agent.store.db.prepare('SELECT outcome FROM dslr_sessions').pluck().all();
    expect(outcomes).toEqual(['no final file (cancelled?): nothing sent']);
  });

  it('a second session_start before session_end sends the first session if it had a file', async () => {
    const t = await booth();
    await trigger(t.base, t.token, 'session_start', 'Print');
    await trigger(t.base, t.token, 'processing_start', 'C:\\out\\first.jpg');
    await trigger(t.base, t.token, 'session_start', 'GIF');
    await trigger(t.base, t.token, 'processing_start', 'C:\\out\\second.gif');
    await trigger(t.base, t.token, 'session_end');
    await waitFor('two session webhooks', () => receiver.requests.length === 2);
    const sessions = payloads().map((p) => p.session);
    expect(sessions.map((s) => s.direct_url).sort()).toEqual(
      ['first.jpg', 'second.gif'].map((f) => `https://media.example.com/77/${new Date().toISOString().slice(0, 10)}/${f}`),
    );
    expect(new Set(sessions.map((s) => s.id)).size).toBe(2);
  });

  it('refuses a wrong token, and says why when there is no URL for the media', async () => {
    const t = await booth({ media_url_template: null });
    expect((await fetch(`${t.base}/t/wrong/dslrbooth?event_type=session_start`)).status).toBe(401);
    await trigger(t.base, t.token, 'session_start', 'Print');
    await trigger(t.base, t.token, 'processing_start', 'C:\\out\\x.jpg');
    await trigger(t.base, t.token, 'session_end');
    await settle();
    expect(receiver.requests).toHaveLength(0);
    expect(t.agent.store.db.prepare('SELECT outcome FROM dslr_sessions').pluck().get()).toMatch(
      /not sent: no URL for x\.jpg: set media_url_template/,
    );
  });

  it("never writes a trigger's parameters, which can name a guest, to the logs; an erase removes the session's record", async () => {
    const t = await booth({ media_url_template: null });
    const file = 'C:\\dslrBooth\\Prints\\Jane.Doe@Example.com +44 7700 900123.jpg';
    await trigger(t.base, t.token, 'printing', file, '1', 'Printer');
    await trigger(t.base, t.token, 'guest_registered', 'jane.doe@example.com', '+44 7700 900123');
    await trigger(t.base, t.token, 'session_start', 'Print');
    await trigger(t.base, t.token, 'processing_start', file);
    await trigger(t.base, t.token, 'session_end');
    await settle();
    const outcome = t.agent.store.db.prepare('SELECT outcome FROM dslr_sessions').pluck().get();
    expect(outcome).toMatch(/^not sent: no URL for Jane\.Doe@Example\.com \+44 7700 900123\.jpg/);
    expect((await eraseGuest(t.agent.operations, { email: 'jane.doe@example.com' })).counts.dslrSessions).toBe(1);
    expect(t.agent.store.db.prepare('SELECT COUNT(*) FROM dslr_sessions').pluck().get()).toBe(0);
    await t.stop();
    agents.splice(0);

    const logs = join(t.dataDir, 'logs');
    const lines = readFileSync(join(logs, 'agent.log'), 'utf8');
    expect(lines).toContain('"outcome":"not sent: no URL for the final file: set media_url_template');
    expect(lines).toContain('"dslrbooth":"guest_registered"');
    for (const text of ['jane.doe@', '7700 900123']) expect(holding(logs, text)).toEqual([]);
  });

  it('survives an agent restart in the middle of a booth session', async () => {
    const dataDir = tempDir('dslr-restart-');
    configure(dataDir, { ...FAST, ...SETTINGS });
    const first = await startAgent({ dataDir, port: 0, managedConfig: [] });
    first.store.endpoints.add(endpointTo(receiver), Date.now());
    const token = first.store.settings.token('ingest_token');
    await trigger(`http://127.0.0.1:${first.port}`, token, 'session_start', 'GIF');
    await trigger(`http://127.0.0.1:${first.port}`, token, 'processing_start', 'C:\\out\\restart.gif');
    await settle();
    await first.stop();
    const second = await startAgent({ dataDir, port: 0, managedConfig: [] });
    agents.push(second);
    await trigger(`http://127.0.0.1:${second.port}`, token, 'file_upload', 'C:\\out\\restart.gif', 'https://g.example/r', 'gif', '');
    await trigger(`http://127.0.0.1:${second.port}`, token, 'session_end');
    await waitFor('the session webhook', () => receiver.requests.length === 1);
    expect(payloads()[0].session).toMatchObject({ type: 'gif', direct_url: 'https://g.example/r' });
  });
});
