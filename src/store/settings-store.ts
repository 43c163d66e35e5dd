// Settings and generated tokens, stored as JSON text by key.
import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { DEFAULT_SETTINGS, settingsSchema, type SettingKey, type Settings } from '../core/settings.js';
import { isSealed, SecretsLockedError, type SecretBox } from './secret-box.js';

/** Secrets the agent generates for itself; never listed by `config get`. */
export type TokenName = 'ingest_token' | 'admin_token';

export class SettingsStore {
  private readonly s;
  /** The last read, kept until this connection writes or `data_version` says another did. */
  private cached: { dataVersion: number; settings: Readonly<Settings> } | null = null;

  constructor(db: Database, private readonly box: SecretBox) {
    this.s = {
      all: db.prepare(`SELECT key, value FROM settings`),
      get: db.prepare(`SELECT value FROM settings WHERE key = ?`),
      upsert: db.prepare(`
        INSERT INTO settings (key, value) VALUES (?, ?)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
      insertIfAbsent: db.prepare(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`),
      dataVersion: db.prepare(`PRAGMA data_version`).pluck(),
    };
  }

  /**
   * Every setting, stored values over defaults. A stored value that no longer validates
   * falls back to its default. Read on every capture and every turn of the delivery loop,
   * so it is parsed again only when the database changed under another connection (the
   * CLI, the panel's `config set` from another process) or through this store.
   */
  read(): Readonly<Settings> {
    const dataVersion = this.s.dataVersion.get() as number;
    if (this.cached?.dataVersion !== dataVersion) this.cached = { dataVersion, settings: Object.freeze(this.parse()) };
    return this.cached.settings;
  }

  private parse(): Settings {
    const stored: Record<string, unknown> = {};
    for (const row of this.s.all.all() as { key: string; value: string }[]) {
      if (row.key in settingsSchema.shape) stored[row.key] = JSON.parse(row.value);
    }
    const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
    for (const [key, value] of Object.entries(stored)) {
      const parsed = settingsSchema.shape[key as SettingKey].safeParse(value);
      if (parsed.success) settings[key] = parsed.data;
    }
    return settings as Settings;
  }

  write<K extends SettingKey>(key: K, value: Settings[K]): void {
    this.s.upsert.run(key, JSON.stringify(value));
    this.cached = null;
  }

  /** A random token, created the first time it is asked for and kept from then on. */
  token(name: TokenName): string {
    // Read first: this runs on every request, and a write would cost a disk sync each time.
    let row = this.s.get.get(name) as { value: string } | undefined;
    if (!row) {
      this.s.insertIfAbsent.run(name, JSON.stringify(this.box.seal(randomBytes(24).toString('base64url'))));
      row = this.s.get.get(name) as { value: string };
    }
    const token = this.box.open(JSON.parse(row.value) as string);
    if (token === null) throw new SecretsLockedError();
    return token;
  }

  rotateToken(name: TokenName): string {
    const token = randomBytes(24).toString('base64url');
    this.s.upsert.run(name, JSON.stringify(this.box.seal(token)));
    return token;
  }

  /** Seals tokens stored before a key was given. */
  sealStoredTokens(): void {
    if (!this.box.keyed) return;
    for (const name of ['ingest_token', 'admin_token'] as const) {
      const row = this.s.get.get(name) as { value: string } | undefined;
      if (!row) continue;
      const stored = JSON.parse(row.value) as string;
      if (!isSealed(stored)) this.s.upsert.run(name, JSON.stringify(this.box.seal(stored)));
    }
  }
}
