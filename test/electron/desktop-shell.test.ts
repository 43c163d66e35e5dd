// The desktop app's main process, run end to end under Node: dist/electron/main.js with the
// stand-in for 'electron' (test/electron/stand-in/), and the real agent in a real child
// process started through the stand-in's utilityProcess.fork. See test/helpers/desktop.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '../../src/core/settings.js';
import { acquireInstanceLock, type InstanceLock } from '../../src/store/instance-lock.js';
import { openStore } from '../../src/store/store.js';
import { configure, FAST } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { freePort, killDesktops, launchDesktop, type Desktop } from '../helpers/desktop.js';
import { endpointTo, startReceiver, type Receiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import type { ShellState } from './stand-in/electron.mjs';

/** main.ts's STOP_GRACE_MS: how long quitting waits for the agent before killing it. */
const STOP_GRACE_MS = 8000;
const HIDDEN = ['--hidden'];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await killDesktops();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function dataFolder(settings: Partial<Settings> = {}): Promise<{ dataDir: string; port: number }> {
  const dataDir = tempDir('desktop-');
  const port = await freePort();
  configure(dataDir, { ...FAST, port, ...settings });
  return { dataDir, port };
}

const running = (state: ShellState) => state.tray?.image === 'delivered' && state.processes.at(-1)?.exitedAt === null;
const tooltipHead = (state: ShellState) => state.tray?.tooltip.split('\n')[0];

async function started(desktop: Desktop): Promise<ShellState> {
  return desktop.until('the agent to report all delivered', (state) => running(state) && state);
}

// Each test is bounded: every wait in it has its own timeout, and the test has this one.
describe('the desktop app under Node', { timeout: 60_000 }, () => {
  it('runs the agent in a child process, shows its state in the tray, and opens the panel at start', async () => {
    const { dataDir, port } = await dataFolder();
    const desktop = launchDesktop(dataDir);
    const state = await started(desktop);

    expect(state.processes).toHaveLength(1);
    expect(tooltipHead(state)).toBe('Booth Agent: all delivered');
    expect(state.tray!.menu.map((item) => (item.type === 'separator' ? '—' : `${item.label}${item.enabled ? '' : ' (off)'}`))).toEqual([
      'Open panel',
      '—',
      'Pause delivery',
      'Retry all failed (off)',
      '—',
      'Start at login',
      'Open logs folder',
      '—',
      'Quit Booth Agent',
    ]);
    const window = await desktop.until('the panel window', (s) => s.windows[0]);
    expect(window).toMatchObject({ visible: true, destroyed: false });
    expect(window.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/#token=[\\w-]{20,}$`));

    // Start at login is on by default, applied once: on Linux an XDG autostart entry.
    const autostart = join(desktop.configHome, 'autostart', 'booth-agent.desktop');
    expect(readFileSync(autostart, 'utf8')).toContain('Exec="');
    expect(JSON.parse(readFileSync(join(desktop.userData, 'desktop.json'), 'utf8'))).toEqual({ startAtLogin: true, applied: true });
    const off = await desktop.send({ type: 'click-menu', label: 'Start at login' });
    expect(off!.tray!.menu.find((item) => item.label === 'Start at login')).toMatchObject({ checked: false });
    expect(existsSync(autostart)).toBe(false);
    expect(JSON.parse(readFileSync(join(desktop.userData, 'desktop.json'), 'utf8'))).toEqual({ startAtLogin: false, applied: true });

    const logs = await desktop.send({ type: 'click-menu', label: 'Open logs folder' });
    expect(logs!.openedPaths).toEqual([join(dataDir, 'logs')]);

    // The machine woke: the agent is told to check its endpoints now.
    await desktop.send({ type: 'power', event: 'resume' });
    await waitFor(
      'the agent to log the network change',
      () => readFileSync(join(dataDir, 'logs', 'agent.log'), 'utf8').includes('network change reported'),
      10_000,
    );
  });

  it('restarts a killed agent at once the first time, and after a wait the second time', async () => {
    const { dataDir } = await dataFolder();
    const desktop = launchDesktop(dataDir, { args: HIDDEN });
    const first = await started(desktop);
    expect(first.windows).toEqual([]);

    process.kill(first.processes[0]!.pid!, 'SIGKILL');
    const second = await desktop.until('a second agent to run', (s) => s.processes.length === 2 && running(s) && s);
    const [killed, restarted] = second.processes;
    expect(restarted!.spawnedAt! - killed!.exitedAt!).toBeLessThan(1000);

    process.kill(restarted!.pid!, 'SIGKILL');
    const waiting = await desktop.until('the tray to show the agent is down', (s) => s.processes[1]!.exitedAt !== null && s);
    expect(tooltipHead(waiting)).toBe('Booth Agent: starting…');
    const third = await desktop.until('a third agent to run', (s) => s.processes.length === 3 && running(s) && s);
    // restart-backoff: the second crash in a row waits a second.
    expect(third.processes[2]!.spawnedAt! - third.processes[1]!.exitedAt!).toBeGreaterThanOrEqual(1000);
  });

  it('pauses and resumes delivery from the tray menu', async () => {
    const { dataDir } = await dataFolder();
    const desktop = launchDesktop(dataDir, { args: HIDDEN });
    await started(desktop);

    await desktop.send({ type: 'click-menu', label: 'Pause delivery' });
    const paused = await desktop.until('the tray to show paused', (s) => s.tray?.image === 'paused' && s);
    expect(tooltipHead(paused)).toBe('Booth Agent: delivery paused');
    expect(paused.tray!.menu.map((item) => item.label)).toContain('Resume delivery');
    expect((await runCli(['--data-dir', dataDir, 'config', 'get', 'paused'])).stdout.trim()).toBe('true');

    await desktop.send({ type: 'click-menu', label: 'Resume delivery' });
    await started(desktop);
    expect((await runCli(['--data-dir', dataDir, 'config', 'get', 'paused'])).stdout.trim()).toBe('false');
  });

  it('notifies of failed deliveries at most once a minute, and retries them from the tray menu', async () => {
    const receiver: Receiver = await startReceiver({ handler: () => ({ status: 500 }) });
    cleanups.push(() => receiver.close());
    const { dataDir, port } = await dataFolder({ max_retries: 0 });
    const store = openStore(join(dataDir, 'outbox.db'));
    // Failures the agent would retry by itself call for no one: this endpoint leaves them to the operator.
    store.endpoints.add({ ...endpointTo(receiver), autoRecover: 'off' }, Date.now());
    const token = store.settings.token('ingest_token');
    store.close();
    const post = async (id: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          type: 'session',
          session: { id, direct_url: 'https://a.example/a', site_url: 'https://a.example/b', type: 'still' },
        }),
      });
      expect(response.status).toBeLessThan(300);
    };
    const desktop = launchDesktop(dataDir, { args: HIDDEN });
    await started(desktop);

    await post('first');
    const oneFailed = await desktop.until('one failed delivery', (s) => tooltipHead(s) === 'Booth Agent: 1 failed: open the panel' && s);
    expect(oneFailed.tray!.image).toBe('failed');
    await post('second');
    const twoFailed = await desktop.until('two failed deliveries', (s) => tooltipHead(s) === 'Booth Agent: 2 failed: open the panel' && s);
    expect(twoFailed.notifications).toEqual([
      { title: 'Booth Agent', body: '1 deliveries failed. Open the panel to see why and retry.', shownAt: expect.any(Number) },
    ]);

    // The notification opens the panel.
    const opened = await desktop.send({ type: 'click-notification', index: 0 });
    expect(opened!.windows).toMatchObject([{ visible: true, url: expect.stringContaining(`http://127.0.0.1:${port}/#token=`) }]);

    receiver.handle(() => ({ status: 200 }));
    await desktop.send({ type: 'click-menu', label: 'Retry all failed (2)' });
    const retried = await desktop.until(
      'both delivered',
      (s) => s.tray?.tooltip.endsWith('\n2 delivered · 0 queued · 0 waiting · 0 failed') && s,
    );
    expect(retried.tray!.image).toBe('delivered');
    expect(retried.notifications).toHaveLength(1);
  });

  it('opens the panel from the menu and on a second launch; closing it only hides it; links leave for the browser', async () => {
    const { dataDir, port } = await dataFolder();
    const desktop = launchDesktop(dataDir, { args: HIDDEN });
    await started(desktop);

    const opened = await desktop.send({ type: 'click-menu', label: 'Open panel' });
    expect(opened!.windows).toHaveLength(1);
    const window = opened!.windows[0]!;
    expect(window).toMatchObject({ visible: true, focused: true });
    expect(window.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/#token=`));

    const closed = await desktop.send({ type: 'close-window', windowId: window.id });
    expect(closed!.windows).toMatchObject([{ id: window.id, visible: false, destroyed: false }]);

    const shown = await desktop.send({ type: 'second-instance' });
    expect(shown!.windows).toMatchObject([{ id: window.id, visible: true, destroyed: false }]);

    const external = await desktop.send({ type: 'navigate', windowId: window.id, url: 'https://example.com/help' });
    expect(external!.openedExternally).toEqual(['https://example.com/help']);
    expect(external!.windows[0]!.url).toBe(window.url);
    const refused = await desktop.send({ type: 'navigate', windowId: window.id, url: 'http://example.com/' });
    expect(refused!.openedExternally).toEqual(['https://example.com/help']);
    const within = await desktop.send({ type: 'navigate', windowId: window.id, url: `http://127.0.0.1:${port}/#/endpoints` });
    expect(within!.windows[0]!.url).toBe(`http://127.0.0.1:${port}/#/endpoints`);
    const popup = await desktop.send({ type: 'window-open', windowId: window.id, url: 'https://example.com/docs' });
    expect(popup!.openedExternally).toEqual(['https://example.com/help', 'https://example.com/docs']);
    expect(popup!.windows).toHaveLength(1);
  });

  it('opens the panel once the agent is ready when a second launch comes before it is', async () => {
    const { dataDir } = await dataFolder();
    const desktop = launchDesktop(dataDir, { args: HIDDEN });
    await desktop.until('the tray, before the agent is ready', (state) => state.tray !== null && !running(state));
    const early = await desktop.send({ type: 'second-instance' });
    expect(early!.windows).toEqual([]);
    const shown = await desktop.until('the panel, once the agent is ready', (state) => state.windows.find((w) => w.visible));
    expect(shown.url).toContain('#token=');
  });

  it('quits from the tray menu: the agent stops within the grace period and the data folder is free', async () => {
    const { dataDir } = await dataFolder();
    const desktop = launchDesktop(dataDir);
    await started(desktop);
    await desktop.until('the panel window', (s) => s.windows[0]?.visible);

    const quitAt = Date.now();
    await desktop.send({ type: 'click-menu', label: 'Quit Booth Agent' });
    const exit = await desktop.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - quitAt).toBeLessThan(STOP_GRACE_MS + 2000);
    // The agent stopped on its own (exit code 0), not on the grace period's kill.
    expect(exit.final!.processes).toMatchObject([{ code: 0 }]);
    expect(exit.final!.windows).toMatchObject([{ destroyed: true }]);
    const lock: InstanceLock = acquireInstanceLock(join(dataDir, 'agent.lock'), dataDir);
    lock.release();
  });

  it('says in the tray why the agent cannot start, and still quits while it is down', async () => {
    const { dataDir } = await dataFolder();
    const desktop = launchDesktop(dataDir);
    const state = await started(desktop);
    await desktop.until('the panel window', (s) => s.windows[0]?.visible);

    // Another process takes the data folder as soon as the agent is gone.
    process.kill(state.processes[0]!.pid!, 'SIGKILL');
    const lock = await waitFor('the data folder lock', () => {
      try {
        return acquireInstanceLock(join(dataDir, 'agent.lock'), dataDir);
      } catch {
        return null;
      }
    });
    cleanups.push(() => lock.release());

    // Each failed start waits longer (restart-backoff); by the third the next try is 4 s away.
    const down = await desktop.until(
      'three restarts to fail',
      (s) => s.processes.length === 4 && s.processes.at(-1)!.exitedAt !== null && s,
    );
    expect(down.processes.at(-1)!.code).toBe(1);
    expect(tooltipHead(down)).toMatch(/^Booth Agent: another booth-agent is already running on the data folder/);

    await desktop.send({ type: 'click-menu', label: 'Quit Booth Agent' });
    const exit = await Promise.race([desktop.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), STOP_GRACE_MS))]);
    expect(exit, 'the app did not quit').not.toBeNull();
    expect(exit!.code).toBe(0);
    expect(exit!.final!.processes, 'quit while no agent ran').toHaveLength(4);
  });
});
