// What every benchmark with a receiver needs: throwaway folders, a self-signed certificate
// for 127.0.0.1 that the receiver serves and the agent trusts (NODE_EXTRA_CA_CERTS=
// <dir>/cert.pem), and the receiver in a process of its own.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export const temp = (name) => mkdtempSync(join(tmpdir(), `booth-bench-${name}-`));

/** A folder holding cert.pem and key.pem for 127.0.0.1. */
export async function loopbackCertificate() {
  const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const dir = temp('cert');
  writeFileSync(join(dir, 'cert.pem'), pems.cert);
  writeFileSync(join(dir, 'key.pem'), pems.private);
  return dir;
}

/**
 * Runs `source` (a script that listens on 127.0.0.1, prints `{"port"}` as its first line,
 * and answers any IPC message with a count) in a process of its own, so the receiver
 * competes with neither side. `args` are its argv.
 */
export async function spawnReceiver(source, args) {
  const child = spawn(process.execPath, ['-e', source, ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const line = await new Promise((resolve) => child.stdout.once('data', resolve));
  return {
    port: JSON.parse(String(line)).port,
    count: () =>
      new Promise((resolve) => {
        child.once('message', resolve);
        child.send('count');
      }),
    stop: () => child.kill(),
  };
}
