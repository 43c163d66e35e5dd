// Opening the outbox database. The pragmas are the durability promise of the contract:
// WAL so readers (the CLI, the panel) never block the sender, and synchronous=FULL so a
// capture acknowledged to the booth is on the disk even if the power goes the next moment;
// secure_delete so guests' data that is removed does not stay in the file.
import { chmodSync, existsSync } from 'node:fs';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { migrate, NewerDatabaseError, SCHEMA_VERSION } from './migrations.js';

export interface OpenOptions {
  /** Path to a better-sqlite3 native binding built for another runtime (the Electron app). */
  nativeBinding?: string;
  /** Open without applying migrations (for tests that step through them). */
  migrate?: boolean;
}

export class UnreadableDatabaseError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(
      `the database ${file} cannot be read (${cause instanceof Error ? cause.message : String(cause)}). ` +
        'It was left as it is for recovery; see "Recovering a damaged database" in the README.',
      { cause },
    );
    this.name = 'UnreadableDatabaseError';
  }
}

export function openDatabase(file: string, options: OpenOptions = {}): Database {
  const db = new BetterSqlite3(file, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
  let version: number;
  try {
    // Reading the schema first proves the file is a database before anything is written to it.
    db.pragma('schema_version');
    version = db.pragma('user_version', { simple: true }) as number;
  } catch (error) {
    db.close();
    throw new UnreadableDatabaseError(file, error);
  }
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new NewerDatabaseError(version, SCHEMA_VERSION);
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // What is deleted or overwritten (an erased guest's address, a pruned event) is zeroed on
  // the disk rather than left in free pages for anyone who reads the file.
  db.pragma('secure_delete = ON');
  restrictToOwner(file);
  if (options.migrate !== false) {
    try {
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }
  return db;
}

/**
 * A read-only connection of its own to an outbox another connection has opened (and
 * migrated), for a long read that must not hold that connection: WAL lets it read one
 * snapshot while the other goes on writing.
 */
export function openReadOnly(file: string, nativeBinding?: string): Database {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true, ...(nativeBinding ? { nativeBinding } : {}) });
  db.pragma('busy_timeout = 5000');
  return db;
}

/** The outbox holds secrets and guests' personal data: readable by this user only. */
function restrictToOwner(file: string): void {
  if (process.platform === 'win32') return;
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(path)) chmodSync(path, 0o600);
  }
}
