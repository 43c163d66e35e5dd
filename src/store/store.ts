// The outbox database with its three views, opened together.
import type { Database } from 'better-sqlite3';
import { openDatabase } from './database.js';
import { Endpoints } from './endpoints.js';
import { Outbox } from './outbox.js';
import { SettingsStore } from './settings-store.js';

export interface Store {
  db: Database;
  outbox: Outbox;
  endpoints: Endpoints;
  settings: SettingsStore;
  close(): void;
}

export function openStore(file: string, nativeBinding?: string): Store {
  const db = openDatabase(file, nativeBinding ? { nativeBinding } : {});
  return {
    db,
    outbox: new Outbox(db),
    endpoints: new Endpoints(db),
    settings: new SettingsStore(db),
    close: () => db.close(),
  };
}
