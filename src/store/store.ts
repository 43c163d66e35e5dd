// The outbox database, opened once, with what each caller needs of it: the delivery queue
// (capture and the sender), the read views (panel and CLI), endpoints, settings and storage.
import type { Database } from 'better-sqlite3';
import { openDatabase, openReadOnly } from './database.js';
import { Endpoints } from './endpoints.js';
import { MediaStore } from './media.js';
import { DeliveryQueue } from './queue.js';
import { secretBoxFromEnv, type SecretBox } from './secret-box.js';
import { SettingsStore } from './settings-store.js';
import { StorageStore } from './storage.js';
import type { CloseoutFigures, Recovering, StatusCounts, UploadCounts } from '../core/read-model.js';
import { DeliveryViews } from './views.js';

export interface Store {
  db: Database;
  queue: DeliveryQueue;
  views: DeliveryViews;
  endpoints: Endpoints;
  settings: SettingsStore;
  /** The organiser's storage for session photos. */
  storage: StorageStore;
  /** The files held for sessions, and their uploads. */
  media: MediaStore;
  /** A read-only connection of its own, for a long read (an export); the caller closes it. */
  openReader(): Database;
  close(): void;
}

export interface StoreOptions {
  nativeBinding?: string | undefined;
  /** Seals secrets at rest; by default the key in BOOTH_AGENT_SECRET_KEY, if any. */
  secretBox?: SecretBox;
}

export function openStore(file: string, options: StoreOptions = {}): Store {
  const db = openDatabase(file, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
  const box = options.secretBox ?? secretBoxFromEnv(process.env);
  return {
    db,
    queue: new DeliveryQueue(db),
    views: new DeliveryViews(db),
    endpoints: new Endpoints(db, box),
    settings: new SettingsStore(db, box),
    storage: new StorageStore(db, box),
    media: new MediaStore(db),
    openReader: () => openReadOnly(file, options.nativeBinding),
    close: () => db.close(),
  };
}

/** How delivery stands, in the few figures the panel header, the tray and `status` show. */
export interface DeliverySummary {
  paused: boolean;
  /** No enabled endpoint is held as unreachable. */
  online: boolean;
  heldSince: number | null;
  counts: StatusCounts;
  /** Of the failed ones, those that will be tried again by themselves: they do not need the operator yet. */
  recovering: Recovering;
  lastDeliveredAt: number | null;
  /** What "safe to pack up?" is decided on (core/closeout.ts): the guests' deliveries, and events sent nowhere. */
  closeout: CloseoutFigures;
  /** Sessions' files not in the storage yet, and those whose upload failed. */
  uploads: UploadCounts;
}

export function summarize(store: Store): DeliverySummary {
  const held = store.endpoints.list().filter((e) => e.enabled && e.unreachableSince !== null);
  return {
    paused: store.settings.read().paused,
    online: held.length === 0,
    heldSince: held.length === 0 ? null : Math.min(...held.map((e) => e.unreachableSince!)),
    counts: store.views.counts(),
    recovering: store.views.recovering(),
    lastDeliveredAt: store.views.lastDeliveredAt(),
    closeout: store.views.closeoutFigures(),
    uploads: store.media.counts(),
  };
}
