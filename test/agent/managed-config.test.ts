// A fleet's managed configuration file, read at the agent's start.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent.js';
import { state } from '../../src/server/admin-api.js';
import { managedConfigLocations } from '../../src/managed-config.js';
import { tempDir } from '../helpers/temp.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function file(content: unknown): string {
  const path = join(tempDir('managed-'), 'managed-config.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

async function start(dataDir: string, managed: string[]) {
  return startAgent({ dataDir, port: 0, stopGraceMs: 100, managedConfig: managed });
}

describe('managed configuration', () => {
  it('sets the event id and port and adds its endpoints once, across restarts', async () => {
    const dataDir = tempDir();
    const config = file({
      event_id: 2024,
      port: 7555,
      endpoints: [
        { url: 'https://hooks.example.com/crm', secret: SECRET, types: ['session', 'share'] },
        { url: 'https://sheet.example.com/exec', strict_order: true },
      ],
    });
    for (let run = 0; run < 2; run++) {
      const agent = await start(dataDir, ['/nonexistent/first.json', config]);
      try {
        expect(agent.managedConfig).toEqual({ status: 'applied', file: config, added: run === 0 ? 2 : 0 });
        const endpoints = agent.store.endpoints.list();
        expect(endpoints.map((e) => [e.url, e.types, e.strictOrder])).toEqual([
          ['https://hooks.example.com/crm', ['session', 'share'], false],
          ['https://sheet.example.com/exec', null, true],
        ]);
        expect(endpoints[0]!.secret).toBe(SECRET);
        expect(endpoints[1]!.secret).toMatch(/^whsec_/);
        expect(agent.store.settings.read()).toMatchObject({ event_id: 2024, port: 7555 });
      } finally {
        await agent.stop();
      }
    }
  });

  it.each([
    ['broken JSON', '{"event_id": 1,', /not readable JSON/],
    ['an http:// endpoint', { endpoints: [{ url: 'http://hooks.example.com/x' }] }, /endpoints\.0\.url: HTTPS is required/],
    ['an unknown key', { event_id: 1, colour: 'red' }, /colour/],
    [
      'a bad secret',
      { endpoints: [{ url: 'https://a.example/x', secret: 'hunter2' }] },
      /endpoints\.0\.secret: a secret starts with "whsec_"/,
    ],
  ])('reports %s in the logs and the panel, applies nothing, and still starts', async (_what, content, problem) => {
    const dataDir = tempDir();
    const config = file(content);
    const agent = await start(dataDir, [config]);
    try {
      expect(agent.managedConfig).toEqual({ status: 'invalid', file: config, problem: expect.stringMatching(problem) });
      expect(agent.store.endpoints.list()).toEqual([]);
      expect(agent.store.settings.read().event_id).toBeNull();
      const panel = state({ operations: agent.operations, version: 'x', managedConfig: agent.managedConfig });
      expect(panel.managedConfigProblem).toMatch(problem);
      expect((await fetch(`http://127.0.0.1:${agent.port}/healthz`)).status).toBe(200);
    } finally {
      await agent.stop();
    }
  });

  it('looks in the documented places per platform', () => {
    expect(
      managedConfigLocations('win32', { ProgramData: 'C:\\ProgramData', BOOTH_AGENT_INSTALL_DIR: 'C:\\Program Files\\Booth Agent' }),
    ).toEqual([
      join('C:\\Program Files\\Booth Agent', 'managed-config.json'),
      join('C:\\ProgramData', 'BoothAgent', 'managed-config.json'),
    ]);
    expect(managedConfigLocations('darwin', {})).toEqual(['/Library/Application Support/BoothAgent/managed-config.json']);
    expect(managedConfigLocations('linux', { BOOTH_AGENT_MANAGED_CONFIG: '/srv/kiosk.json' })).toEqual([
      '/srv/kiosk.json',
      '/etc/booth-agent/managed-config.json',
    ]);
  });
});
