// Deliveries through a venue's proxy (HTTPS_PROXY): a real CONNECT proxy on 127.0.0.1.
import { createServer, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/core/signing.js';
import { Sender } from '../../src/delivery/sender.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

let receiver: Receiver;
const tunnels: string[] = [];
const sockets = new Set<Socket>();
const proxy = createServer((client) => {
  sockets.add(client);
  client.once('data', (head) => {
    const target = /^CONNECT ([^ ]+) HTTP/.exec(head.toString())?.[1];
    if (!target) return client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    tunnels.push(target);
    const [host, port] = target.split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
});

beforeAll(async () => {
  receiver = await startReceiver();
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => proxy.close(resolve));
  await receiver.close();
});

describe('HTTPS_PROXY', () => {
  it('sends signed deliveries through the proxy', async () => {
    const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
    process.env.HTTPS_PROXY = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    const sender = new Sender({ userAgent: 'BoothAgent/test', connectTimeoutMs: 2000, attemptTimeoutMs: 2000, useProxy: true });
    try {
      const target = {
        url: receiver.url,
        secret: generateSecret(),
        previousSecret: null,
        previousSecretUntil: null,
        rotationPending: false,
        ca: receiver.certificate.cert,
        headers: {},
      };
      const sent = await sender.send(target, 'msg_proxy', Buffer.from('{"type":"session"}'), false);
      expect(sent.outcome).toMatchObject({ kind: 'answered', status: 200 });
      expect(tunnels).toEqual([`127.0.0.1:${receiver.port}`]);
      expect(receiver.requests.at(-1)!.headers['webhook-id']).toBe('msg_proxy');
    } finally {
      await sender.close();
      Object.assign(process.env, saved);
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    }
  });
});
