// The signature checks in docs/receivers.md, run against a real delivery, so the docs
// cannot drift from the signatures the agent makes.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/core/signing.js';
import { Sender } from '../../src/delivery/sender.js';
import { startReceiver, type Received, type Receiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';

const doc = readFileSync(new URL('../../docs/receivers.md', import.meta.url), 'utf8');
const snippet = (tag: string) => {
  const match = new RegExp('```' + tag + '\\n([\\s\\S]*?)```').exec(doc);
  if (!match) throw new Error(`docs/receivers.md has no \`\`\`${tag} block`);
  return match[1]!;
};

let receiver: Receiver;
let delivery: Received;
const secret = generateSecret();
beforeAll(async () => {
  receiver = await startReceiver();
  const sender = new Sender({ userAgent: 'BoothAgent/test', connectTimeoutMs: 2000, attemptTimeoutMs: 2000 });
  const body = Buffer.from('{"type":"share","share":{"value":"Zoë ☕ 写真 🎉"}}', 'utf8');
  await sender.send({ url: receiver.url, secret, previousSecret: null, previousSecretUntil: null, rotationPending: false, ca: receiver.certificate.cert }, 'msg_docs', body, false);
  await sender.close();
  delivery = receiver.requests[0]!;
});
afterAll(() => receiver.close());

/** The cases every snippet must get right: the real delivery, a changed body, another secret. */
function cases() {
  const headers = Object.fromEntries(Object.entries(delivery.headers).map(([k, v]) => [k, String(v)]));
  return [
    { name: 'genuine', body: delivery.body, headers, secret, expected: true },
    { name: 'body changed', body: Buffer.concat([delivery.body, Buffer.from(' ')]), headers, secret, expected: false },
    { name: 'another secret', body: delivery.body, headers, secret: generateSecret(), expected: false },
    { name: 'replayed an hour later', body: delivery.body, headers: { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 3600) }, secret, expected: false },
  ].map((c) => ({ ...c, body: c.body.toString('base64') }));
}

describe('docs/receivers.md', () => {
  it('the Node snippet verifies real deliveries and refuses tampered ones', () => {
    const dir = tempDir('docs-node-');
    const file = join(dir, 'verify.cjs');
    writeFileSync(
      file,
      `${snippet('js verify-node')}\nconst cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));\n` +
        `console.log(JSON.stringify(cases.map((c) => verifyBoothAgent(Buffer.from(c.body, 'base64'), c.headers, c.secret))));\n`,
    );
    const all = cases();
    const out = execFileSync(process.execPath, [file], { input: JSON.stringify(all) }).toString();
    expect(JSON.parse(out)).toEqual(all.map((c) => c.expected));
  });

  const python = spawnSync('python3', ['--version']).status === 0;
  it.runIf(python)('the Python snippet verifies real deliveries and refuses tampered ones', () => {
    const dir = tempDir('docs-python-');
    const file = join(dir, 'verify.py');
    writeFileSync(
      file,
      `${snippet('python verify-python')}\nimport json, sys\ncases = json.load(sys.stdin)\n` +
        `print(json.dumps([verify_booth_agent(base64.b64decode(c["body"]), c["headers"], c["secret"]) for c in cases]))\n`,
    );
    const all = cases();
    const out = execFileSync('python3', [file], { input: JSON.stringify(all) }).toString();
    expect(JSON.parse(out)).toEqual(all.map((c) => c.expected));
  });
});
