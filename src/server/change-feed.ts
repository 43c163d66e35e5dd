// "Something in the outbox changed": for the panel's live view. A read-only connection of
// its own sees SQLite's data_version move whenever any other connection commits (the
// agent's, a CLI command's, `emit`), so one cheap check covers every writer. It only
// polls while a panel is listening.
import BetterSqlite3, { type Database } from 'better-sqlite3';

const POLL_MS = 200;

export class ChangeFeed {
  private readonly listeners = new Set<() => void>();
  private db: Database | null = null;
  private timer: NodeJS.Timeout | null = null;
  private version = -1;

  constructor(
    private readonly file: string,
    private readonly nativeBinding?: string,
  ) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private start(): void {
    this.db = new BetterSqlite3(this.file, { readonly: true, ...(this.nativeBinding ? { nativeBinding: this.nativeBinding } : {}) });
    this.version = this.read();
    this.timer = setInterval(() => {
      const version = this.read();
      if (version === this.version) return;
      this.version = version;
      for (const listener of this.listeners) listener();
    }, POLL_MS);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.db?.close();
    this.db = null;
  }

  private read(): number {
    return this.db!.pragma('data_version', { simple: true }) as number;
  }
}
