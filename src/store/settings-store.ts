// Settings and generated tokens, stored as JSON text by key.
import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { DEFAULT_SETTINGS, settingsSchema, type SettingKey, type Settings } from '../core/settings.js';
import { isSealed, SecretsLockedError, type SecretBox } from './secret-box.js';

/** Secrets the agent generates for itself; never listed by `config get`. */
export type TokenName = 'ingest_token' | 'admin_token';

const ERASE_SALT = 'erase_salt';

/** A change made by another process (the CLI's `config set`, `token --rotate`) is seen within this. */
const RECHECK_MS = 50;

export class SettingsStore {
  private readonly s;
  private checkedAt = -Infinity;
  /**
   * What was read last, kept until this store writes or `data_version` says another
   * connection did (checked at most every RECHECK_MS): settings and tokens are read on
   * every capture and every attempt, and change a few times a day.
   */
  private cache: { dataVersion: number; settings: Readonly<Settings> | null; tokens: Map<TokenName, string> } = {
    dataVersion: -1,
    settings: null,
    tokens: new Map(),
  };

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
  ) {
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

  /** Every setting, stored values over defaults. A stored value that no longer validates falls back to its default. */
  read(): Readonly<Settings> {
    const cache = this.fresh();
    return (cache.settings ??= Object.freeze(this.parse()));
  }

  private fresh(): SettingsStore['cache'] {
    const now = performance.now();
    if (this.cache.dataVersion !== -1 && now - this.checkedAt < RECHECK_MS) return this.cache;
    this.checkedAt = now;
    const dataVersion = this.s.dataVersion.get() as number;
    if (this.cache.dataVersion !== dataVersion) this.cache = { dataVersion, settings: null, tokens: new Map() };
    return this.cache;
  }

  private forget(): void {
    this.cache.dataVersion = -1;
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
    this.forget();
  }

  /** Several settings in one transaction: all of them change, or none. */
  writeAll(changes: Partial<Settings>): void {
    this.db.transaction(() => {
      for (const [key, value] of Object.entries(changes)) this.s.upsert.run(key, JSON.stringify(value));
    })();
    this.forget();
  }

  /** A random token, created the first time it is asked for and kept from then on. */
  token(name: TokenName): string {
    const cached = this.fresh().tokens.get(name);
    if (cached !== undefined) return cached;
    // Read first: a write would cost a disk sync each time.
    let row = this.s.get.get(name) as { value: string } | undefined;
    if (!row) {
      this.s.insertIfAbsent.run(name, JSON.stringify(this.box.seal(randomBytes(24).toString('base64url'))));
      row = this.s.get.get(name) as { value: string };
    }
    const token = this.box.open(JSON.parse(row.value) as string);
    if (token === null) throw new SecretsLockedError();
    this.cache.tokens.set(name, token);
    return token;
  }

  /**
   * The salt of the erase audit's hashes, random per data folder and made at the first
   * erase. Not sealed: an erase must work from the command line on the desktop app's folder,
   * and the hashes only need to differ from one folder to the next.
   */
  eraseSalt(): string {
    this.s.insertIfAbsent.run(ERASE_SALT, JSON.stringify(randomBytes(32).toString('base64url')));
    return JSON.parse((this.s.get.get(ERASE_SALT) as { value: string }).value) as string;
  }

  rotateToken(name: TokenName): string {
    const token = randomBytes(24).toString('base64url');
    this.s.upsert.run(name, JSON.stringify(this.box.seal(token)));
    this.forget();
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
