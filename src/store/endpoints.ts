// The endpoints table: where webhooks go, with what secret, for which payload types.
import type { Database } from 'better-sqlite3';
import type { TypeFilter } from '../core/event-types.js';
import type { PayloadFormat } from '../core/formats.js';
import { ulidFactory } from '../core/ids.js';
import type { EndpointView } from '../core/read-model.js';
import type { AutoRecover } from '../core/recovery.js';
import type { EndpointSecrets } from '../core/signing.js';
import { isSealed, SecretsLockedError, type SecretBox } from './secret-box.js';

export interface Endpoint extends Omit<EndpointView, 'hasCa' | 'headerNames'>, EndpointSecrets {
  /** An extra CA (PEM) this endpoint's certificate may chain to, beside the system's. */
  ca: string | null;
  /** Extra headers sent with each delivery, by name (sealed at rest like the secrets). */
  headers: Record<string, string>;
}

export interface NewEndpoint {
  url: string;
  secret: string;
  types: TypeFilter[] | null;
  strictOrder: boolean;
  ca: string | null;
  /** Default: on. */
  autoRecover?: AutoRecover;
  /** Default: snappic, the contract's bytes. */
  format?: PayloadFormat;
  /** Default: no limit. */
  maxPerMinute?: number | null;
  headers?: Record<string, string>;
}

interface EndpointRow {
  id: string;
  url: string;
  secret: string;
  types: string | null;
  enabled: number;
  disabled_reason: string | null;
  disabled_at: number | null;
  strict_order: number;
  ca: string | null;
  unreachable_since: number | null;
  previous_secret: string | null;
  previous_secret_until: number | null;
  rotation_pending: number;
  clock_skew_ms: number | null;
  created_at: number;
  auto_recover: AutoRecover;
  headers: string | null;
  format: PayloadFormat;
  max_per_minute: number | null;
  in_flight_limit: number | null;
}

/** An endpoint as listings show it: everything but its secrets, CA and header values. */
export function publicEndpoint(endpoint: Endpoint): EndpointView {
  const { secret: _secret, previousSecret: _previous, ca, headers, ...rest } = endpoint;
  return { ...rest, hasCa: ca !== null, headerNames: Object.keys(headers) };
}

/** What the operator can change on an endpoint. */
export interface EndpointChanges {
  url?: string;
  types?: TypeFilter[] | null;
  strictOrder?: boolean;
  /** An extra CA (PEM) to trust for this endpoint; null removes it. */
  ca?: string | null;
  autoRecover?: AutoRecover;
  format?: PayloadFormat;
  /** null removes the limit. */
  maxPerMinute?: number | null;
  /** Every extra header the endpoint is to have from now on. */
  headers?: Record<string, string>;
}

const newUlid = ulidFactory();

export class Endpoints {
  private readonly s;
  /**
   * The endpoints as last read, with the outbox's endpoints_version token at that read:
   * valid while the token is the same, whoever changed the table (this connection, the CLI,
   * a transaction since rolled back). The delivery loop reads them on every turn, and
   * opening sealed secrets costs more than the turn's own queries.
   */
  private cache: { token: number; endpoints: readonly Endpoint[] } | null = null;

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
  ) {
    this.s = {
      all: db.prepare(`SELECT * FROM endpoints ORDER BY created_at, id`),
      version: db.prepare(`SELECT token FROM endpoints_version`).pluck(),
      insert: db.prepare(`
        INSERT INTO endpoints (id, url, secret, types, strict_order, ca, auto_recover, format, max_per_minute, headers, created_at)
        VALUES (@id, @url, @secret, @types, @strictOrder, @ca, @autoRecover, @format, @maxPerMinute, @headers, @now)`),
      remove: db.prepare(`DELETE FROM endpoints WHERE id = ?`),
      setEnabled: db.prepare(`
        UPDATE endpoints SET enabled = @enabled, disabled_reason = @reason,
          disabled_at = CASE WHEN @enabled THEN NULL WHEN enabled THEN @now ELSE disabled_at END
        WHERE id = @id`),
      update: db.prepare(`
        UPDATE endpoints SET url = COALESCE(@url, url), types = CASE WHEN @setTypes THEN @types ELSE types END,
          strict_order = COALESCE(@strictOrder, strict_order), ca = CASE WHEN @setCa THEN @ca ELSE ca END,
          auto_recover = COALESCE(@autoRecover, auto_recover), format = COALESCE(@format, format),
          max_per_minute = CASE WHEN @setMaxPerMinute THEN @maxPerMinute ELSE max_per_minute END,
          headers = CASE WHEN @setHeaders THEN @headers ELSE headers END,
          in_flight_limit = CASE WHEN @url IS NOT NULL AND @url <> url THEN NULL ELSE in_flight_limit END
        WHERE id = @id`),
      rotate: db.prepare(`
        UPDATE endpoints SET previous_secret = CASE WHEN rotation_pending = 1 THEN previous_secret ELSE secret END,
          secret = @secret, previous_secret_until = @until, rotation_pending = 1
        WHERE id = @id`),
      confirmRotation: db.prepare(`UPDATE endpoints SET rotation_pending = 0 WHERE id = ? AND rotation_pending = 1`),
      setInFlightLimit: db.prepare(`UPDATE endpoints SET in_flight_limit = ? WHERE id = ?`),
      setSecrets: db.prepare(`UPDATE endpoints SET secret = ?, previous_secret = ?, headers = ? WHERE id = ?`),
    };
  }

  /** Every endpoint, oldest first; shared between callers, and so frozen. */
  list(): readonly Endpoint[] {
    const token = this.s.version.get() as number;
    if (this.cache?.token !== token) {
      const endpoints = (this.s.all.all() as EndpointRow[]).map((row) => frozen(this.toEndpoint(row)));
      this.cache = { token, endpoints: Object.freeze(endpoints) };
    }
    return this.cache.endpoints;
  }

  get(id: string): Endpoint | null {
    return this.list().find((endpoint) => endpoint.id === id) ?? null;
  }

  /** Endpoints whose secrets this process cannot open. */
  locked(): readonly Endpoint[] {
    return this.list().filter((e) => e.secretsLocked);
  }

  /** Seals secrets stored before a key was given (the first start of the desktop app). */
  sealStoredSecrets(): number {
    if (!this.box.keyed) return 0;
    const plain = (value: string | null) => value !== null && !isSealed(value);
    const rows = (this.s.all.all() as EndpointRow[]).filter((r) => plain(r.secret) || plain(r.previous_secret) || plain(r.headers));
    this.db.transaction(() => {
      for (const row of rows) {
        const seal = (value: string | null) => (value === null || isSealed(value) ? value : this.box.seal(value));
        this.s.setSecrets.run(seal(row.secret), seal(row.previous_secret), seal(row.headers), row.id);
      }
    })();
    return rows.length;
  }

  private toEndpoint(row: EndpointRow): Endpoint {
    const secret = this.box.open(row.secret);
    const previous = row.previous_secret === null ? null : this.box.open(row.previous_secret);
    const headers = row.headers === null ? null : this.box.open(row.headers);
    const secretsLocked =
      secret === null || (row.previous_secret !== null && previous === null) || (row.headers !== null && headers === null);
    return {
      id: row.id,
      url: row.url,
      secret: secret ?? '',
      types: row.types === null ? null : (JSON.parse(row.types) as TypeFilter[]),
      enabled: row.enabled === 1,
      disabledReason: row.disabled_reason,
      disabledAt: row.disabled_at,
      strictOrder: row.strict_order === 1,
      autoRecover: row.auto_recover,
      format: row.format,
      maxPerMinute: row.max_per_minute,
      inFlightLimit: row.strict_order === 1 ? 1 : row.in_flight_limit,
      headers: headers === null ? {} : (JSON.parse(headers) as Record<string, string>),
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
      autoRecover: endpoint.autoRecover ?? 'on',
      format: endpoint.format ?? 'snappic',
      maxPerMinute: endpoint.maxPerMinute ?? null,
      headers: this.sealHeaders(endpoint.headers ?? {}),
      now,
    });
    return this.get(id)!;
  }

  /** Removes the endpoint with its deliveries and their attempts. */
  remove(id: string): boolean {
    return this.s.remove.run(id).changes > 0;
  }

  setEnabled(id: string, enabled: boolean, reason: string | null, now: number): boolean {
    return this.s.setEnabled.run({ id, enabled: enabled ? 1 : 0, reason: enabled ? null : reason, now }).changes > 0;
  }

  /** The headers as stored: null when there are none, sealed like a secret otherwise. */
  private sealHeaders(headers: Record<string, string>): string | null {
    return Object.keys(headers).length === 0 ? null : this.box.seal(JSON.stringify(headers));
  }

  /** A new URL is another receiver: its in-flight limit is found again from scratch. */
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
        autoRecover: changes.autoRecover ?? null,
        format: changes.format ?? null,
        setMaxPerMinute: changes.maxPerMinute !== undefined ? 1 : 0,
        maxPerMinute: changes.maxPerMinute ?? null,
        setHeaders: changes.headers !== undefined ? 1 : 0,
        headers: changes.headers === undefined ? null : this.sealHeaders(changes.headers),
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

  /** The delivery loop's in-flight limit for the endpoint, as it last found it. */
  setInFlightLimit(id: string, limit: number): void {
    this.s.setInFlightLimit.run(limit, id);
  }
}

function frozen(endpoint: Endpoint): Endpoint {
  Object.freeze(endpoint.headers);
  if (endpoint.types) Object.freeze(endpoint.types);
  return Object.freeze(endpoint);
}
