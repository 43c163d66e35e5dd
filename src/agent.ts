// The composition root: one data folder, one outbox, one capture server, one delivery loop.
// `booth-agent run` and the Electron app's utility process (through agent-host.ts) both start
// an Agent here.
import type { Logger } from 'pino';
import { ulidFactory } from './core/ids.js';
import { ChangeFeed } from './server/change-feed.js';
import type { ApiIngestResult } from './capture/ingest.js';
import { mediaCaptureOf } from './media/capture.js';
import { Uploader } from './media/uploader.js';
import { storageConfig, type StorageSource } from './storage/config.js';
import { loadPanelFiles } from './server/panel-files.js';
import { DslrBooth } from './capture/dslrbooth.js';
import { HotFolder } from './capture/hot-folder.js';
import { HotFolderSetting } from './capture/hot-folder-setting.js';
import { startServer, type CaptureServer } from './server/server.js';
import { AlertMonitor } from './delivery/alerts.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { proxyConfigured, Sender } from './delivery/sender.js';
import { createLogger } from './log.js';
import { applyManagedConfig, managedConfigLocations, type ManagedConfigResult } from './managed-config.js';
import { prepareDataDir } from './store/data-dir.js';
import { acquireInstanceLock } from './store/instance-lock.js';
import { recordListening } from './store/live-agent.js';
import type { OperationContext } from './operations/context.js';
import { sessionQrCode } from './operations/sessions.js';
import { GroupCommit } from './store/group-commit.js';
import { startMaintenance } from './store/retention.js';
import { SecretsLockedError } from './store/secret-box.js';
import { openStore, type Store } from './store/store.js';
import { USER_AGENT, VERSION } from './version.js';

export interface AgentOptions {
  dataDir: string;
  /** Overrides the `port` setting; 0 picks a free port. */
  port?: number;
  /** Also log to stdout (as `booth-agent run` does). */
  logToStdout?: boolean;
  nativeBinding?: string;
  /** Time to let attempts in flight finish when stopping. */
  stopGraceMs?: number;
  /** Where to look for a managed configuration file (default: the platform's places). */
  managedConfig?: string[];
}

export interface Agent {
  port: number;
  store: Store;
  /** What operator actions (admin API, desktop host) run against in this agent. */
  operations: OperationContext;
  dispatcher: Dispatcher;
  /** Fires when anything in the outbox changed, whoever changed it. */
  changes: ChangeFeed;
  managedConfig: ManagedConfigResult;
  log: Logger;
  stop(): Promise<void>;
}

export const LEASE_OWNER_PREFIX = 'run:';

export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} on 127.0.0.1 is already in use; stop what uses it, or choose another with --port or "config set port N"`);
    this.name = 'PortInUseError';
  }
}

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const dir = prepareDataDir(options.dataDir);
  const lock = acquireInstanceLock(dir.lock, dir.root, options.nativeBinding);
  const cleanup: (() => unknown)[] = [() => lock.release()];
  try {
    const store = openStore(dir.database, { nativeBinding: options.nativeBinding });
    cleanup.unshift(() => store.close());
    // Never sign with the wrong secrets: without the key, a sealed outbox is not served.
    if (store.endpoints.locked().length > 0 || store.storage.locked()) throw new SecretsLockedError();
    store.settings.token('ingest_token');
    store.settings.token('admin_token');
    store.endpoints.sealStoredSecrets();
    store.storage.sealStoredSecret();
    store.settings.sealStoredTokens();
    const logger = createLogger({ logsDir: dir.logs, stdout: options.logToStdout ?? false });
    cleanup.unshift(() => logger.close());
    const { log } = logger;

    const owner = `${LEASE_OWNER_PREFIX}${ulidFactory()()}`;
    const released = store.queue.releaseOrphanedLeases(LEASE_OWNER_PREFIX, owner);
    if (released > 0) log.info({ released }, 'took back deliveries left in flight by an earlier run');

    const managedConfig = applyManagedConfig(
      store,
      options.managedConfig ?? managedConfigLocations(process.platform, process.env),
      Date.now(),
    );
    if (managedConfig.status === 'applied') log.info(managedConfig, 'managed configuration applied');
    if (managedConfig.status === 'invalid') log.error(managedConfig, 'managed configuration not applied');

    const initial = store.settings.read();
    const useProxy = proxyConfigured(process.env);
    if (useProxy) log.info('deliveries go through the proxy named in HTTPS_PROXY / HTTP_PROXY');
    const sender = new Sender({
      userAgent: USER_AGENT,
      connectTimeoutMs: initial.connect_timeout_ms,
      attemptTimeoutMs: initial.attempt_timeout_ms,
      useProxy,
    });
    const dispatcher = new Dispatcher({
      queue: store.queue,
      endpoints: store.endpoints,
      settings: () => store.settings.read(),
      sender,
      log,
      owner,
      // Behind a proxy a direct handshake says nothing about the endpoint: the next real
      // attempt (through the proxy) is the check, still backing off while it fails.
      ...(useProxy ? { checkReachable: async () => ({ ok: true as const, address: 'via proxy', tlsProtocol: null, durationMs: 0 }) } : {}),
    });

    // The agent's own events (docs/webhooks.md, "Alerts"), captured into the same outbox.
    const alerts = new AlertMonitor({ store, log, wake: () => dispatcher.wake(), agentVersion: VERSION });
    const storage: StorageSource = () => storageConfig(store);
    const uploader = new Uploader({
      media: store.media,
      storage,
      settings: () => store.settings.read(),
      log,
      released: () => dispatcher.wake(),
    });
    cleanup.unshift(() => uploader.stop());

    let server: CaptureServer | null = null;
    const operations: OperationContext = {
      store,
      log,
      wake: () => {
        dispatcher.wake();
        uploader.wake();
      },
      livePort: () => server?.port ?? null,
      sender: () => sender,
      owner,
      now: Date.now,
    };

    const changes = new ChangeFeed(dir.database, options.nativeBinding);
    cleanup.unshift(() => changes.close());

    /** The JSON API: requests that arrive together are committed together (group commit). */
    const group = new GroupCommit(store.db);
    const media = mediaCaptureOf(store, dir.media, {
      storage,
      commit: (event, now, window) =>
        group.run(
          () => store.queue.capture(event, now, window),
          () => store.queue.captureBare(event, now, window),
        ),
      diskLow: (disk) => alerts.diskLow(disk),
      log,
    });
    const captureRequest = async (body: Buffer, idempotencyKey: string | null): Promise<ApiIngestResult> => {
      const result = await media.capture(body, { idempotencyKey }, store.settings.read(), Date.now());
      if (result.kind === 'accepted') {
        log.info({ event: result.id, deliveries: result.deliveries }, 'captured');
        dispatcher.wake();
        if (result.links !== undefined) uploader.wake();
      } else if (result.kind === 'unavailable') {
        log.error({ error: result.error }, 'capture refused');
      }
      return result;
    };
    const dslrBooth = new DslrBooth(store.db, {
      settings: () => store.settings.read(),
      capture: (body) => captureRequest(body, null),
      storageSet: () => storage() !== null,
      log,
    });
    cleanup.unshift(() => dslrBooth.idle());
    const hotFolder = new HotFolderSetting(
      new HotFolder(store.db, {
        settings: () => store.settings.read(),
        capture: (body) => captureRequest(body, null),
        storageSet: () => storage() !== null,
        log,
      }),
      log,
    );
    cleanup.unshift(() => hotFolder.close());
    // Before the capture server answers: a booth program that saves a file once it does must
    // find it sent, not taken for one already there.
    hotFolder.firstLook(initial);

    const port = options.port ?? initial.port;
    try {
      server = await startServer({
        port,
        version: VERSION,
        ingestToken: () => store.settings.token('ingest_token'),
        ingest: captureRequest,
        receiveMedia: (sessionId, name, body, declaredSize) => media.receive(sessionId, name, body, declaredSize, store.settings.read()),
        sessionQrCode: (sessionId, format) => sessionQrCode(operations, sessionId, format),
        trigger: (trigger) => {
          dslrBooth
            .handle(trigger)
            .catch((error: unknown) => log.error({ err: error, dslrbooth: trigger.eventType }, 'dslrBooth trigger could not be handled'));
        },
        log,
        panel: {
          api: { operations, changes, version: VERSION, userAgent: USER_AGENT, managedConfig },
          files: loadPanelFiles(),
        },
      });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EADDRINUSE') throw new PortInUseError(port);
      throw error;
    }
    const listening = server;
    cleanup.unshift(recordListening(dir, listening.port));
    dispatcher.start();
    uploader.start();
    alerts.start();
    cleanup.unshift(() => alerts.stop());
    cleanup.unshift(startMaintenance(store, log, [(cutoff) => dslrBooth.prune(cutoff)]));
    await hotFolder.follow(() => store.settings.read());
    log.info({ url: `http://127.0.0.1:${listening.port}`, version: VERSION, dataDir: dir.root }, 'listening');

    let stopping: Promise<void> | null = null;
    return {
      port: listening.port,
      store,
      operations,
      dispatcher,
      changes,
      managedConfig,
      log,
      stop: () =>
        (stopping ??= (async () => {
          await listening.close();
          alerts.stop();
          await dispatcher.stop(options.stopGraceMs ?? 5000);
          await sender.close();
          log.info('stopped');
          for (const step of cleanup) await step();
        })()),
    };
  } catch (error) {
    for (const step of cleanup) await step();
    throw error;
  }
}
