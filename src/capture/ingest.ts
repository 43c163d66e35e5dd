// Every way an event comes in (the JSON API, `booth-agent emit`, dslrBooth's triggers and the
// hot folder) ends here: validate and complete; media/capture.ts takes the session's file in
// and commits to the outbox.
//
// The stored body is the booth's own bytes. When it leaves out `event_id` or `timestamp`,
// those are appended as text before the closing brace, so the rest of the body (key order,
// spacing, number spelling, unknown fields) reaches the receiver exactly as the booth wrote
// it, and nothing is ever parsed and re-serialised.
import { naturalKey, validatePayload, type IncomingPayload, type Issue } from '../core/payload.js';
import type { Logger } from 'pino';
import type { MediaLinks } from '../core/media.js';
import type { Settings } from '../core/settings.js';
import type { Captured, NewEvent } from '../store/queue.js';

export type IngestResult =
  | {
      kind: 'accepted' | 'duplicate';
      id: string;
      deliveries: number;
      /** The links the webhooks carry, for a session whose file the agent uploads. */
      links?: MediaLinks;
    }
  | { kind: 'invalid'; error: string; issues: Issue[] }
  /** The outbox cannot take the event right now (disk full, read-only); nothing was kept. */
  | { kind: 'unavailable'; error: string };

/** What a booth integration (dslrBooth's triggers, the hot folder) is given to capture with. */
export interface BoothCaptureDeps {
  settings: () => Settings;
  /** The JSON API's capture: a session naming its file is copied in before it is committed. */
  capture: (body: Buffer) => Promise<ApiIngestResult>;
  /** Whether the organiser's storage is set: then the file itself is handed over, for the agent to upload. */
  storageSet: () => boolean;
  log: Logger;
  now?: () => number;
}

/** What the JSON API may also answer: the session's file would leave the disk with less than media_min_free_mb; nothing was kept. */
export type ApiIngestResult = IngestResult | { kind: 'insufficient-storage'; error: string };

export interface IngestOptions {
  idempotencyKey?: string | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export type Prepared = { kind: 'ready'; event: NewEvent; payload: IncomingPayload } | Extract<IngestResult, { kind: 'invalid' }>;

export const NO_STORAGE = "needs the organiser's storage (booth-agent storage set); without it, send direct_url and site_url";

/** The session's file, when the payload hands one to the agent. */
export function namesFile(payload: IncomingPayload): string | null {
  return payload.type === 'session' ? (payload.session.file ?? null) : null;
}

/** The poster a video session hands the agent for its page, or null. */
export function namesPoster(payload: IncomingPayload): string | null {
  return payload.type === 'session' ? (payload.session.poster ?? null) : null;
}

/** A capture refused for its file (or poster), in the shape of a schema refusal (docs/capture-api.md, "Media"). */
export function fileRefused(message: string, field: 'file' | 'poster' = 'file'): Extract<IngestResult, { kind: 'invalid' }> {
  return { kind: 'invalid', error: `session.${field}: ${message}`, issues: [{ path: `session.${field}`, message }] };
}

/** Everything before the outbox: decode, parse, validate, complete. */
export function prepareIngest(raw: Buffer, options: IngestOptions, settings: Settings, now: number): Prepared {
  const body = raw.subarray(0, 3).equals(BOM) ? raw.subarray(3) : raw;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return invalid('the body is not valid UTF-8 text');
  }
  if (text.trim() === '') return invalid('the body is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return invalid(`the body is not valid JSON: ${(error as Error).message}`);
  }
  const validation = validatePayload(value);
  if (!validation.ok) return { kind: 'invalid', error: 'the payload does not match the schema', issues: validation.issues };
  const payload = validation.payload;

  const additions: Record<string, unknown> = {};
  if (payload.event_id === undefined) {
    if (settings.event_id === null) {
      return {
        kind: 'invalid',
        error: 'the payload does not match the schema',
        issues: [{ path: 'event_id', message: 'is missing and no event is configured (booth-agent config set event_id N)' }],
      };
    }
    additions.event_id = settings.event_id;
  }
  const timestamp = payload.timestamp ?? new Date(now).toISOString();
  if (payload.timestamp === undefined) additions.timestamp = timestamp;

  const dedupeKey = options.idempotencyKey ? `key:${options.idempotencyKey}` : naturalKey(payload);
  return {
    kind: 'ready',
    event: { type: payload.type, body: withFields(body, additions), dedupeKey, occurredAt: timestamp, sessionId: payload.session.id },
    payload: { ...payload, ...additions } as IncomingPayload,
  };
}

export function captured(result: Captured): IngestResult {
  return { kind: result.duplicate ? 'duplicate' : 'accepted', id: result.id, deliveries: result.deliveries };
}

/** A storage failure that is the machine's state, as a result; anything else is rethrown. */
export function unavailable(error: unknown): IngestResult {
  const reason = storageProblem(error);
  if (reason === null) throw error;
  return { kind: 'unavailable', error: reason };
}

function invalid(error: string): Extract<IngestResult, { kind: 'invalid' }> {
  return { kind: 'invalid', error, issues: [{ path: '', message: error }] };
}

/** Appends fields to a JSON object's text just before its closing brace. */
function withFields(body: Buffer, fields: Record<string, unknown>): Buffer {
  const entries = Object.entries(fields);
  if (entries.length === 0) return body;
  const close = body.lastIndexOf(0x7d);
  const text = entries.map(([key, value]) => `,${JSON.stringify(key)}:${JSON.stringify(value)}`).join('');
  return Buffer.concat([body.subarray(0, close), Buffer.from(text, 'utf8'), body.subarray(close)]);
}

/** Words for the storage failures that are the machine's state, not a bug; null for others. */
function storageProblem(error: unknown): string | null {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') return null;
  if (code === 'SQLITE_FULL') return 'the disk is full: the event was not stored; free some space on the booth computer';
  if (code.startsWith('SQLITE_READONLY')) return 'the outbox is read-only: the event was not stored; check the data folder permissions';
  if (code.startsWith('SQLITE_IOERR')) return `the disk could not be written (${code}): the event was not stored`;
  if (code.startsWith('SQLITE_BUSY')) return 'the outbox is busy: the event was not stored; send it again';
  return null;
}
