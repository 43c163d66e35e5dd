// One `booth-agent run` per data folder. The lock is an exclusive SQLite lock on a small
// file of its own: the operating system releases it when the process ends in any way
// (SIGKILL, power cut, crash), so a stale lock can never keep the agent from restarting,
// and no PID file has to be guessed about. It works the same on Windows.
import BetterSqlite3, { type Database } from 'better-sqlite3';

export class AlreadyRunningError extends Error {
  constructor(readonly dataDir: string) {
    super(`another booth-agent is already running on the data folder ${dataDir}; stop it first, or use another --data-dir`);
    this.name = 'AlreadyRunningError';
  }
}

export interface InstanceLock {
  release(): void;
}

export function acquireInstanceLock(lockFile: string, dataDir: string, nativeBinding?: string): InstanceLock {
  const db: Database = new BetterSqlite3(lockFile, { timeout: 0, ...(nativeBinding ? { nativeBinding } : {}) });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in this locking mode it is kept until close.
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder;');
    db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
  } catch (error) {
    db.close();
    if (error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_BUSY')) {
      throw new AlreadyRunningError(dataDir);
    }
    throw error;
  }
  return { release: () => db.close() };
}
