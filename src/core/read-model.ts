// What the operator reads: the shapes the read views, the operations and the admin API
// answer with, and the panel shows. Types only, free of Node and of the database, so the
// panel (renderer/) can share them through src/server/admin-types.ts.
import type { EventType, TypeFilter } from './event-types.js';
import type { PayloadFormat } from './formats.js';
import type { PayloadType } from './payload.js';
import type { DeliveryStatus } from './policy.js';
import type { AutoRecover } from './recovery.js';

export type StatusCounts = Record<DeliveryStatus, number>;

/** One delivery in a listing. */
export interface DeliveryView {
  /** Pass as `before` to get the page after this row. */
  cursor: number;
  /** The delivery's id, which is also its `webhook-id`. */
  id: string;
  status: DeliveryStatus;
  eventId: string;
  type: EventType;
  /** A Send Test delivery. */
  test: boolean;
  endpointId: string;
  endpointUrl: string;
  attemptsUsed: number;
  nextAttemptAt: number | null;
  /** A failed delivery's next automatic retry (docs/webhooks.md, "Automatic recovery"); null: none. */
  recoverAt: number | null;
  lastError: string | null;
  capturedAt: number;
  deliveredAt: number | null;
  sessionId: string | null;
}

/** Where a session's file's upload to the organiser's storage stands (docs/capture-api.md, "Uploads"). */
export type UploadStatus = 'waiting' | 'uploading' | 'uploaded' | 'failed';

/** A session's file and where its upload to the organiser's storage stands. */
export interface UploadView {
  /** The file's id (med_…), which `uploads retry` takes. */
  id: string;
  status: UploadStatus;
  /** The file's name, as the booth gave it. */
  name: string;
  sessionId: string;
  /** The captured event that named the file. */
  eventId: string;
  size: number;
  /**
   * Bytes the storage has confirmed. A file up to 8 MiB goes in one request, so it moves from
   * 0 to its size at once; a larger one moves 8 MiB at a time, as each part finishes.
   */
  bytesDone: number;
  attempts: number;
  /** Why the last try did not work, in plain words; for a failed upload, why it stopped. */
  lastError: string | null;
  /** For a waiting upload: when it is due to be tried. */
  nextAttemptAt: number | null;
  createdAt: number;
  uploadedAt: number | null;
}

/** The uploads not done yet, for the panel's header and the tray. */
export interface UploadCounts {
  waiting: number;
  uploading: number;
  failed: number;
  /** The size of the waiting and uploading files together. */
  bytes: number;
  /** Of those bytes, the ones the storage has confirmed. */
  bytesDone: number;
}

/** One attempt, as its delivery's history shows it (the response's first bytes apart). */
export interface AttemptSummary {
  startedAt: number;
  durationMs: number;
  outcome: 'answered' | 'no-response' | 'unreachable';
  statusCode: number | null;
  error: string | null;
  /** What the policy made of it, in words. */
  reason: string;
}

/** How the deliveries of one hour's events went, for the day chart. */
export interface HourStats {
  from: number;
  delivered: number;
  retried: number;
  failed: number;
  waiting: number;
}

/** An endpoint as listings show it: everything but its secrets and CA. */
export interface EndpointView {
  id: string;
  url: string;
  /** Subscribed payload types and alerts; null means every payload type and no alert. */
  types: TypeFilter[] | null;
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: number | null;
  strictOrder: boolean;
  /** Whether failed deliveries are tried again by themselves. */
  autoRecover: AutoRecover;
  /** The body's shape: the contract's bytes, one level of keys, or a chat message. */
  format: PayloadFormat;
  /** At most this many attempts start in any minute; null: no limit. */
  maxPerMinute: number | null;
  /**
   * How many deliveries the agent lets into flight at once, as it last found from the
   * endpoint's answers (at most max_in_flight; 1 in strict order); null until it has sent.
   */
  inFlightLimit: number | null;
  /** The names of the extra headers sent with each delivery; their values are never shown. */
  headerNames: string[];
  /** An extra CA is trusted for this endpoint. */
  hasCa: boolean;
  unreachableSince: number | null;
  /** The endpoint's clock minus the booth's, from the Date header of its last answer. */
  clockSkewMs: number | null;
  /** A rotation the operator has not confirmed yet: X-Signature stays on the previous secret. */
  rotationPending: boolean;
  previousSecretUntil: number | null;
  /** The secrets are sealed and this process has no key to open them. */
  secretsLocked: boolean;
  createdAt: number;
}

/** What Verify found, in figures and in words. */
export interface VerifyReport {
  ok: boolean;
  reached: boolean;
  status: number | null;
  durationMs: number;
  redirect: string | null;
  clockSkewMs: number | null;
  /** What happened, one finding a line, for the operator. */
  findings: string[];
}

/** The organiser's storage as listings show it: everything but its secret and CA. */
export interface StorageView {
  url: string;
  region: string;
  bucket: string;
  prefix: string;
  accessKeyId: string;
  publicUrl: string | null;
  pathStyle: boolean;
  hasCa: boolean;
  /** Public links (a public URL is set) or presigned ones, which stop working after 7 days. */
  links: 'public' | 'presigned';
  /** The secret is sealed with a key this process does not have (the desktop app's). */
  secretLocked: boolean;
  updatedAt: number;
}

/** One step of the storage's Verify: the upload, the guest's read, the clean-up. */
export interface StorageVerifyStep {
  step: 'upload' | 'read' | 'delete';
  ok: boolean;
  /** What happened, in plain words. */
  message: string;
}

export interface StorageVerifyReport {
  ok: boolean;
  links: 'public' | 'presigned';
  /** The steps taken, in order; it stops after a failed upload, and deletes the test file after a failed read. */
  steps: StorageVerifyStep[];
  /** What the operator should know even when every step worked. */
  notes: string[];
}

/** What became of a Send Test delivery's first attempt. */
export interface TestResult {
  deliveryId: string;
  status: DeliveryStatus;
  reason: string;
}

/** What a replay to an endpoint did with each captured event it matched. */
export interface ReplayResult {
  endpointId: string;
  /** New deliveries, for the events the endpoint never had. */
  queued: number;
  /** Deliveries it had already received, put back in the queue (`again`), with their webhook-ids. */
  resent: number;
  /** The endpoint cannot be reached right now: what was queued waits for it. */
  waiting: boolean;
  skipped: {
    /** Already delivered to it (`again` sends them again). */
    delivered: number;
    /** Already on their way: a delivery to it is queued or waiting. */
    onItsWay: number;
    /** A delivery to it failed: the operator's retry sends it again. */
    failed: number;
    /** Of a type the endpoint does not subscribe to. */
    notSubscribed: number;
  };
}

/** A file the hot folder has seen. */
export interface HotFolderFile {
  path: string;
  /** How the logs name it (core/media.ts fileRef): they never hold its name. */
  ref: string;
  /** When it was taken, or skipped as a repeat (ms since the epoch). */
  seenAt: number;
  /** What became of it, in words. */
  outcome: string;
  /** The event its content was captured as (for a repeat, the earlier file's), if any. */
  eventId: string | null;
  /** Whether this very file became a new event. */
  sent: boolean;
}

/** Failed deliveries that will be tried again by themselves (docs/webhooks.md, "Automatic recovery"). */
export interface Recovering {
  count: number;
  /** The earliest of their automatic retries; null when there are none. */
  nextAt: number | null;
}

/** The guests' deliveries by status (Send Test deliveries left out), and the events sent nowhere. */
export interface CloseoutFigures {
  counts: StatusCounts;
  /** Events captured with no endpoint to send them to (none subscribed, or theirs was removed). */
  unsent: number;
  /** The sessions' files only this booth holds (not uploaded yet, or failed): packing up loses them. */
  media: MediaOnlyHere;
}

export interface MediaOnlyHere {
  files: number;
  bytes: number;
  /** Guests' pages still to go up, whose files are in the storage already. */
  pages: number;
  /** Event galleries whose last changes are not in the storage yet. */
  galleries: number;
}

/** One endpoint's deliveries, and why those not delivered are not. */
export interface EndpointCloseout extends StatusCounts {
  endpointId: string;
  url: string;
  enabled: boolean;
  disabledReason: string | null;
  unreachableSince: number | null;
  /** Of the failed, those with an automatic retry to come (the endpoint's auto-recover), and the earliest. */
  recovering: Recovering;
}

export interface CloseoutReport {
  /** The organiser's event the report is about; null: every event on this booth. */
  eventId: number | null;
  endpoints: EndpointCloseout[];
  totals: StatusCounts;
  unsent: number;
  media: MediaOnlyHere;
  paused: boolean;
  /** Every delivery delivered, and no event left with nowhere to go. */
  safe: boolean;
  /** One line: "safe to pack up: all N delivered", or what is still on the disk. */
  verdict: string;
  /** What to do about what is still on the disk, one step a line (none when safe). */
  advice: string[];
}

/** An event an erase matched: what it was, not what it said. */
export interface ErasedEvent {
  eventId: string;
  type: PayloadType;
  capturedAt: number;
  /** Its deliveries that were delivered (they stay, as the record of what went where). */
  delivered: number;
  /** Its deliveries not delivered yet: dropped by the erase, never to be sent. */
  undelivered: number;
}

/** A session's file an erase matched: its local copy is removed and its object deleted from the storage. */
export interface ErasedMedia {
  mediaId: string;
  sessionId: string;
  name: string;
  bytes: number;
  status: 'waiting' | 'uploading' | 'uploaded' | 'failed';
  /** Whether the storage may hold it, whole or in part. */
  inStorage: boolean;
  /** Whether the booth still holds its local copy. */
  onBooth: boolean;
}

/** What an erase did in the organiser's storage. */
export interface StorageErasure {
  /** Files deleted from the storage (and uploads under way aborted) by this erase. */
  deleted: number;
  /** Files the storage could not delete now: the upload lane deletes them when it can be reached. */
  owed: number;
  /** Why the owed ones could not be deleted now; null when none are owed. */
  reason: string | null;
}

/** What an erase took away (or, with dryRun, would take away). */
export interface EraseCounts {
  /** Events whose payload lost its personal data, by type. */
  events: Record<PayloadType, number>;
  /** Deliveries not made yet, dropped: their payload is never sent. */
  undeliveredDropped: number;
  /** Attempts whose stored first bytes of the receiver's answer were cleared. */
  responseSnippets: number;
  /** The hot folder's records of files that named the guest. */
  hotFolderRecords: number;
  /** dslrBooth's records of the guest's session. */
  dslrSessions: number;
  /** The sessions' files (photos, videos) held by the agent. */
  media: number;
}

/** An endpoint that already received the guest's data, which an erase cannot take back. */
export interface AlreadySent {
  endpointId: string;
  url: string;
  /** Deliveries delivered to it. */
  delivered: number;
  /** Deliveries not delivered but sent at least once (the receiver may have kept them), or in flight now. */
  attempted: number;
}

export interface EraseResult {
  dryRun: boolean;
  kind: 'email' | 'phone' | 'session';
  /** The salted hash of the identifier, as the audit keeps it. */
  identifierHash: string;
  counts: EraseCounts;
  events: ErasedEvent[];
  /** The files of the guest's sessions (for an address or number: of the sessions that named or were shared to it). */
  media: ErasedMedia[];
  /** The files' deletion from the storage (null for a dry run). */
  storage: StorageErasure | null;
  /** Where the guest's data already went: ask those receivers to delete it. */
  alreadySent: AlreadySent[];
  /** The audit entry's id (null for a dry run). */
  auditId: number | null;
}
