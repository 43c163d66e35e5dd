// The booth-agent command as operators and scripts run it: real child processes on a real
// data folder.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
  return {
    dir,
    cli: (args, input) =>
      runCli(['--data-dir', dir, ...args], { input: input ?? '', env: { NODE_EXTRA_CA_CERTS: receiver.certificate.file } }),
  };
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
    [['endpoint', 'edit', 'ep_nope', '--url', 'https://hooks.example.com/y'], 'there is no endpoint ep_nope'],
    [['endpoint', 'edit', 'ep_nope'], 'say what to change'],
    [['endpoint', 'rotate-secret', 'ep_nope'], 'there is no endpoint ep_nope'],
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
    [['export', '--since', 'yesterday'], '--since: must be an ISO 8601 date or date-time'],
    [['export', '--until', '2026-06-01', '--since', '2026-06-02'], '--until: must be later than since'],
    [['export', '--event', 'one'], "--event: must be the organiser's event id"],
    [['export', '--type', 'share', '--type', 'selfie'], "argument 'selfie' is invalid"],
    [['export', '--format', 'xlsx'], "argument 'xlsx' is invalid"],
    [['export', '--output', '/nonexistent/x.csv'], 'cannot write /nonexistent/x.csv'],
    [['replay'], "required option '--endpoint <id>' not specified"],
    [['replay', '--endpoint', 'ep_nope'], 'there is no endpoint ep_nope'],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['erase'], 'give exactly one of --email, --phone or --session'],
    [['erase', '--email', 'a@example.com', '--session', 's1'], 'give exactly one of --email, --phone or --session'],
    [['erase', '--email', 'jane'], '--email: is not an email address'],
    [['erase', '--phone', '12'], '--phone: is not a phone number'],
    [['closeout', '--wait', 'soon'], '--wait must be a duration such as 30s, 5m or 1h'],
    [['closeout', '--wait', '2d'], '--wait must be a duration'],
    [['closeout', '--event', 'x'], '--event: must be an event id'],
  ])('%j', async (args, message) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('emit reports every schema problem with its path', async () => {
    const result = await cli(
      ['emit', '-'],
      '{"type":"share","session":{"id":"x","type":"still"},"share":{"id":"s","type":"fax","value":"v"},"data_capture":{"sections":[]}}',
    );
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
    expect(endpoint).toMatchObject({
      id: expect.stringMatching(/^ep_/),
      url: receiver.url,
      secret: expect.stringMatching(/^whsec_/),
      types: ['session', 'share'],
    });

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

    // With no agent running there is a token, but no URL to give: nothing listens.
    const token = await cli(['--json', 'token']);
    expect(JSON.parse(token.stdout)).toEqual({ token: expect.any(String), running: false, port: null, urls: null });
    const plainToken = await cli(['token']);
    expect(plainToken.stdout.trim()).toBe(JSON.parse(token.stdout).token);
    expect(plainToken.stderr).toContain('no agent is running on this data folder');
    const panel = await cli(['panel-url']);
    expect(panel.code).toBe(1);
    expect(panel.stdout).toBe('');
    expect(panel.stderr).toContain('no agent is running on this data folder');

    const removed = await cli(['endpoint', 'remove', endpoint.id]);
    expect(removed.stdout).toContain('1 undelivered deliveries to it were dropped');
  });

  it('edits an endpoint, rotates its secret, and pauses delivery, refusing bad changes with the flag named', async () => {
    const { cli } = folder();
    const endpoint = JSON.parse((await cli(['--json', 'endpoint', 'add', receiver.url, '--types', 'session'])).stdout);

    const edited = await cli([
      'endpoint',
      'edit',
      endpoint.id,
      '--types',
      'share,survey',
      '--strict-order',
      '--ca',
      receiver.certificate.file,
    ]);
    expect(edited.code).toBe(0);
    expect(edited.stdout.trim()).toBe(`${endpoint.id}  ${receiver.url}  [share,survey] strict order own CA  enabled`);
    const back = JSON.parse(
      (await cli(['--json', 'endpoint', 'edit', endpoint.id, '--types', 'all', '--no-strict-order', '--no-ca'])).stdout,
    );
    expect(back).toMatchObject({ types: null, strictOrder: false, hasCa: false });

    const badUrl = await cli(['endpoint', 'edit', endpoint.id, '--url', 'http://hooks.example.com/x']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('URL: HTTPS is required');
    const badTypes = await cli(['endpoint', 'edit', endpoint.id, '--types', 'selfie']);
    expect(badTypes.code).toBe(2);
    expect(badTypes.stderr).toContain('--types: unknown type "selfie"');
    expect(JSON.parse((await cli(['--json', 'endpoint', 'list'])).stdout)[0]).toMatchObject({ url: receiver.url, types: null });

    const rotated = JSON.parse((await cli(['--json', 'endpoint', 'rotate-secret', endpoint.id])).stdout);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(endpoint.secret);
    expect((await cli(['endpoint', 'secret', endpoint.id])).stdout).toBe(`${rotated.secret}\nprevious ${endpoint.secret}\n`);
    expect(rotated.endpoint).toMatchObject({ id: endpoint.id, rotationPending: true });
    expect((await cli(['endpoint', 'confirm-rotation', endpoint.id])).code).toBe(0);
    const twice = await cli(['endpoint', 'confirm-rotation', endpoint.id]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('has no rotation to confirm');

    expect((await cli(['pause'])).stdout.trim()).toBe('delivery paused');
    expect((await cli(['config', 'get', 'paused'])).stdout.trim()).toBe('true');
    expect(JSON.parse((await cli(['--json', 'resume'])).stdout)).toEqual({ paused: false });
  });

  it("sets an endpoint's rate with --max-per-minute N and takes it away with off, as the docs say", async () => {
    const { cli } = folder();
    expect((await cli(['endpoint', 'add', receiver.url, '--max-per-minute', '30'])).code).toBe(0);
    const limited = JSON.parse((await cli(['--json', 'endpoint', 'list'])).stdout)[0];
    expect(limited.maxPerMinute).toBe(30);

    const off = await cli(['--json', 'endpoint', 'edit', limited.id, '--max-per-minute', 'off']);
    expect(off.stderr).toBe('');
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({ id: limited.id, maxPerMinute: null });

    const unlimited = await cli(['--json', 'endpoint', 'add', 'https://hooks.example.com/x', '--max-per-minute', 'off']);
    expect(unlimited.code).toBe(0);
    expect(
      JSON.parse((await cli(['--json', 'endpoint', 'list'])).stdout).map((e: { maxPerMinute: number | null }) => e.maxPerMinute),
    ).toEqual([null, null]);
  });

  it('exports to a file and to standard output, and replays to an endpoint added later', async () => {
    const { dir, cli } = folder();
    const first = JSON.parse((await cli(['--json', 'endpoint', 'add', receiver.url])).stdout);
    const share = JSON.parse(contractExamples.share!);
    share.data_capture.sections[0].fields[0].value = '=HYPERLINK("http://evil","x")';
    expect((await cli(['emit', '-'], JSON.stringify(share))).code).toBe(0);
    expect((await cli(['emit', '-'], contractExamples.session!)).code).toBe(0);

    const file = join(dir, 'leads.csv');
    const written = await cli(['export', '--output', file]);
    expect(written.code).toBe(0);
    expect(written.stdout.trim()).toBe(`exported 2 events to ${file}`);
    const csv = readFileSync(file, 'utf8');
    expect(csv.startsWith('\uFEFFcaptured_at,type,event_id,')).toBe(true);
    expect(csv).toContain(`share,1,abc123xyz,still,`);
    expect(csv).toContain(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(csv).toContain(`${receiver.url} status`);
    const stdout = await cli(['export']);
    expect(stdout.stdout).toBe(csv);
    expect(JSON.parse((await cli(['--json', 'export', '--type', 'session', '--output', file])).stdout)).toEqual({
      output: file,
      format: 'csv',
      rows: 1,
    });
    const jsonl = (await cli(['export', '--format', 'jsonl', '--type', 'share'])).stdout.trim().split('\n');
    expect(jsonl).toHaveLength(1);
    expect(JSON.parse(jsonl[0]!)).toMatchObject({
      payload: { type: 'share', share: { id: 'share789' } },
      deliveries: [{ endpointId: first.id }],
    });

    const later = JSON.parse((await cli(['--json', 'endpoint', 'add', 'https://hooks.example.com/later', '--types', 'session'])).stdout);
    const replayed = await cli(['replay', '--endpoint', later.id]);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toBe(
      `queued 1 event to ${later.id} (https://hooks.example.com/later)\n` +
        'left out 1 event of types it does not subscribe to (it takes session)\n',
    );
    expect(JSON.parse((await cli(['--json', 'replay', '--endpoint', later.id, '--again'])).stdout)).toMatchObject({
      queued: 0,
      resent: 0,
      skipped: { onItsWay: 1, notSubscribed: 1 },
    });
    expect((await cli(['endpoint', 'disable', later.id])).code).toBe(0);
    const disabled = await cli(['replay', '--endpoint', later.id]);
    expect(disabled.code).toBe(2);
    expect(disabled.stderr).toContain(`endpoint ${later.id} is disabled (disabled by the operator); enable it before sending it events`);
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
    // Every command names the port the agent listens on (--port 0: one the system chose).
    expect((await cli(['status'])).stdout).toContain(`agent      running on http://127.0.0.1:${agent.port}`);
    const panel = JSON.parse((await cli(['--json', 'panel-url'])).stdout);
    expect(panel).toEqual({ url: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:${agent.port}/#token=.+$`)), port: agent.port });
    const token = JSON.parse((await cli(['--json', 'token'])).stdout);
    expect(token).toMatchObject({
      running: true,
      port: agent.port,
      urls: { pathUrl: `http://127.0.0.1:${agent.port}/t/${token.token}/v1/events` },
    });
    const adminToken = panel.url.split('#token=')[1];
    expect(adminToken).not.toBe(token.token);
    const state = await fetch(`http://127.0.0.1:${agent.port}/api/state`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(state.status).toBe(200);
    expect(((await state.json()) as { ingest: { url: string } }).ingest.url).toBe(`http://127.0.0.1:${agent.port}/v1/events`);
    // The command runs bundled (scripts/bundle.mjs), from another folder than its modules: it
    // still finds the panel's files and its own version.
    const page = await fetch(`http://127.0.0.1:${agent.port}/`);
    expect(await page.text()).toContain('<script type="module" src="/js/app.js"></script>');
    expect((await fetch(`http://127.0.0.1:${agent.port}/js/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect((await cli(['--version'])).stdout.trim()).toBe(pkg.version);

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
    const lines = agent
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.some((l) => l.msg === 'attempt' && l.to === 'delivered' && l.status === 200)).toBe(true);
    expect((await cli(['status'])).stdout).toContain('agent      not running');
    expect(existsSync(join(dir, 'agent.json'))).toBe(false);
    expect((await cli(['panel-url'])).code).toBe(1);
  });

  it('does not trust the port record a killed agent left behind', async () => {
    const { dir, cli } = folder();
    const agent = await spawnAgent(dir);
    children.push(agent);
    expect(JSON.parse(readFileSync(join(dir, 'agent.json'), 'utf8'))).toMatchObject({ port: agent.port, pid: agent.child.pid });
    agent.child.kill('SIGKILL');
    await agent.exited;
    expect(existsSync(join(dir, 'agent.json'))).toBe(true);

    expect((await cli(['status'])).stdout).toContain('agent      not running');
    const panel = await cli(['panel-url']);
    expect(panel.code).toBe(1);
    expect(panel.stderr).toContain('no agent is running on this data folder');
    expect(existsSync(join(dir, 'agent.json'))).toBe(false);

    const again = await spawnAgent(dir);
    children.push(again);
    expect(JSON.parse((await cli(['--json', 'panel-url'])).stdout).port).toBe(again.port);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});
