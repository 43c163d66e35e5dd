// "Can the endpoint be reached?" answered without sending anything: a name lookup, a TCP
// connection and a TLS handshake. This is the connectivity check of an endpoint whose
// deliveries are waiting; it has no side effect at the receiver, so it can run every
// minute for days without filling anyone's logs.
import { isIP } from 'node:net';
import { connect, rootCertificates } from 'node:tls';
import { classify } from './sender.js';

export type Reachability =
  { ok: true; address: string; tlsProtocol: string | null; durationMs: number } | { ok: false; error: string; durationMs: number };

export function checkReachable(url: string, ca: string | null, timeoutMs: number): Promise<Reachability> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(port || 443),
      ...(isIP(host) ? {} : { servername: host }),
      ...(ca ? { ca: [...rootCertificates, ca] } : {}),
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const result = { ok: true as const, address: socket.remoteAddress ?? host, tlsProtocol: socket.getProtocol(), durationMs: elapsed() };
      socket.end();
      resolve(result);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      const outcome = classify(error, url, { connectTimeoutMs: timeoutMs, attemptTimeoutMs: timeoutMs });
      resolve({ ok: false, error: 'error' in outcome ? outcome.error : String(error), durationMs: elapsed() });
    });
  });
}
