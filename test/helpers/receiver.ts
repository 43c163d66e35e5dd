// A real HTTPS receiver on 127.0.0.1 with a self-signed certificate, recording every
// request's headers and raw body bytes, and answering as each test tells it to.
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { generateSecret } from '../../src/core/signing.js';
import type { NewEndpoint } from '../../src/store/endpoints.js';
import { testCertificate, type TestCertificate } from './tls.js';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

export type Answer =
  | { status: number; headers?: Record<string, string>; body?: string | Buffer; delayMs?: number }
  /** Never answer (the socket stays open until the receiver closes). */
  | 'hang'
  /** Send the status line and part of a body, then reset the connection. */
  | 'reset-mid-response'
  /** Reset the connection without answering. */
  | 'reset';

export type Handler = (request: Received, index: number) => Answer;

export interface Receiver {
  port: number;
  url: string;
  certificate: TestCertificate;
  requests: Received[];
  handle(handler: Handler): void;
  close(): Promise<void>;
}

export async function startReceiver(options: { port?: number; handler?: Handler } = {}): Promise<Receiver> {
  const certificate = await testCertificate();
  const requests: Received[] = [];
  const sockets = new Set<Socket>();
  let handler: Handler = options.handler ?? (() => ({ status: 200, body: 'ok' }));
  const server: Server = createServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received: Received = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      requests.push(received);
      const answer = handler(received, requests.length - 1);
      if (answer === 'hang') return;
      if (answer === 'reset') return req.socket.destroy();
      if (answer === 'reset-mid-response') {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial');
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      setTimeout(() => {
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body ?? '');
      }, answer.delayMs ?? 0);
    });
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `https://127.0.0.1:${port}/hook`,
    certificate,
    requests,
    handle: (next) => {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An endpoint that delivers to `receiver`, for every type, trusting its certificate. */
export function endpointTo(receiver: Receiver): NewEndpoint {
  return { url: receiver.url, secret: generateSecret(), types: null, strictOrder: false, ca: receiver.certificate.cert };
}
