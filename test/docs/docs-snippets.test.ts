// The signature checks in docs/receivers.md and docs/webhooks.md, run against real
// deliveries (one of them made during a secret rotation), so the docs cannot drift from the
// signatures the agent makes.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/core/signing.js';
import { Sender, type Target } from '../../src/delivery/sender.js';
import { startReceiver, type Received, type Receiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';

const docs = {
  receivers: readFileSync(new URL('../../docs/receivers.md', import.meta.url), 'utf8'),
  webhooks: readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8'),
};
const snippet = (doc: keyof typeof docs, tag: string) => {
  const match = new RegExp('```' + tag + '\\n([\\s\\S]*?)```').exec(docs[doc]);
  if (!match) throw new Error(`docs/${doc}.md has no \`\`\`${tag} block`);
  return match[1]!;
};

let receiver: Receiver;
let delivery: Received;
/** A delivery made mid-rotation: X-Signature still on the old secret, webhook-signature on both. */
let rotating: Received;
const secret = generateSecret();
const newSecret = generateSecret();
beforeAll(async () => {
  receiver = await startReceiver();
  const sender = new Sender({ userAgent: 'BoothAgent/test', connectTimeoutMs: 2000, attemptTimeoutMs: 2000 });
  const body = Buffer.from('{"type":"share","share":{"value":"Zoë ☕ 写真 🎉"}}', 'utf8');
  const target: Target = {
    url: receiver.url,
    secret,
    previousSecret: null,
    previousSecretUntil: null,
    rotationPending: false,
    ca: receiver.certificate.cert,
    headers: {},
  };
  await sender.send(target, 'msg_docs', body, false);
  await sender.send(
    { ...target, secret: newSecret, previousSecret: secret, previousSecretUntil: Date.now() + 86_400_000, rotationPending: true },
    'msg_docs_rotating',
    body,
    false,
  );
  await sender.close();
  [delivery, rotating] = receiver.requests as [Received, Received];
});
afterAll(() => receiver.close());

interface Case {
  name: string;
  body: string;
  headers: Record<string, string>;
  secret: string;
}

const headersOf = (received: Received) => Object.fromEntries(Object.entries(received.headers).map(([k, v]) => [k, String(v)]));

/** The cases every snippet is run on: real deliveries, a changed body, another secret, a replay. */
function cases(): Case[] {
  const headers = headersOf(delivery);
  return [
    { name: 'genuine', body: delivery.body, headers, secret },
    { name: 'body changed', body: Buffer.concat([delivery.body, Buffer.from(' ')]), headers, secret },
    { name: 'another secret', body: delivery.body, headers, secret: generateSecret() },
    {
      name: 'replayed an hour later',
      body: delivery.body,
      headers: { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 3600) },
      secret,
    },
    { name: 'rotating, old secret', body: rotating.body, headers: headersOf(rotating), secret },
    { name: 'rotating, new secret', body: rotating.body, headers: headersOf(rotating), secret: newSecret },
  ].map((c) => ({ ...c, body: c.body.toString('base64') }));
}

/** What a check must answer for each case, by case name. */
type Expected = Record<string, boolean>;
const both: Expected = {
  genuine: true,
  'body changed': false,
  'another secret': false,
  'replayed an hour later': false,
  // receivers.md checks X-Signature, which stays on the old secret until the rotation is confirmed.
  'rotating, old secret': true,
  'rotating, new secret': false,
};
const xSignature: Expected = { ...both, 'replayed an hour later': true };
const standardWebhooks: Expected = { ...both, 'rotating, new secret': true };

function runNode(code: string, fn: string): boolean[] {
  const file = join(tempDir('docs-node-'), 'verify.cjs');
  writeFileSync(
    file,
    `${code}\nconst cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));\n` +
      `console.log(JSON.stringify(cases.map((c) => ${fn}(Buffer.from(c.body, 'base64'), c.headers, c.secret))));\n`,
  );
  return JSON.parse(execFileSync(process.execPath, [file], { input: JSON.stringify(cases()) }).toString()) as boolean[];
}

function runPython(code: string, fn: string): boolean[] {
  const file = join(tempDir('docs-python-'), 'verify.py');
  writeFileSync(
    file,
    `${code}\nimport base64, json, sys\ncases = json.load(sys.stdin)\n` +
      `print(json.dumps([${fn}(base64.b64decode(c["body"]), c["headers"], c["secret"]) for c in cases]))\n`,
  );
  return JSON.parse(execFileSync('python3', [file], { input: JSON.stringify(cases()) }).toString()) as boolean[];
}

const answers = (results: boolean[]) => Object.fromEntries(cases().map((c, i) => [c.name, results[i]]));
const python = spawnSync('python3', ['--version']).status === 0;

describe('docs/receivers.md', () => {
  it('the Node snippet verifies real deliveries and refuses tampered ones', () => {
    expect(answers(runNode(snippet('receivers', 'js verify-node'), 'verifyBoothAgent'))).toEqual(both);
  });

  it.runIf(python)('the Python snippet verifies real deliveries and refuses tampered ones', () => {
    expect(answers(runPython(snippet('receivers', 'python verify-python'), 'verify_booth_agent'))).toEqual(both);
  });
});

describe('docs/webhooks.md', () => {
  it('the Node X-Signature check accepts real deliveries (replays included: it has no timestamp)', () => {
    expect(answers(runNode(snippet('webhooks', 'js verify-x-signature'), 'verifyXSignature'))).toEqual(xSignature);
  });

  it('the Node Standard Webhooks check accepts either secret during a rotation and refuses replays', () => {
    expect(answers(runNode(snippet('webhooks', 'js verify-standard-webhooks'), 'verifyStandardWebhooks'))).toEqual(standardWebhooks);
  });

  it.runIf(python)('the Python X-Signature check accepts real deliveries', () => {
    expect(answers(runPython(snippet('webhooks', 'python verify-x-signature'), 'verify_x_signature'))).toEqual(xSignature);
  });

  it.runIf(python)('the Python Standard Webhooks check accepts either secret during a rotation and refuses replays', () => {
    expect(answers(runPython(snippet('webhooks', 'python verify-standard-webhooks'), 'verify_standard_webhooks'))).toEqual(
      standardWebhooks,
    );
  });
});
