// The booth-agent command as operators and scripts run it: real child processes on a real
// data folder.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configure, FAST } from '../helpers/agent.js';
import { runCli, spawnAgent, type AgentProcess } from '../helpers/cli.js';
import { contractExamples } from '../helpers/contract.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

let receiver: Receiver;
const children: AgentProcess[] = [];
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await receiver.close();
});

function folder(): { dir: string; cli: (args: string[], input?: string) => ReturnType<typeof runCli> } {
  const dir = tempDir('cli-');
  configure(dir, FAST);
  return { dir, cli: (args, input) => runCli(['--data-dir', dir, ...args], { input: input ?? '', env: { NODE_EXTRA_CA_CERTS: receiver.certificate.file } }) };
}

describe('bad input: exit 2 and a message that says what is wrong', () => {
  const { cli } = folder();
  it.each([
    [['endpoint', 'add', 'http://hooks.example.com/x'], 'HTTPS is required'],
    [['endpoint', 'add', 'not a url'], 'is not a URL'],
    [['endpoint', 'add', 'https://hooks.example.com/x', '--types', 'session,selfie'], 'unknown type "selfie"'],
    [['endpoint', 'add', 'https://hooks.example.com/x', '--secret', 'hunter2'], '--secret: a secret starts with "whsec_"'],
    [['endpoint', 'add', 'https://hooks.example.com/x', '--ca', '/nonexistent.pem'], 'cannot read the CA file'],
    [['endpoint', 'remove', 'ep_nope'], 'there is no endpoint ep_nope'],
    [['endpoint', 'test', 'ep_nope', '--type', 'vote'], "argument 'vote' is invalid"],
    [['config', 'set', 'port', 'eighty'], 'port must be a number'],
    [['config', 'set', 'max_retries', '-1'], 'max_retries'],
    [['config', 'get', 'colour'], 'unknown setting "colour"'],
    [['deliveries', '--status', 'lost'], "argument 'lost' is invalid"],
    [['deliveries', '--limit', '0'], '--limit must be a whole number'],
    [['retry'], 'give one delivery id, or --failed'],
    [['retry', 'msg_nope'], 'there is no delivery msg_nope'],
    [['run', '--port', '70000'], '--port must be 0 to 65535'],
    [['emit', '/nonexistent.json'], 'cannot read /nonexistent.json'],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('%j', async (args, message) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('emit reports every schema problem with its path', async () => {
    const result = await cli(['emit', '-'], '{"type":"share","session":{"id":"x","type":"still"},"share":{"id":"s","type":"fax","value":"v"},"data_capture":{"sections":[]}}');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('session.direct_url: is required');
    expect(result.stderr).toContain('share.type: must be one of email, sms');
  });
});

describe('endpoints, settings, capture and deliveries', () => {
  it('adds, lists, captures, delivers, retries and removes, with --json for scripts', async () => {
    const { cli } = folder();
    const added = await cli(['--json', 'endpoint', 'add', receiver.url, '--types', 'session,share']);
    expect(added.code).toBe(0);
    const endpoint = JSON.parse(added.stdout);
    expect(endpoint).toMatchObject({ id: expect.stringMatching(/^ep_/), url: receiver.url, secret: expect.stringMatching(/^whsec_/), types: ['session', 'share'] });

    const text = await cli(['endpoint', 'list']);
    expect(text.stdout).toContain(`${endpoint.id}  ${receiver.url}  [session,share]  enabled`);

    expect((await cli(['config', 'set', 'event_id', '42'])).stdout.trim()).toBe('event_id = 42');
    expect((await cli(['config', 'get', 'event_id'])).stdout.trim()).toBe('42');
    expect(JSON.parse((await cli(['--json', 'config', 'get'])).stdout)).toMatchObject({ event_id: 42, port: 7480, max_retries: 3 });

    const payload = JSON.parse(contractExamples.session!);
    delete payload.event_id;
    const file = join(tempDir(), 'session.json');
    writeFileSync(file, JSON.stringify(payload));
    const emitted = await cli(['emit', file]);
    expect(emitted.code).toBe(0);
    expect(emitted.stdout).toMatch(/^captured evt_[0-9A-Z]{26} \(1 delivery\)/);
    const again = await cli(['emit', file]);
    expect(again.stdout).toMatch(/already captured as evt_/);
    const survey = await cli(['--json', 'emit', '-'], contractExamples.survey!);
    expect(JSON.parse(survey.stdout)).toMatchObject({ kind: 'accepted', deliveries: 0 });

    const queued = JSON.parse((await cli(['--json', 'deliveries', '--status', 'queued'])).stdout);
    expect(queued).toHaveLength(1);
    expect((await cli(['retry', queued[0].id])).stderr).toContain('is queued; only failed deliveries can be retried');
    expect((await cli(['retry', '--failed'])).stdout).toContain('0 failed deliveries queued again');

    const status = await cli(['status']);
    expect(status.stdout).toContain('agent      not running');
    expect(status.stdout).toContain('1 queued, 0 waiting, 0 delivered, 0 failed');

    const token = await cli(['--json', 'token']);
    expect(JSON.parse(token.stdout)).toMatchObject({ token: expect.any(String), url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:7480\/t\/.+\/v1\/events$/) });

    const panel = JSON.parse((await cli(['--json', 'panel-url'])).stdout);
    const adminToken = /^http:\/\/127\.0\.0\.1:7480\/#token=(.+)$/.exec(panel.url)?.[1];
    expect(adminToken).toBeTruthy();
    expect(adminToken).not.toBe(JSON.parse(token.stdout).token);

    const removed = await cli(['endpoint', 'remove', endpoint.id]);
    expect(removed.stdout).toContain('1 undelivered deliveries to it were dropped');
  });

  it('verify and test reach a real HTTPS endpoint and say what happened', async () => {
    const { cli } = folder();
    const endpoint = JSON.parse((await cli(['--json', 'endpoint', 'add', receiver.url])).stdout);
    const before = receiver.requests.length;
    const verify = await cli(['endpoint', 'verify', endpoint.id]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`OK: ${receiver.url}`);
    expect(verify.stdout).toContain('TLS: TLSv1.3, certificate trusted.');
    expect(verify.stdout).toMatch(/HTTP 200 in \d+ ms: the endpoint accepted the signed request/);
    expect(verify.stdout).toContain('Clock: the booth and the endpoint agree.');
    const verifyBody = JSON.parse(receiver.requests[before]!.body.toString());
    expect(verifyBody).toEqual({ type: 'verify', event_id: 1, timestamp: expect.any(String) });

    const test = await cli(['--json', 'endpoint', 'test', endpoint.id, '--type', 'competition_win']);
    expect(test.code).toBe(0);
    expect(JSON.parse(test.stdout)).toMatchObject({ status: 'delivered', deliveryId: expect.stringMatching(/^msg_/) });
    const last = receiver.requests[receiver.requests.length - 1]!;
    expect(last.headers['x-booth-agent-test']).toBe('true');
    expect(JSON.parse(last.body.toString())).toMatchObject({ type: 'competition_win', prize: { name: 'Free Coffee' } });
    const listed = JSON.parse((await cli(['--json', 'deliveries'])).stdout);
    expect(listed[0]).toMatchObject({ test: true, status: 'delivered', attempts: [{ statusCode: 200, responseHead: 'ok' }] });
  });

  it('verify says plainly when the endpoint cannot be reached', async () => {
    const { cli } = folder();
    const endpoint = JSON.parse((await cli(['--json', 'endpoint', 'add', 'https://127.0.0.1:1/hook'])).stdout);
    const verify = await cli(['endpoint', 'verify', endpoint.id]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain('Not reached: connection refused by 127.0.0.1:1.');
  });
});

describe('booth-agent run', () => {
  it('delivers what emit puts in the outbox within a second, refuses a second instance, and stops cleanly on SIGTERM', async () => {
    const { dir, cli } = folder();
    await cli(['endpoint', 'add', receiver.url]);
    const agent = await spawnAgent(dir, { NODE_EXTRA_CA_CERTS: receiver.certificate.file });
    children.push(agent);

    const second = await cli(['run', '--port', '0']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('another booth-agent is already running on the data folder');
    expect((await cli(['status'])).stdout).toContain('agent      running');

    const payload = JSON.parse(contractExamples.share!);
    payload.share.id = 'cli-run-share';
    const emitted = await cli(['emit', '-'], JSON.stringify(payload));
    expect(emitted.code).toBe(0);
    const emittedAt = Date.now();
    await waitFor('the emitted event at the receiver', () => receiver.requests.some((r) => r.body.includes('cli-run-share')), 5000);
    expect(Date.now() - emittedAt).toBeLessThan(1500);

    // An attempt in flight when SIGTERM arrives is allowed to finish and is recorded.
    receiver.handle(() => ({ status: 200, delayMs: 600 }));
    payload.share.id = 'in-flight-at-sigterm';
    await cli(['emit', '-'], JSON.stringify(payload));
    await waitFor('the attempt to start', () => receiver.requests.some((r) => r.body.includes('in-flight-at-sigterm')), 5000);
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    receiver.handle(() => ({ status: 200, body: 'ok' }));
    expect(agent.output()).toContain('"msg":"stopped"');
    const delivered = JSON.parse((await cli(['--json', 'deliveries', '--status', 'delivered'])).stdout);
    expect(delivered).toHaveLength(2);
    if (process.platform !== 'win32') {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, 'outbox.db')).mode & 0o777).toBe(0o600);
    }
    const lines = agent.output().trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.some((l) => l.msg === 'attempt' && l.to === 'delivered' && l.status === 200)).toBe(true);
    expect((await cli(['status'])).stdout).toContain('agent      not running');
  });
});
