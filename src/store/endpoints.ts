// The endpoints table: where webhooks go, with what secret, for which payload types.
import type { Database } from 'better-sqlite3';
import { ulidFactory } from '../core/ids.js';
import type { PayloadType } from '../core/payload.js';
import type { EndpointView } from '../core/read-model.js';
import type { EndpointSecrets } from '../core/signing.js';
import { isSealed, SecretsLockedError, type SecretBox } from './secret-box.js';

export interface Endpoint extends Omit<EndpointView, 'hasCa'>, EndpointSecrets {
  /** An extra CA (PEM) this endpoint's certificate may chain to, beside the system's. */
  ca: string | null;
}

export interface NewEndpoint {
  url: string;
  secret: string;
  types: PayloadType[] | null;
  strictOrder: boolean;
  ca: string | null;
}

interface EndpointRow {
  id: string;
  url: string;
  secret: string;
  types: string | null;
  enabled: number;
  disabled_reason: string | null;
  strict_order: number;
  ca: string | null;
  unreachable_since: number | null;
  previous_secret: string | null;
  previous_secret_until: number | null;
  rotation_pending: number;
  clock_skew_ms: number | null;
  created_at: number;
}

/** An endpoint as listings show it: everything but its secrets and CA. */
export function publicEndpoint(endpoint: Endpoint): EndpointView {
  const { secret: _secret, previousSecret: _previous, ca, ...rest } = endpoint;
  return { ...rest, hasCa: ca !== null };
}

/** What the operator can change on an endpoint. */
export interface EndpointChanges {
  url?: string;
  types?: PayloadType[] | null;
  strictOrder?: boolean;
  /** An extra CA (PEM) to trust for this endpoint; null removes it. */
  ca?: string | null;
}

const newUlid = ulidFactory();

export class Endpoints {
  private readonly s;

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
  ) {
    this.s = {
      all: db.prepare(`SELECT * FROM endpoints ORDER BY created_at, id`),
      one: db.prepare(`SELECT * FROM endpoints WHERE id = ?`),
      insert: db.prepare(`
        INSERT INTO endpoints (id, url, secret, types, strict_order, ca, created_at)
        VALUES (@id, @url, @secret, @types, @strictOrder, @ca, @now)`),
      remove: db.prepare(`DELETE FROM endpoints WHERE id = ?`),
      setEnabled: db.prepare(`
        UPDATE endpoints SET enabled = @enabled, disabled_reason = @reason WHERE id = @id`),
      update: db.prepare(`
        UPDATE endpoints SET url = COALESCE(@url, url), types = CASE WHEN @setTypes THEN @types ELSE types END,
          strict_order = COALESCE(@strictOrder, strict_order), ca = CASE WHEN @setCa THEN @ca ELSE ca END
        WHERE id = @id`),
      rotate: db.prepare(`
        UPDATE endpoints SET previous_secret = CASE WHEN rotation_pending = 1 THEN previous_secret ELSE secret END,
          secret = @secret, previous_secret_until = @until, rotation_pending = 1
        WHERE id = @id`),
      confirmRotation: db.prepare(`UPDATE endpoints SET rotation_pending = 0 WHERE id = ? AND rotation_pending = 1`),
      setSecrets: db.prepare(`UPDATE endpoints SET secret = ?, previous_secret = ? WHERE id = ?`),
    };
  }

  list(): Endpoint[] {
    return (this.s.all.all() as EndpointRow[]).map((row) => this.toEndpoint(row));
  }

  get(id: string): Endpoint | null {
    const row = this.s.one.get(id) as EndpointRow | undefined;
    return row ? this.toEndpoint(row) : null;
  }

  /** Endpoints whose secrets this process cannot open. */
  locked(): Endpoint[] {
    return this.list().filter((e) => e.secretsLocked);
  }

  /** Seals secrets stored before a key was given (the first start of the desktop app). */
  sealStoredSecrets(): number {
    if (!this.box.keyed) return 0;
    const rows = (this.s.all.all() as EndpointRow[]).filter(
      (r) => !isSealed(r.secret) || (r.previous_secret !== null && !isSealed(r.previous_secret)),
    );
    this.db.transaction(() => {
      for (const row of rows) {
        const seal = (value: string) => (isSealed(value) ? value : this.box.seal(value));
        this.s.setSecrets.run(seal(row.secret), row.previous_secret === null ? null : seal(row.previous_secret), row.id);
      }
    })();
    return rows.length;
  }

  private toEndpoint(row: EndpointRow): Endpoint {
    const secret = this.box.open(row.secret);
    const previous = row.previous_secret === null ? null : this.box.open(row.previous_secret);
    const secretsLocked = secret === null || (row.previous_secret !== null && previous === null);
    return {
      id: row.id,
      url: row.url,
      secret: secret ?? '',
      types: row.types === null ? null : (JSON.parse(row.types) as PayloadType[]),
      enabled: row.enabled === 1,
      disabledReason: row.disabled_reason,
      strictOrder: row.strict_order === 1,
      ca: row.ca,
      unreachableSince: row.unreachable_since,
      previousSecret: previous,
      previousSecretUntil: row.previous_secret_until,
      rotationPending: row.rotation_pending === 1,
      clockSkewMs: row.clock_skew_ms,
      secretsLocked,
      createdAt: row.created_at,
    };
  }

  /** The endpoint, with secrets this process can sign with; throws when they are sealed. */
  unlocked(id: string): Endpoint | null {
    const endpoint = this.get(id);
    if (endpoint?.secretsLocked) throw new SecretsLockedError();
    return endpoint;
  }

  add(endpoint: NewEndpoint, now: number): Endpoint {
    const id = `ep_${newUlid(now)}`;
    this.s.insert.run({
      id,
      url: endpoint.url,
      secret: this.box.seal(endpoint.secret),
      types: endpoint.types === null ? null : JSON.stringify(endpoint.types),
      strictOrder: endpoint.strictOrder ? 1 : 0,
      ca: endpoint.ca,
      now,
    });
    return this.get(id)!;
  }

  /** Removes the endpoint with its deliveries and their attempts. */
  remove(id: string): boolean {
    return this.s.remove.run(id).changes > 0;
  }

  setEnabled(id: string, enabled: boolean, reason: string | null = null): boolean {
    return this.s.setEnabled.run({ id, enabled: enabled ? 1 : 0, reason: enabled ? null : reason }).changes > 0;
  }

  update(id: string, changes: EndpointChanges): boolean {
    return (
      this.s.update.run({
        id,
        url: changes.url ?? null,
        setTypes: changes.types !== undefined ? 1 : 0,
        types: changes.types ? JSON.stringify(changes.types) : null,
        strictOrder: changes.strictOrder === undefined ? null : changes.strictOrder ? 1 : 0,
        setCa: changes.ca !== undefined ? 1 : 0,
        ca: changes.ca ?? null,
      }).changes > 0
    );
  }

  /**
   * Starts a rotation: `secret` becomes the new one, the old one keeps signing beside it
   * until `previousUntil`, and X-Signature stays on the old one until the operator
   * confirms. Rotating again before confirming keeps the secret receivers still check.
   */
  rotateSecret(id: string, secret: string, previousUntil: number): boolean {
    return this.s.rotate.run({ id, secret: this.box.seal(secret), until: previousUntil }).changes > 0;
  }

  confirmRotation(id: string): boolean {
    return this.s.confirmRotation.run(id).changes > 0;
  }
}
