// The agent as the desktop app hosts it: the real agent, driven through the parent-port
// adapter with a fake port standing in for Electron's.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { hostAgent, type HostEvent } from '../../src/agent-host.js';
import { parentPortHost } from '../../src/electron/parent-port.js';
import { configure, FAST } from '../helpers/agent.js';
import { endpointTo, startReceiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

class FakeParentPort extends EventEmitter {
  readonly posted: HostEvent[] = [];
  postMessage(message: unknown): void {
    this.posted.push(message as HostEvent);
  }
  /** What the main process's utilityProcess.postMessage would deliver. */
  deliver(data: unknown): void {
    this.emit('message', { data });
  }
}

describe('the agent on a parent port', () => {
  it('says it is ready, reports status on every change, obeys commands, and stops cleanly', async () => {
    const receiver = await startReceiver({ handler: () => ({ status: 500 }) });
    const dataDir = tempDir('hosted-');
    configure(dataDir, { ...FAST, max_retries: 0 });
    const port = new FakeParentPort();
    const invalid: unknown[] = [];
    const { agent, stopped } = await hostAgent(
      { dataDir, port: 0, stopGraceMs: 500 },
      parentPortHost(port, (data) => invalid.push(data)),
    );
    try {
      const ready = port.posted.find((e) => e.type === 'ready');
      expect(ready).toEqual({
        type: 'ready',
        port: agent.port,
        panelUrl: `http://127.0.0.1:${agent.port}/#token=${agent.store.settings.token('admin_token')}`,
      });
      const statuses = () => port.posted.filter((e): e is Extract<HostEvent, { type: 'status' }> => e.type === 'status');
      expect(statuses()[0]!.status).toMatchObject({ paused: false, online: true, counts: { queued: 0, failed: 0 } });

      agent.store.endpoints.add(endpointTo(receiver), Date.now());
      const token = agent.store.settings.token('ingest_token');
      await fetch(`http://127.0.0.1:${agent.port}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          type: 'session',
          session: { id: 'hosted', direct_url: 'https://a.example/a', site_url: 'https://a.example/b', type: 'still' },
        }),
      });
      await waitFor('a failed status', () => statuses().some((s) => s.status.counts.failed === 1), 5000);

      port.deliver({ type: 'pause', paused: true });
      await waitFor('a paused status', () => statuses().at(-1)!.status.paused);
      expect(agent.store.settings.read().paused).toBe(true);

      receiver.handle(() => ({ status: 200 }));
      port.deliver({ type: 'pause', paused: false });
      port.deliver({ type: 'retry-failed' });
      await waitFor('delivered after the retry', () => statuses().at(-1)!.status.counts.delivered === 1, 5000);

      port.deliver({ type: 'network-changed' });
      port.deliver({ type: 'format-disk' });
      port.deliver('stop');
      expect(invalid).toEqual([{ type: 'format-disk' }, 'stop']);

      port.deliver({ type: 'stop' });
      await stopped;
      expect(port.posted.at(-1)).toEqual({ type: 'stopped' });
      const healthz = await fetch(`http://127.0.0.1:${agent.port}/healthz`).then(
        () => 'answered',
        () => 'closed',
      );
      expect(healthz).toBe('closed');
    } finally {
      await agent.stop();
      await receiver.close();
    }
  });
});
