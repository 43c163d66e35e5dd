// Secrets at rest: sealed with the desktop app's key, plain headless, never silently wrong.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent.js';
import { generateSecret } from '../../src/core/signing.js';
import { keyedBox, PLAIN_BOX, SecretsLockedError } from '../../src/store/secret-box.js';
import { openStore } from '../../src/store/store.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const key = randomBytes(32);
const box = keyedBox(key);

describe('keyedBox', () => {
  it('seals so that only the same key opens', () => {
    // Long enough that base64 ciphertext cannot contain it by chance (a 3-letter one did).
    const secret = 'whsec_the-plain-text-of-this-secret';
    const sealed = box.seal(secret);
    expect(sealed).toMatch(/^sealed:v1:/);
    expect(sealed).not.toContain('the-plain-text');
    expect(box.seal(secret)).not.toBe(sealed);
    expect(box.open(sealed)).toBe(secret);
    expect(keyedBox(randomBytes(32)).open(sealed)).toBeNull();
    expect(PLAIN_BOX.open(sealed)).toBeNull();
    const tampered = sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(box.open(tampered)).toBeNull();
  });

  it('opens a value stored before there was a key', () => {
    expect(box.open('whsec_plain')).toBe('whsec_plain');
  });

  it('refuses a key of the wrong size', () => {
    expect(() => keyedBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe('a store with a key', () => {
  it('keeps no secret or token in the clear, and signs with the real ones', () => {
    const file = join(tempDir(), 'outbox.db');
    const store = openStore(file, { secretBox: box });
    const secret = generateSecret();
    const endpoint = store.endpoints.add({ url: 'https://a.example/h', secret, types: null, strictOrder: false, ca: null }, 1);
    const token = store.settings.token('ingest_token');
    store.endpoints.rotateSecret(endpoint.id, generateSecret(), 2);
    const raw =
      JSON.stringify(store.db.prepare('SELECT * FROM endpoints').all()) + JSON.stringify(store.db.prepare('SELECT * FROM settings').all());
    expect(raw).not.toContain(secret.slice(6));
    expect(raw).not.toContain(token);
    expect(store.endpoints.get(endpoint.id)).toMatchObject({ previousSecret: secret, secretsLocked: false });
    store.close();

    const headless = openStore(file, { secretBox: PLAIN_BOX });
    expect(headless.endpoints.get(endpoint.id)).toMatchObject({ url: 'https://a.example/h', secretsLocked: true });
    expect(() => headless.endpoints.unlocked(endpoint.id)).toThrow(SecretsLockedError);
    expect(() => headless.settings.token('ingest_token')).toThrow(SecretsLockedError);
    headless.close();
  });

  it('seals secrets stored headless when the desktop app first starts with its key', async () => {
    const dataDir = tempDir();
    const plain = openStore(join(dataDir, 'outbox.db'), { secretBox: PLAIN_BOX });
    const secret = generateSecret();
    plain.endpoints.add({ url: 'https://a.example/h', secret, types: null, strictOrder: false, ca: null }, 1);
    const token = plain.settings.token('ingest_token');
    plain.close();
    process.env.BOOTH_AGENT_SECRET_KEY = key.toString('base64');
    try {
      const agent = await startAgent({ dataDir, port: 0, managedConfig: [] });
      expect(agent.store.endpoints.list()[0]!.secret).toBe(secret);
      expect(agent.store.settings.token('ingest_token')).toBe(token);
      const raw = JSON.stringify(agent.store.db.prepare('SELECT secret FROM endpoints').all());
      expect(raw).toContain('sealed:v1:');
      await agent.stop();
    } finally {
      delete process.env.BOOTH_AGENT_SECRET_KEY;
    }
    await expect(startAgent({ dataDir, port: 0, managedConfig: [] })).rejects.toThrow(/encrypted by the Booth Agent desktop app/);
  });

  it('headless commands say plainly what they cannot do without the key', async () => {
    const dataDir = tempDir();
    const store = openStore(join(dataDir, 'outbox.db'), { secretBox: box });
    const endpoint = store.endpoints.add(
      { url: 'https://a.example/h', secret: generateSecret(), types: null, strictOrder: false, ca: null },
      1,
    );
    store.settings.token('ingest_token');
    store.close();
    const env = { BOOTH_AGENT_SECRET_KEY: '' };
    const list = await runCli(['--data-dir', dataDir, 'endpoint', 'list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('https://a.example/h');
    for (const args of [['endpoint', 'verify', endpoint.id], ['token'], ['run', '--port', '0']]) {
      const result = await runCli(['--data-dir', dataDir, ...args], { env });
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain('encrypted by the Booth Agent desktop app');
    }
    const withKey = await runCli(['--data-dir', dataDir, 'token'], { env: { BOOTH_AGENT_SECRET_KEY: key.toString('base64') } });
    expect(withKey.code).toBe(0);
  });
});
