// The organiser's storage: one row, its secret sealed at rest like an endpoint's.
import type { Database } from 'better-sqlite3';
import { isSealed, SecretsLockedError, type SecretBox } from './secret-box.js';

export interface StoredStorage {
  url: string;
  region: string;
  bucket: string;
  /** Where in the bucket the files go: '' or text ending in '/'. */
  prefix: string;
  accessKeyId: string;
  /** The secret access key; '' when it is sealed and this process cannot open it. */
  secretAccessKey: string;
  /** The address guests open files under; null: links are presigned. */
  publicUrl: string | null;
  pathStyle: boolean;
  ca: string | null;
  updatedAt: number;
  /** The secret is sealed with a key this process does not have. */
  secretLocked: boolean;
}

export type StorageInput = Omit<StoredStorage, 'updatedAt' | 'secretLocked'>;

interface StorageRow {
  url: string;
  region: string;
  bucket: string;
  prefix: string;
  access_key_id: string;
  secret: string;
  public_url: string | null;
  path_style: number;
  ca: string | null;
  updated_at: number;
}

export class StorageStore {
  private readonly s;

  constructor(
    db: Database,
    private readonly box: SecretBox,
  ) {
    this.s = {
      get: db.prepare(`SELECT * FROM storage WHERE id = 1`),
      set: db.prepare(`
        INSERT INTO storage (id, url, region, bucket, prefix, access_key_id, secret, public_url, path_style, ca, updated_at)
        VALUES (1, @url, @region, @bucket, @prefix, @accessKeyId, @secret, @publicUrl, @pathStyle, @ca, @now)
        ON CONFLICT (id) DO UPDATE SET url = excluded.url, region = excluded.region, bucket = excluded.bucket,
          prefix = excluded.prefix, access_key_id = excluded.access_key_id, secret = excluded.secret,
          public_url = excluded.public_url, path_style = excluded.path_style, ca = excluded.ca, updated_at = excluded.updated_at`),
      setSecret: db.prepare(`UPDATE storage SET secret = ? WHERE id = 1`),
      remove: db.prepare(`DELETE FROM storage WHERE id = 1`),
    };
  }

  /** The storage, with its secret opened when this process can; null when none is set. */
  get(): StoredStorage | null {
    const row = this.s.get.get() as StorageRow | undefined;
    if (!row) return null;
    const secret = this.box.open(row.secret);
    return {
      url: row.url,
      region: row.region,
      bucket: row.bucket,
      prefix: row.prefix,
      accessKeyId: row.access_key_id,
      secretAccessKey: secret ?? '',
      publicUrl: row.public_url,
      pathStyle: row.path_style === 1,
      ca: row.ca,
      updatedAt: row.updated_at,
      secretLocked: secret === null,
    };
  }

  /** The storage with a secret this process can sign with; throws when it is sealed. */
  unlocked(): StoredStorage | null {
    const storage = this.get();
    if (storage?.secretLocked) throw new SecretsLockedError();
    return storage;
  }

  /** Whether a storage is set whose secret this process cannot open. */
  locked(): boolean {
    return this.get()?.secretLocked ?? false;
  }

  set(storage: StorageInput, now: number): void {
    this.s.set.run({
      ...storage,
      secret: this.box.seal(storage.secretAccessKey),
      pathStyle: storage.pathStyle ? 1 : 0,
      now,
    });
  }

  /** Forgets the storage; false when none was set. */
  remove(): boolean {
    return this.s.remove.run().changes > 0;
  }

  /** Seals a secret stored before a key was given (the first start of the desktop app). */
  sealStoredSecret(): void {
    if (!this.box.keyed) return;
    const row = this.s.get.get() as StorageRow | undefined;
    if (row && !isSealed(row.secret)) this.s.setSecret.run(this.box.seal(row.secret));
  }
}
