// The desktop app's main process: tray, panel window, and the agent's utility process.
// This is the only module that imports electron, and it is kept thin: what it shows and
// decides comes from the plain functions beside it (tray-state, window-rules,
// restart-backoff, autostart, proxy), which are tested in Node.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  app,
  BrowserWindow,
  Menu,
  nativeImage,
  net,
  Notification,
  powerMonitor,
  safeStorage,
  session,
  shell,
  Tray,
  utilityProcess,
  type MenuItemConstructorOptions,
  type UtilityProcess,
} from 'electron';
import type { HostCommand, HostEvent } from '../agent-host.js';
import { createLogger } from '../log.js';
import { prepareDataDir, resolveDataDir } from '../store/data-dir.js';
import type { DeliverySummary } from '../store/store.js';
import { applyAutostart, autostartPlan, HIDDEN_ARG } from './autostart.js';
import { proxyFromResolution } from './proxy.js';
import { nextRestart, type RestartState } from './restart-backoff.js';
import { needingOperator, shouldNotifyFailure, trayModel, type MenuAction, type TrayIcon } from './tray-state.js';
import { externalUrlAllowed, isPanelUrl, panelOrigin } from './window-rules.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AGENT_ENTRY = fileURLToPath(new URL('./agent-entry.js', import.meta.url));
const ONLINE_POLL_MS = 5000;
const STOP_GRACE_MS = 8000;

if (!app.requestSingleInstanceLock()) {
  // A second launch: the first instance shows its panel (see 'second-instance').
  app.quit();
} else {
  void app.whenReady().then(main);
}

async function main(): Promise<void> {
  const dataDir = prepareDataDir(resolveDataDir());
  const { log } = createLogger({ logsDir: dataDir.logs, stdout: false, file: 'desktop.log' });
  const preferencesFile = join(app.getPath('userData'), 'desktop.json');
  const secretKey = loadSecretKey(join(app.getPath('userData'), 'secret-key.bin'));
  if (secretKey === null) log.warn('no operating-system keychain: endpoint secrets are stored unencrypted, readable by this user only');
  const preferences = readPreferences(preferencesFile);

  let summary: DeliverySummary | null = null;
  let panelUrl: string | null = null;
  let agentPort: number | null = null;
  let window: BrowserWindow | null = null;
  let child: UtilityProcess | null = null;
  let quitting = false;
  let restart: RestartState = { crashes: 0 };
  let lastNotifiedAt: number | null = null;
  /** Why the agent could not start, shown until it is ready again (restarts keep trying). */
  let startError: string | null = null;
  /** The operator asked for the panel (a second launch, the tray) before the agent was ready. */
  let panelWanted = false;

  const tray = new Tray(trayImage('waiting'));
  const renderTray = () => {
    const model = trayModel(summary, preferences.startAtLogin, startError);
    tray.setImage(trayImage(model.icon));
    tray.setToolTip(model.tooltip);
    tray.setContextMenu(Menu.buildFromTemplate(model.menu.map(toMenuItem)));
  };
  const toMenuItem = (item: ReturnType<typeof trayModel>['menu'][number]): MenuItemConstructorOptions =>
    item.type === 'separator'
      ? { type: 'separator' }
      : item.type === 'checkbox'
        ? { type: 'checkbox', label: item.label, checked: item.checked, click: () => act(item.action) }
        : { label: item.label, enabled: item.enabled, click: () => act(item.action) };
  tray.on('click', () => showPanel());

  const send = (command: HostCommand) => child?.postMessage(command);

  function act(action: MenuAction): void {
    switch (action) {
      case 'open-panel':
        return showPanel();
      case 'pause':
      case 'resume':
        return send({ type: 'pause', paused: action === 'pause' });
      case 'retry-failed':
        return send({ type: 'retry-failed' });
      case 'start-at-login':
        preferences.startAtLogin = !preferences.startAtLogin;
        writePreferences(preferencesFile, preferences);
        applyLoginItem(preferences.startAtLogin);
        return renderTray();
      case 'open-logs':
        void shell.openPath(dataDir.logs);
        return;
      case 'quit':
        app.quit();
        return;
    }
  }

  function showPanel(): void {
    if (!panelUrl || agentPort === null) {
      panelWanted = true;
      return;
    }
    if (!window || window.isDestroyed()) window = createWindow(panelUrl, agentPort);
    window.show();
    window.focus();
  }

  function createWindow(url: string, port: number): BrowserWindow {
    const origin = panelOrigin(port);
    const win = new BrowserWindow({
      width: 1280,
      height: 800,
      minWidth: 900,
      show: false,
      title: 'Booth Agent',
      autoHideMenuBar: true,
      webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true },
    });
    // The panel talks to the agent over HTTP; it needs no preload and gets no Node.
    win.webContents.on('will-navigate', (event, target) => {
      if (isPanelUrl(target, origin)) return;
      event.preventDefault();
      openExternal(target);
    });
    win.webContents.setWindowOpenHandler(({ url: target }) => {
      openExternal(target);
      return { action: 'deny' };
    });
    win.on('close', (event) => {
      if (quitting) return;
      event.preventDefault();
      win.hide();
    });
    void win.loadURL(url);
    return win;
  }

  /** The one door to the outside world: plain https links, opened in the system browser. */
  function openExternal(url: string): void {
    if (externalUrlAllowed(url)) void shell.openExternal(url);
    else log.warn({ url }, 'refused to open a link that is not https');
  }

  function applyLoginItem(enabled: boolean): void {
    applyAutostart(
      autostartPlan(process.platform, enabled, process.execPath, process.env.XDG_CONFIG_HOME ?? join(app.getPath('home'), '.config')),
      {
        setLoginItem: (settings) => app.setLoginItemSettings(settings),
        writeFile: (file, content) => {
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, content);
        },
        removeFile: (file) => rmSync(file, { force: true }),
      },
    );
  }

  async function startAgentProcess(): Promise<void> {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      BOOTH_AGENT_DATA_DIR: dataDir.root,
      BOOTH_AGENT_INSTALL_DIR: dirname(process.execPath),
    };
    if (secretKey !== null) env.BOOTH_AGENT_SECRET_KEY = secretKey;
    const binding = nativeBinding();
    if (binding) env.BOOTH_AGENT_NATIVE_BINDING = binding;
    if (!env.HTTPS_PROXY && !env.https_proxy) {
      const proxy = proxyFromResolution(await session.defaultSession.resolveProxy('https://example.com'));
      if (proxy) env.HTTPS_PROXY = proxy;
    }
    const startedAt = Date.now();
    const proc = utilityProcess.fork(AGENT_ENTRY, [], { serviceName: 'Booth Agent', env, stdio: 'ignore' });
    child = proc;
    proc.on('message', (event: HostEvent) => onAgentEvent(event));
    proc.on('exit', (code) => {
      child = null;
      summary = null;
      renderTray();
      if (quitting) return;
      const next = nextRestart(restart, Date.now() - startedAt);
      restart = next.state;
      log.error({ code, restartInMs: next.delayMs }, 'the agent stopped unexpectedly; restarting');
      setTimeout(() => void startAgentProcess(), next.delayMs);
    });
  }

  function onAgentEvent(event: HostEvent): void {
    switch (event.type) {
      case 'ready':
        startError = null;
        panelUrl = event.panelUrl;
        agentPort = event.port;
        log.info({ port: event.port }, 'agent ready');
        if ((panelWanted || !startedHidden()) && !window) showPanel();
        panelWanted = false;
        return;
      case 'status': {
        const failedBefore = summary === null ? 0 : needingOperator(summary);
        summary = event.status;
        const failed = needingOperator(summary);
        if (shouldNotifyFailure(failedBefore, failed, lastNotifiedAt, Date.now()) && Notification.isSupported()) {
          lastNotifiedAt = Date.now();
          const notice = new Notification({
            title: 'Booth Agent',
            body: `${failed} deliveries failed. Open the panel to see why and retry.`,
          });
          notice.on('click', () => showPanel());
          notice.show();
        }
        return renderTray();
      }
      case 'error':
        log.error({ error: event.message }, 'the agent could not start');
        startError = event.message;
        return renderTray();
      case 'stopped':
        return;
    }
  }

  // The operating system's word that the network is back, or that the machine woke up:
  // the agent checks its held endpoints at once instead of waiting for its backoff.
  powerMonitor.on('resume', () => send({ type: 'network-changed' }));
  let online = net.isOnline();
  setInterval(() => {
    const now = net.isOnline();
    if (now && !online) send({ type: 'network-changed' });
    online = now;
  }, ONLINE_POLL_MS);

  app.on('second-instance', () => showPanel());
  app.on('window-all-closed', () => {
    // A tray app: closing the window keeps the agent running.
  });
  app.on('before-quit', (event) => {
    const proc = child;
    if (quitting || !proc) {
      // Set even when no agent runs: the panel window's 'close' must not cancel this quit.
      quitting = true;
      return;
    }
    event.preventDefault();
    quitting = true;
    const force = setTimeout(() => proc.kill(), STOP_GRACE_MS);
    proc.once('exit', () => {
      clearTimeout(force);
      app.quit();
    });
    send({ type: 'stop' });
  });

  if (!preferences.applied) {
    applyLoginItem(preferences.startAtLogin);
    preferences.applied = true;
    writePreferences(preferencesFile, preferences);
  }
  renderTray();
  await startAgentProcess();
  log.info({ version: app.getVersion() }, 'desktop app started');
}

/** Started by the login (Windows passes our argument; macOS says so itself): stay in the tray. */
function startedHidden(): boolean {
  return process.argv.includes(HIDDEN_ARG) || (process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin === true);
}

interface Preferences {
  /** On by default: a kiosk's agent should come back after every reboot. */
  startAtLogin: boolean;
  /** Whether the default has been applied once (the operator's choice wins afterwards). */
  applied: boolean;
}

function readPreferences(file: string): Preferences {
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<Preferences>;
    return { startAtLogin: stored.startAtLogin !== false, applied: stored.applied === true };
  } catch {
    return { startAtLogin: true, applied: false };
  }
}

function writePreferences(file: string, preferences: Preferences): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(preferences, null, 2));
}

/**
 * The key that seals endpoint secrets and tokens in the outbox, kept encrypted by the
 * operating system (DPAPI, Keychain, libsecret/kwallet) through safeStorage. Null where
 * only safeStorage's plain-text fallback exists: then nothing is pretended.
 */
function loadSecretKey(file: string): string | null {
  if (!safeStorage.isEncryptionAvailable()) return null;
  if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') return null;
  if (existsSync(file)) return safeStorage.decryptString(readFileSync(file));
  const key = randomBytes(32).toString('base64');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, safeStorage.encryptString(key), { mode: 0o600 });
  return key;
}

/** better-sqlite3 built for Electron's ABI, kept apart from the Node build `npm test` uses. */
function nativeBinding(): string | null {
  const file = app.isPackaged
    ? join(process.resourcesPath, 'native', 'better_sqlite3.node')
    : join(ROOT, 'native', 'electron', 'better_sqlite3.node');
  return existsSync(file) ? file : null;
}

function trayImage(icon: TrayIcon): Electron.NativeImage {
  const image = nativeImage.createFromPath(join(ROOT, 'assets', 'tray', `${icon}.png`));
  if (process.platform === 'darwin') image.setTemplateImage(false);
  return image;
}
