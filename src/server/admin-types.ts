// The admin API's answers and requests as they travel: the one description of its wire,
// which the routes in admin-api.ts are checked against and the panel (renderer/) imports
// as types. Everything on this wire is camelCase, the settings included: the panel sends
// and receives `eventId` for the setting the command line calls `event_id`.
import type { ExportFormat } from '../core/export-format.js';
import type { Issue, PayloadType } from '../core/payload.js';
import type { DeliveryStatus } from '../core/policy.js';
import type { TypeFilter } from '../core/event-types.js';
import type {
  AlreadySent,
  AttemptSummary,
  CloseoutFigures,
  CloseoutReport,
  DeliveryView,
  EndpointCloseout,
  EraseCounts,
  ErasedEvent,
  ErasedMedia,
  EraseResult,
  EndpointView,
  HotFolderFile,
  HourStats,
  Recovering,
  ReplayResult,
  StatusCounts,
  StorageErasure,
  StorageVerifyReport,
  StorageVerifyStep,
  StorageView,
  TestResult,
  UploadCounts,
  UploadStatus,
  UploadView,
  VerifyReport,
} from '../core/read-model.js';
import type { Settings } from '../core/settings.js';

export type {
  AlreadySent,
  CloseoutFigures,
  CloseoutReport,
  DeliveryStatus,
  DeliveryView,
  EndpointCloseout,
  EndpointView,
  EraseCounts,
  ErasedEvent,
  ErasedMedia,
  EraseResult,
  HotFolderFile,
  HourStats,
  ExportFormat,
  Issue,
  PayloadType,
  ReplayResult,
  StatusCounts,
  StorageErasure,
  StorageVerifyReport,
  StorageVerifyStep,
  StorageView,
  TestResult,
  TypeFilter,
  UploadCounts,
  UploadStatus,
  UploadView,
  VerifyReport,
};

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** The settings as the admin API sends them; PUT /api/settings takes any part of them. */
export type WireSettings = { [K in keyof Settings as CamelCase<K>]: Settings[K] };

/** GET /api/state, and each message of /api/stream: what the header and the lists show. */
export interface PanelState {
  version: string;
  now: number;
  paused: boolean;
  /** No enabled endpoint is held as unreachable. */
  online: boolean;
  heldSince: number | null;
  counts: StatusCounts;
  /** Of the failed deliveries, those that will be tried again by themselves. */
  recovering: Recovering;
  lastDeliveredAt: number | null;
  /** Safe to pack up? The figures (guests' deliveries by status, events sent nowhere) and the verdict on them. */
  closeout: CloseoutFigures & { safe: boolean; verdict: string };
  settings: WireSettings;
  endpoints: EndpointView[];
  /** The organiser's storage for session photos, without its secret; null when none is set. */
  storage: StorageView | null;
  /** Sessions' files not in the storage yet (waiting, uploading), their bytes, and the failed uploads. */
  uploads: UploadCounts;
  /** A managed configuration file that could not be applied, and why. */
  managedConfigProblem: string | null;
  ingest: { token: string; url: string; pathUrl: string; dslrBoothUrl: string };
}

/** GET /api/deliveries: one page, and the cursor of the next. */
export interface DeliveryPage {
  items: DeliveryView[];
  next: number | null;
}

export interface WireAttempt extends AttemptSummary {
  /** The first 4 KiB of the answer, as text. */
  responseHead: string | null;
}

/** GET /api/deliveries/:id: the delivery with its payload as sent and every attempt. */
export interface DeliveryDetail extends DeliveryView {
  payload: string;
  occurredAt: string;
  /** The `site_url` of the event's session (its QR code: GET /api/sessions/{id}/qr.svg); null without a session, or once erased. */
  siteUrl: string | null;
  /** The request headers of the last attempt (signatures are made afresh for each). */
  requestHeaders: Record<string, string> | null;
  attempts: WireAttempt[];
}

export interface AddedEndpoint extends EndpointView {
  secret: string;
}

export interface RotatedSecret {
  secret: string;
  endpoint: EndpointView;
}

export interface RevealedSecret {
  secret: string;
  /** While a rotation is pending: the secret receivers may still check. */
  previousSecret: string | null;
}

export interface RemovedEndpoint {
  removed: string;
  undeliveredDropped: number;
}

/** Every refusal: 400 (with each issue and its path), 401, 403, 404, 409. */
export interface Refused {
  error: string;
  issues?: Issue[];
}

export interface DayStats {
  hours: HourStats[];
}

export interface HotFolderListing {
  files: HotFolderFile[];
}

/**
 * GET /api/export: the query string of a download (`type` may be repeated). Since and
 * until are ISO 8601 dates or date-times on the capture time; `event` is the organiser's
 * event id. The answer is the file, with `content-disposition: attachment`.
 */
export interface ExportQuery {
  format?: ExportFormat;
  event?: string;
  since?: string;
  until?: string;
  type?: PayloadType | PayloadType[];
}

/** POST /api/endpoints/:id/replay: which captured events to send the endpoint (none given: all). */
export interface ReplayRequest {
  event?: number;
  since?: string;
  until?: string;
  types?: PayloadType[];
  /** Also send again those it already received, under the same webhook-ids. */
  again?: boolean;
}

/**
 * POST /api/erase: exactly one of `email`, `phone` or `session`; `dryRun` counts and lists
 * without changing anything. Answered with an EraseResult, or 400 naming the field.
 */
export interface EraseRequest {
  email?: string;
  phone?: string;
  session?: string;
  dryRun?: boolean;
}

/**
 * PUT /api/storage: the whole storage, replacing any earlier one. `secretAccessKey` may be
 * left out when the access key id stays the same (the stored secret is kept); it is never
 * sent back. Answered with the StorageView, or 400 naming the field.
 */
export interface StorageRequest {
  url: string;
  bucket: string;
  /** Default us-east-1. */
  region?: string;
  /** '' (default) or a folder ending in '/'. */
  prefix?: string;
  accessKeyId: string;
  secretAccessKey?: string;
  /** null (default): links are presigned and stop working after 7 days. */
  publicUrl?: string | null;
  pathStyle?: boolean;
  /** One more certificate authority (PEM) to trust, for a MinIO on a private certificate. */
  ca?: string | null;
}

/**
 * GET /api/uploads?status=&limit=: the uploads, newest first (limit 1 to 200, default 50),
 * and the agent's clock when it read them, so the panel can tell a rate from two readings.
 */
export interface UploadPage {
  items: UploadView[];
  now: number;
}

/** POST /api/uploads/retry: one failed upload (`id`) or every failed one (`all: true`); 404/409 for an id that is not a failed upload. */
export interface RetryUploadsRequest {
  id?: string;
  all?: true;
}

export interface RetriedUploads {
  retried: number;
}

/** DELETE /api/storage[?force=true] (404 when none is set; 409 while photos wait for it, unless force). */
export interface RemovedStorage {
  removed: true;
  /** With force: the uploads that waited for it, now failed. */
  uploadsFailed: number;
}
