// An endpoint's extra headers (docs/webhooks.md, "Extra headers"), against a real HTTPS
// receiver: they arrive beside the contract's own, which they cannot replace, and their
// values appear nowhere the operator or the logs can see.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractExamples } from '../helpers/contract.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'sk-live-5f1c9e0b7d';

let t: TestAgent;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  t = await startTestAgent();
});

afterAll(async () => {
  await t.stop();
  await receiver.close();
});

async function admin(path: string): Promise<string> {
  const response = await fetch(`${t.base}${path}`, { headers: { authorization: `Bearer ${t.agent.store.settings.token('admin_token')}` } });
  expect(response.status).toBe(200);
  return response.text();
}

describe('extra headers', () => {
  it('arrive with each delivery beside the signature, and their values show nowhere', async () => {
    const endpoint = t.addEndpoint(receiver.url, {
      ca: receiver.certificate.cert,
      headers: { 'X-Api-Key': KEY, Authorization: `Bearer ${KEY}` },
    });
    const posted = await t.post(contractExamples.share!);
    expect(posted.status).toBe(202);
    const got = await waitFor('the delivery', () => receiver.requests[0]);
    expect(got.headers['x-api-key']).toBe(KEY);
    expect(got.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['webhook-signature']).toMatch(/^v1,/);

    const delivery = await waitFor('delivered', () => t.agent.store.views.list({ status: 'delivered', limit: 1 })[0]);
    const seen = [await admin('/api/state'), await admin('/api/deliveries'), await admin(`/api/deliveries/${delivery.id}`)];
    expect(seen.join('\n')).toContain('X-Api-Key');
    for (const answer of seen) expect(answer).not.toContain(KEY);

    const listed = await runCli(['endpoint', 'list', '--data-dir', t.dataDir]);
    expect(listed.stdout).toContain(`${endpoint.id}`);
    expect(listed.stdout).toContain('headers X-Api-Key, Authorization');
    expect(listed.stdout + listed.stderr).not.toContain(KEY);

    const logs = readdirSync(join(t.dataDir, 'logs')).map((file) => readFileSync(join(t.dataDir, 'logs', file), 'utf8'));
    expect(logs.join('\n')).toContain(delivery.id);
    expect(logs.join('\n')).not.toContain(KEY);
  });

  it.each([
    ['X-Signature: v1=forged', '--header: X-Signature is set by Booth Agent on every delivery and cannot be replaced'],
    ['webhook-timestamp: 1', '--header: webhook-timestamp is set by Booth Agent on every delivery and cannot be replaced'],
    ['Content-Length: 5', '--header: Content-Length is set by Booth Agent'],
    ['X-Booth-Agent-Test: false', '--header: X-Booth-Agent-Test is set by Booth Agent'],
    ['Bad(Name): 1', '--header: "Bad(Name)" is not a valid header name'],
    ['X-Api-Key', "--header must be written 'Name: value'"],
  ])('the command line refuses --header %j with exit 2 and adds nothing', async (header, message) => {
    const before = t.agent.store.endpoints.list().length;
    const result = await runCli(['endpoint', 'add', 'https://hooks.example.com/x', '--header', header, '--data-dir', t.dataDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(t.agent.store.endpoints.list()).toHaveLength(before);
  });
});
