// The endpoints as read, kept until the table changes: the delivery loop reads them every
// turn, and they must never be older than what the outbox says, whoever changed it.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/core/signing.js';
import { keyedBox } from '../../src/store/secret-box.js';
import { openStore } from '../../src/store/store.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const KEY = Buffer.alloc(32, 7);

function setup() {
  const file = join(tempDir('endpoints-'), 'outbox.db');
  const store = openStore(file, { secretBox: keyedBox(KEY) });
  const add = (url: string) =>
    store.endpoints.add(
      { url, secret: generateSecret(), types: ['session'], strictOrder: false, ca: null, headers: { 'x-api-key': 'k1' } },
      1,
    );
  return { file, store, add };
}

describe('the endpoints as last read', () => {
  it('are read again only when the table changed', () => {
    const { store, add } = setup();
    const endpoint = add('https://hooks.example.com/a');
    const first = store.endpoints.list();
    expect(store.endpoints.list()).toBe(first);
    expect(store.endpoints.get(endpoint.id)).toBe(first[0]);
    // Other tables change all the time while delivering; that is no reason to read again.
    store.settings.write('event_id', 3);
    store.queue.capture({ type: 'session', body: Buffer.from('{}'), dedupeKey: null, occurredAt: '', sessionId: null }, 2, 1000);
    expect(store.endpoints.list()).toBe(first);

    expect(store.endpoints.update(endpoint.id, { url: 'https://hooks.example.com/b', headers: { 'x-api-key': 'k2' } })).toBe(true);
    expect(store.endpoints.list()).not.toBe(first);
    expect(store.endpoints.get(endpoint.id)).toMatchObject({ url: 'https://hooks.example.com/b', headers: { 'x-api-key': 'k2' } });
    store.endpoints.setInFlightLimit(endpoint.id, 9);
    expect(store.endpoints.get(endpoint.id)?.inFlightLimit).toBe(9);
    store.db.prepare('UPDATE endpoints SET unreachable_since = 5 WHERE id = ?').run(endpoint.id);
    expect(store.endpoints.get(endpoint.id)?.unreachableSince).toBe(5);
    const second = add('https://hooks.example.com/c');
    expect(store.endpoints.list().map((e) => e.id)).toEqual([endpoint.id, second.id]);
    store.endpoints.remove(endpoint.id);
    expect(store.endpoints.list().map((e) => e.id)).toEqual([second.id]);
    store.close();
  });

  it('are frozen, since every caller shares them', () => {
    const { store, add } = setup();
    const endpoint = add('https://hooks.example.com/a');
    const read = store.endpoints.get(endpoint.id)!;
    expect(Object.isFrozen(store.endpoints.list())).toBe(true);
    expect(Object.isFrozen(read)).toBe(true);
    expect(Object.isFrozen(read.headers)).toBe(true);
    expect(Object.isFrozen(read.types)).toBe(true);
    store.close();
  });

  it('a change rolled back is forgotten with it, even when read inside its transaction', () => {
    const { store, add } = setup();
    const endpoint = add('https://hooks.example.com/a');
    store.endpoints.list();
    expect(() =>
      store.db.transaction(() => {
        store.endpoints.setEnabled(endpoint.id, false, 'by the operator', 3);
        expect(store.endpoints.get(endpoint.id)?.enabled).toBe(false);
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    expect(store.endpoints.get(endpoint.id)).toMatchObject({ enabled: true, disabledReason: null });
    store.close();
  });

  it("another process's change (a CLI endpoint edit) is seen at the next read", async () => {
    const { file, store, add } = setup();
    const endpoint = add('https://hooks.example.com/a');
    expect(store.endpoints.get(endpoint.id)?.types).toEqual(['session']);
    const edit = await runCli(
      ['--data-dir', join(file, '..'), 'endpoint', 'edit', endpoint.id, '--types', 'share,survey', '--header', 'x-api-key: k3'],
      {
        env: { BOOTH_AGENT_SECRET_KEY: KEY.toString('base64') },
      },
    );
    expect(edit.stderr).toBe('');
    expect(edit.code).toBe(0);
    expect(store.endpoints.get(endpoint.id)).toMatchObject({ types: ['share', 'survey'], headers: { 'x-api-key': 'k3' } });
    store.close();
  });
});
