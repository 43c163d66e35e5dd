// The endpoints table: where webhooks go, with what secret, for which payload types.
import type { Database } from 'better-sqlite3';
import { monotonicFactory } from 'ulid';
import type { PayloadType } from '../core/payload.js';

export interface Endpoint {
  id: string;
  url: string;
  secret: string;
  /** Subscribed payload types; null means all of them. */
  types: PayloadType[] | null;
  enabled: boolean;
  disabledReason: string | null;
  strictOrder: boolean;
  /** An extra CA (PEM) this endpoint's certificate may chain to, beside the system's. */
  ca: string | null;
  unreachableSince: number | null;
  createdAt: number;
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
  created_at: number;
}

const newUlid = monotonicFactory();

export class Endpoints {
  private readonly s;

  constructor(db: Database) {
    this.s = {
      all: db.prepare(`SELECT * FROM endpoints ORDER BY created_at, id`),
      one: db.prepare(`SELECT * FROM endpoints WHERE id = ?`),
      insert: db.prepare(`
        INSERT INTO endpoints (id, url, secret, types, strict_order, ca, created_at)
        VALUES (@id, @url, @secret, @types, @strictOrder, @ca, @now)`),
      remove: db.prepare(`DELETE FROM endpoints WHERE id = ?`),
      setEnabled: db.prepare(`
        UPDATE endpoints SET enabled = @enabled, disabled_reason = @reason WHERE id = @id`),
    };
  }

  list(): Endpoint[] {
    return (this.s.all.all() as EndpointRow[]).map(toEndpoint);
  }

  get(id: string): Endpoint | null {
    const row = this.s.one.get(id) as EndpointRow | undefined;
    return row ? toEndpoint(row) : null;
  }

  add(endpoint: NewEndpoint, now: number): Endpoint {
    const id = `ep_${newUlid(now)}`;
    this.s.insert.run({
      id,
      url: endpoint.url,
      secret: endpoint.secret,
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
}

function toEndpoint(row: EndpointRow): Endpoint {
  return {
    id: row.id,
    url: row.url,
    secret: row.secret,
    types: row.types === null ? null : (JSON.parse(row.types) as PayloadType[]),
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason,
    strictOrder: row.strict_order === 1,
    ca: row.ca,
    unreachableSince: row.unreachable_since,
    createdAt: row.created_at,
  };
}
