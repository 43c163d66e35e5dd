// `booth-agent receive`: a tiny HTTPS receiver on 127.0.0.1 for operators to watch
// webhooks arrive, and check their signatures, before their real endpoint exists.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface TryReceiver {
  port: number;
  url: string;
  caFile: string;
  close(): Promise<void>;
}

/** Whether a delivery's signatures check out against any of the candidate secrets. */
export function checkSignatures(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  secrets: string[],
  now: number,
): { xSignature: boolean; standard: boolean; timestampOk: boolean } {
  const header = (name: string) => {
    const value = headers[name];
    return (Array.isArray(value) ? value[0] : value) ?? '';
  };
  const sameHex = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const given = header('webhook-signature')
    .split(' ')
    .map((s) => s.replace(/^v1,/, ''));
  const xSignature = secrets.some((s) => sameHex(createHmac('sha256', s).update(body).digest('hex'), header('x-signature')));
  const standard = secrets.some((s) => {
    const expected = createHmac('sha256', Buffer.from(s.replace(/^whsec_/, ''), 'base64'))
      .update(`${id}.${timestamp}.`)
      .update(body)
      .digest('base64');
    return given.some((g) => sameHex(g, expected));
  });
  return { xSignature, standard, timestampOk: Math.abs(now / 1000 - Number(timestamp)) <= 300 };
}

export async function startTryReceiver(options: {
  port: number;
  dataDir: string;
  secrets: () => string[];
  print: (line: string) => void;
}): Promise<TryReceiver> {
  const caFile = join(options.dataDir, 'receiver-cert.pem');
  const keyFile = join(options.dataDir, 'receiver-key.pem');
  if (!existsSync(caFile) || !existsSync(keyFile)) {
    const made = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 5 * 365 * 86_400_000),
      extensions: [
        { name: 'basicConstraints', cA: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    writeFileSync(keyFile, made.private, { mode: 0o600 });
    writeFileSync(caFile, made.cert);
  }
  const server = createServer({ cert: readFileSync(caFile), key: readFileSync(keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const secrets = options.secrets();
      const check = checkSignatures(req.headers, body, secrets, Date.now());
      let type = '?';
      try {
        type = String((JSON.parse(body.toString('utf8')) as { type?: unknown }).type);
      } catch {
        // shown below as it came
      }
      const verdict = (ok: boolean) => (secrets.length === 0 ? 'not checked (no secret known)' : ok ? 'valid' : 'INVALID');
      options.print(
        [
          `${new Date().toISOString()}  ${req.method} ${req.url}  ${type}${req.headers['x-booth-agent-test'] ? ' (test)' : ''}  ${req.headers['webhook-id'] ?? ''}`,
          `  X-Signature: ${verdict(check.xSignature)} · webhook-signature: ${verdict(check.standard)} · timestamp ${check.timestampOk ? 'fresh' : 'more than 5 min off'}`,
          `  ${body.toString('utf8')}`,
        ].join('\n'),
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"received":true}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `https://127.0.0.1:${port}/`,
    caFile,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
