// What every benchmark with a receiver needs: throwaway folders, a self-signed certificate
// for 127.0.0.1 that the receiver serves and the agent trusts (NODE_EXTRA_CA_CERTS=
// <dir>/cert.pem), the receiver in a process of its own, `booth-agent run` trusting it, and a
// measured side run in a fresh process of its own.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

const CLI = new URL('../dist/booth-agent.js', import.meta.url).pathname;

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

const hookReceiverSource = `
  const { createServer } = require('node:https'); const fs = require('node:fs');
  let count = 0;
  const server = createServer({ cert: fs.readFileSync(process.argv[1] + '/cert.pem'), key: fs.readFileSync(process.argv[1] + '/key.pem') }, (req, res) => {
    req.resume(); req.on('end', () => { count++; res.writeHead(200); res.end('ok'); });
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
  process.on('message', () => process.send(count));
`;

/** A webhook receiver serving the certificate in `certDir`: answers 200 to anything, and counts. */
export const spawnHookReceiver = (certDir) => spawnReceiver(hookReceiverSource, [certDir]);

/** `booth-agent run --port 0` on `dataDir`, trusting the certificate in `certDir`; resolves once it listens. */
export async function spawnBoothAgent(dataDir, certDir, env = {}) {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'run', '--port', '0'], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: join(certDir, 'cert.pem'), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const port = await new Promise((resolve) => {
    const look = () => {
      const m = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out);
      if (m) resolve(Number(m[1]));
      else setTimeout(look, 5);
    };
    look();
  });
  return {
    child,
    port,
    listeningMs: performance.now() - started,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

export const until = async (check, timeoutMs, intervalMs = 50) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('benchmark step timed out');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
};

/** Posts one event to the agent's JSON API with undici (fetch costs the client more CPU than the agent spends on the event). */
export async function postEvent(port, token, body, dispatcher) {
  const res = await request(`http://127.0.0.1:${port}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    ...(dispatcher ? { dispatcher } : {}),
  });
  await res.body.dump();
  return res.statusCode;
}

export const percentile = (values, p) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

/** Runs the script at `moduleUrl` again in a fresh process with `args`; resolves with the JSON it prints. */
export const inFreshProcess = (moduleUrl, args) =>
  new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(moduleUrl), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`bench child ${args[0]} exited ${code}`))));
  });
