// @ts-check
// A stand-in for the `electron` module, for tests only: with it, the desktop app's real main
// process (dist/electron/main.js) runs under Node. The agent runs as Electron would run it:
// `utilityProcess.fork` starts a real child process on the real agent entry, with a
// `process.parentPort` given by parent-port.mjs. Everything else (tray, menus, windows,
// notifications) is recorded, and a test reads and drives it over this process's IPC
// channel (see ControlRequest). Each piece is type-checked against Electron's own types
// (`satisfies Pick<…>`, `@implements {Pick<…>}`, parameters taken from Electron's), and only
// types come from 'electron'.
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { constants, homedir, tmpdir } from 'node:os';
import { basename, extname } from 'node:path';

/** @typedef {import('electron').App} App */
/** @typedef {import('electron').MenuItemConstructorOptions} MenuItemConstructorOptions */

/**
 * @typedef {{ label: string, type: string, enabled: boolean, checked: boolean }} MenuItemState
 * @typedef {{ image: string, tooltip: string, menu: MenuItemState[] }} TrayState
 * @typedef {{ id: number, url: string | null, visible: boolean, focused: boolean, destroyed: boolean }} WindowState
 * @typedef {{ title: string, body: string, shownAt: number }} NotificationState
 * @typedef {{ pid: number | undefined, spawnedAt: number | null, exitedAt: number | null, code: number | null }} ProcessState
 * @typedef {{
 *   tray: TrayState | null,
 *   windows: WindowState[],
 *   notifications: NotificationState[],
 *   processes: ProcessState[],
 *   loginItem: import('electron').Settings | null,
 *   openedPaths: string[],
 *   openedExternally: string[],
 * }} ShellState
 * @typedef {{ id: number } & (
 *   | { type: 'state' }
 *   | { type: 'click-menu', label: string }
 *   | { type: 'click-notification', index: number }
 *   | { type: 'second-instance' }
 *   | { type: 'quit' }
 *   | { type: 'power', event: 'resume' }
 *   | { type: 'close-window', windowId: number }
 *   | { type: 'navigate', windowId: number, url: string }
 *   | { type: 'window-open', windowId: number, url: string }
 * )} ControlRequest
 * @typedef {{ type: 'reply', id: number, state: ShellState } | { type: 'reply', id: number, error: string }} ControlReply
 * @typedef {{ type: 'exiting', code: number, state: ShellState }} ControlExit
 */

const PARENT_PORT_SHIM = new URL('./parent-port.mjs', import.meta.url).href;
const PACKAGE = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));

/** What Electron passes to a listener that may cancel: `event.preventDefault()`. */
class StandInEvent {
  defaultPrevented = false;
  preventDefault() {
    this.defaultPrevented = true;
  }
}

/** @implements {Pick<import('electron').NativeImage, 'setTemplateImage'>} */
class NativeImage {
  template = false;
  /** @param {string} path */
  constructor(path) {
    this.path = path;
  }
  /** @param {Parameters<import('electron').NativeImage['setTemplateImage']>[0]} option */
  setTemplateImage(option) {
    this.template = option;
  }
}

export const nativeImage = {
  /** @param {Parameters<typeof import('electron').nativeImage.createFromPath>[0]} path */
  createFromPath: (path) => new NativeImage(path),
};

class MenuItem {
  /** @param {MenuItemConstructorOptions} options */
  constructor(options) {
    this.options = options;
    this.type = options.type ?? 'normal';
    this.label = options.label ?? '';
    this.enabled = options.enabled ?? true;
    this.checked = options.checked ?? false;
  }
  /** As Electron's MenuItem does: a checkbox flips before its handler runs. */
  click() {
    if (this.type === 'checkbox') this.checked = !this.checked;
    // main.ts's handlers read none of their arguments; Electron would pass its own MenuItem.
    this.options.click?.(
      /** @type {import('electron').MenuItem} */ (/** @type {unknown} */ (this)),
      undefined,
      /** @type {import('electron').KeyboardEvent} */ ({}),
    );
  }
  /** @returns {MenuItemState} */
  state() {
    return { label: this.label, type: this.type, enabled: this.enabled, checked: this.checked };
  }
}

export class Menu extends EventEmitter {
  /** @param {MenuItem[]} items */
  constructor(items) {
    super();
    this.items = items;
  }
  /** @param {Parameters<typeof import('electron').Menu.buildFromTemplate>[0]} template */
  static buildFromTemplate(template) {
    return new Menu(template.map((entry) => new MenuItem(/** @type {MenuItemConstructorOptions} */ (entry))));
  }
}

/** @type {Tray[]} */
const trays = [];

/** @implements {Pick<import('electron').Tray, 'setImage' | 'setToolTip' | 'setContextMenu'>} */
export class Tray extends EventEmitter {
  /** @type {string} */
  image;
  tooltip = '';
  /** @type {Menu | null} */
  menu = null;
  /** @param {ConstructorParameters<typeof import('electron').Tray>} args */
  constructor(...args) {
    super();
    this.image = imageName(args[0]);
    trays.push(this);
  }
  /** @param {Parameters<import('electron').Tray['setImage']>[0]} image */
  setImage(image) {
    this.image = imageName(image);
  }
  /** @param {Parameters<import('electron').Tray['setToolTip']>[0]} toolTip */
  setToolTip(toolTip) {
    this.tooltip = toolTip;
  }
  /** @param {Parameters<import('electron').Tray['setContextMenu']>[0]} menu */
  setContextMenu(menu) {
    if (menu !== null && !(menu instanceof Menu)) throw new Error('the stand-in tray takes menus made by the stand-in Menu');
    this.menu = menu;
  }
  /** @returns {TrayState} */
  state() {
    return { image: this.image, tooltip: this.tooltip, menu: this.menu?.items.map((item) => item.state()) ?? [] };
  }
}

/**
 * The icon's file name without extension: `assets/tray/paused.png` → "paused".
 * @param {import('electron').NativeImage | string} image
 */
function imageName(image) {
  const path = typeof image === 'string' ? image : image instanceof NativeImage ? image.path : null;
  if (path === null) throw new Error('the stand-in tray takes paths or images made by the stand-in nativeImage');
  return basename(path, extname(path));
}

/** @implements {Pick<import('electron').WebContents, 'setWindowOpenHandler'>} */
class WebContents extends EventEmitter {
  url = '';
  /** @type {Parameters<import('electron').WebContents['setWindowOpenHandler']>[0] | null} */
  windowOpenHandler = null;
  /** @param {Parameters<import('electron').WebContents['setWindowOpenHandler']>[0]} handler */
  setWindowOpenHandler(handler) {
    this.windowOpenHandler = handler;
  }
}

/** @type {BrowserWindow[]} */
const windows = [];

/**
 * @implements {Pick<import('electron').BrowserWindow,
 *   'id' | 'show' | 'hide' | 'focus' | 'close' | 'destroy' | 'isDestroyed' | 'loadURL'>}
 */
export class BrowserWindow extends EventEmitter {
  #visible;
  #focused = false;
  #destroyed = false;
  webContents = new WebContents();
  /** @param {ConstructorParameters<typeof import('electron').BrowserWindow>} args */
  constructor(...args) {
    super();
    this.options = args[0] ?? {};
    this.#visible = this.options.show !== false;
    this.id = windows.length + 1;
    windows.push(this);
  }
  /** @param {Parameters<import('electron').BrowserWindow['loadURL']>} args */
  loadURL(...args) {
    this.webContents.url = args[0];
    return Promise.resolve();
  }
  show() {
    this.#visible = true;
    this.#focused = true;
  }
  hide() {
    this.#visible = false;
    this.#focused = false;
  }
  focus() {
    this.#focused = true;
  }
  /** As Electron does: 'close' first, which a listener may cancel; then the window is gone. */
  close() {
    if (this.#destroyed) return;
    const event = new StandInEvent();
    this.emit('close', event);
    if (!event.defaultPrevented) this.destroy();
  }
  destroy() {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#visible = false;
    this.#focused = false;
    this.emit('closed');
  }
  isDestroyed() {
    return this.#destroyed;
  }
  /** @returns {WindowState} */
  state() {
    return { id: this.id, url: this.webContents.url || null, visible: this.#visible, focused: this.#focused, destroyed: this.#destroyed };
  }
}

/** @type {{ notification: Notification, shownAt: number }[]} */
const shownNotifications = [];

/** @implements {Pick<import('electron').Notification, 'show' | 'title' | 'body'>} */
export class Notification extends EventEmitter {
  /** @param {ConstructorParameters<typeof import('electron').Notification>} args */
  constructor(...args) {
    super();
    this.title = args[0]?.title ?? '';
    this.body = args[0]?.body ?? '';
  }
  static isSupported() {
    return true;
  }
  show() {
    shownNotifications.push({ notification: this, shownAt: Date.now() });
  }
}

/** Linux without a keyring, as on a headless machine: Electron falls back to plain text. */
export const safeStorage =
  /** @satisfies {Pick<import('electron').SafeStorage, 'isEncryptionAvailable' | 'getSelectedStorageBackend' | 'encryptString' | 'decryptString'>} */ ({
    isEncryptionAvailable: () => true,
    /** @returns {ReturnType<import('electron').SafeStorage['getSelectedStorageBackend']>} */
    getSelectedStorageBackend: () => 'basic_text',
    /** @param {string} plainText */
    encryptString: (plainText) => Buffer.from(plainText, 'utf8'),
    /** @param {Buffer} encrypted */
    decryptString: (encrypted) => encrypted.toString('utf8'),
  });

/** The power events main.ts listens to are emitted by the control's 'power'. */
export const powerMonitor = new EventEmitter();

export const net = /** @satisfies {Pick<import('electron').Net, 'isOnline'>} */ ({ isOnline: () => true });

/** @implements {Pick<import('electron').Session, 'resolveProxy'>} */
class Session {
  /** @param {Parameters<import('electron').Session['resolveProxy']>[0]} _url */
  resolveProxy(_url) {
    return Promise.resolve('DIRECT');
  }
}
export const session = { defaultSession: new Session() };

/** @type {string[]} */
const openedPaths = [];
/** @type {string[]} */
const openedExternally = [];
export const shell = /** @satisfies {Pick<import('electron').Shell, 'openPath' | 'openExternal'>} */ ({
  /** @param {string} path */
  openPath: (path) => {
    openedPaths.push(path);
    return Promise.resolve('');
  },
  /** @param {string} url */
  openExternal: (url) => {
    openedExternally.push(url);
    return Promise.resolve();
  },
});

/** @type {ProcessState[]} */
const processes = [];

/**
 * Electron's utility process, played by a Node child process whose `process.parentPort` is
 * given by parent-port.mjs. Messages are structured clones, as Electron's are.
 * @implements {Pick<import('electron').UtilityProcess, 'pid' | 'stdout' | 'stderr' | 'postMessage' | 'kill'>}
 */
export class UtilityProcess extends EventEmitter {
  /** @type {number | undefined} */
  pid = undefined;
  #child;
  /** @param {Parameters<typeof import('electron').utilityProcess.fork>} args */
  constructor(...args) {
    super();
    const [modulePath, argv, options = {}] = args;
    const output = options.stdio ?? 'inherit';
    const [out, err] = typeof output === 'string' ? [output, output] : [output[1] ?? 'inherit', output[2] ?? 'inherit'];
    const record = /** @type {ProcessState} */ ({ pid: undefined, spawnedAt: null, exitedAt: null, code: null });
    processes.push(record);
    this.#child = fork(modulePath, argv ?? [], {
      env: options.env ? /** @type {NodeJS.ProcessEnv} */ ({ ...options.env }) : process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      execArgv: [...(options.execArgv ?? []), '--import', PARENT_PORT_SHIM],
      stdio: ['ignore', /** @type {'pipe' | 'ignore' | 'inherit'} */ (out), /** @type {'pipe' | 'ignore' | 'inherit'} */ (err), 'ipc'],
      serialization: 'advanced',
    });
    this.stdout = this.#child.stdout;
    this.stderr = this.#child.stderr;
    this.#child.on('spawn', () => {
      this.pid = record.pid = this.#child.pid;
      record.spawnedAt = Date.now();
      this.emit('spawn');
    });
    this.#child.on('message', (message) => this.emit('message', message));
    this.#child.on('exit', (code, signal) => {
      // Electron's 'exit' always has a number; for a process killed by a signal, the stand-in gives the signal's.
      const exitCode = code ?? (signal ? constants.signals[signal] : 1);
      this.pid = undefined;
      record.exitedAt = Date.now();
      record.code = exitCode;
      this.emit('exit', exitCode);
    });
  }
  /** @param {Parameters<import('electron').UtilityProcess['postMessage']>} args */
  postMessage(...args) {
    // A message to a process that has gone is dropped, as Electron drops it.
    if (this.#child.connected) this.#child.send(args[0], () => {});
  }
  kill() {
    return this.#child.kill('SIGTERM');
  }
}

export const utilityProcess = {
  /** @param {Parameters<typeof import('electron').utilityProcess.fork>} args */
  fork: (...args) => new UtilityProcess(...args),
};

/** @type {import('electron').Settings | null} */
let loginItem = null;

/**
 * @implements {Pick<App, 'whenReady' | 'requestSingleInstanceLock' | 'getPath' | 'getVersion' | 'isPackaged'
 *   | 'setLoginItemSettings' | 'getLoginItemSettings' | 'quit' | 'exit'>}
 */
class StandInApp extends EventEmitter {
  isPackaged = false;
  /** Ready once main.js has been evaluated, as Electron's app is. */
  #ready = new Promise((resolve) => setImmediate(resolve));
  /** @returns {Promise<void>} */
  whenReady() {
    return this.#ready.then(() => undefined);
  }
  /**
   * The first instance: a second launch is played by the control's 'second-instance'.
   * @param {Parameters<App['requestSingleInstanceLock']>} _args
   */
  requestSingleInstanceLock(..._args) {
    return true;
  }
  /** @param {Parameters<App['getPath']>[0]} name */
  getPath(name) {
    if (name === 'userData') {
      const folder = process.env.ELECTRON_STAND_IN_USER_DATA;
      if (!folder) throw new Error('the electron stand-in needs ELECTRON_STAND_IN_USER_DATA');
      return folder;
    }
    if (name === 'home') return homedir();
    if (name === 'temp') return tmpdir();
    throw new Error(`the electron stand-in has no path for "${name}"`);
  }
  getVersion() {
    return /** @type {string} */ (PACKAGE.version);
  }
  /** @param {Parameters<App['setLoginItemSettings']>[0]} settings */
  setLoginItemSettings(settings) {
    loginItem = settings;
  }
  /** @param {Parameters<App['getLoginItemSettings']>} _args */
  getLoginItemSettings(..._args) {
    return {
      openAtLogin: loginItem?.openAtLogin ?? false,
      wasOpenedAtLogin: false,
      status: /** @type {const} */ ('not-registered'),
      executableWillLaunchAtLogin: false,
      launchItems: [],
    };
  }
  /**
   * As Electron's: 'before-quit' (cancellable), then every window is closed (a window whose
   * 'close' is cancelled cancels the quit), then 'will-quit' (cancellable), 'quit', and the
   * process ends. Utility processes end with it (parent-port.mjs sees the channel close).
   */
  quit() {
    const beforeQuit = new StandInEvent();
    this.emit('before-quit', beforeQuit);
    if (beforeQuit.defaultPrevented) return;
    for (const window of windows) window.close();
    if (windows.some((window) => !window.isDestroyed())) return;
    const willQuit = new StandInEvent();
    this.emit('will-quit', willQuit);
    if (willQuit.defaultPrevented) return;
    this.emit('quit', new StandInEvent(), 0);
    this.exit(0);
  }
  /** @param {Parameters<App['exit']>[0]} exitCode */
  exit(exitCode = 0) {
    /** @type {ControlExit} */
    const message = { type: 'exiting', code: exitCode, state: shellState() };
    if (process.send && process.connected) process.send(message, () => process.exit(exitCode));
    else process.exit(exitCode);
  }
}

export const app = new StandInApp();

/** @returns {ShellState} */
function shellState() {
  return {
    tray: trays.at(-1)?.state() ?? null,
    windows: windows.map((window) => window.state()),
    notifications: shownNotifications.map(({ notification, shownAt }) => ({ title: notification.title, body: notification.body, shownAt })),
    processes: processes.map((record) => ({ ...record })),
    loginItem,
    openedPaths: [...openedPaths],
    openedExternally: [...openedExternally],
  };
}

/** @param {number} windowId */
function windowById(windowId) {
  const window = windows.find((w) => w.id === windowId);
  if (!window) throw new Error(`no window ${windowId}`);
  return window;
}

/** @param {ControlRequest} request */
function control(request) {
  switch (request.type) {
    case 'state':
      return;
    case 'click-menu': {
      const item = trays.at(-1)?.menu?.items.find((i) => i.type !== 'separator' && i.label.startsWith(request.label));
      if (!item) throw new Error(`the tray menu has no item "${request.label}"`);
      if (!item.enabled) throw new Error(`the tray menu item "${item.label}" is disabled`);
      return item.click();
    }
    case 'click-notification': {
      const shown = shownNotifications[request.index];
      if (!shown) throw new Error(`no notification ${request.index}`);
      shown.notification.emit('click', new StandInEvent());
      return;
    }
    case 'second-instance':
      app.emit('second-instance', new StandInEvent(), [process.execPath], process.cwd(), {});
      return;
    case 'quit':
      return app.quit();
    case 'power':
      powerMonitor.emit(request.event);
      return;
    case 'close-window':
      return windowById(request.windowId).close();
    case 'navigate': {
      const window = windowById(request.windowId);
      const event = new StandInEvent();
      window.webContents.emit('will-navigate', event, request.url);
      if (!event.defaultPrevented) window.webContents.url = request.url;
      return;
    }
    case 'window-open': {
      // What the page's window.open() or a target=_blank link asks of the window open handler.
      const handler = windowById(request.windowId).webContents.windowOpenHandler;
      const details = {
        url: request.url,
        frameName: '',
        features: '',
        disposition: /** @type {const} */ ('new-window'),
        referrer: { url: '', policy: /** @type {const} */ ('default') },
      };
      if (handler?.(details).action !== 'deny') throw new Error('the stand-in opens no child windows: the handler must deny');
      return;
    }
  }
}

if (process.send) {
  process.on('message', (message) => {
    const request = /** @type {ControlRequest} */ (message);
    /** @type {ControlReply} */
    let reply;
    try {
      control(request);
      reply = { type: 'reply', id: request.id, state: shellState() };
    } catch (error) {
      reply = { type: 'reply', id: request.id, error: error instanceof Error ? error.message : String(error) };
    }
    if (process.connected) process.send?.(reply, () => {});
  });
}
