// The shapes the admin API answers with, as the page uses them.
import type { Counts } from './format.js';

export type PayloadType = 'session' | 'share' | 'survey' | 'competition_win';
export const PAYLOAD_TYPES: PayloadType[] = ['session', 'share', 'survey', 'competition_win'];

export interface EndpointView {
  id: string;
  url: string;
  types: PayloadType[] | null;
  enabled: boolean;
  disabledReason: string | null;
  strictOrder: boolean;
  unreachableSince: number | null;
  clockSkewMs: number | null;
  rotationPending: boolean;
  previousSecretUntil: number | null;
}

export interface State {
  version: string;
  now: number;
  paused: boolean;
  eventId: number | null;
  booth: { mediaUrlTemplate: string | null; hotFolder: string | null; hotFolderPolling: boolean; deviceName: string | null };
  online: boolean;
  heldSince: number | null;
  counts: Counts;
  lastDeliveredAt: number | null;
  endpoints: EndpointView[];
  /** A managed configuration file that could not be applied, and why. */
  managedConfigProblem: string | null;
  ingest: { token: string; url: string; pathUrl: string; dslrBoothUrl: string };
}

export interface DeliveryRow {
  cursor: number;
  id: string;
  status: keyof Counts;
  eventId: string;
  type: PayloadType;
  test: boolean;
  endpointId: string;
  endpointUrl: string;
  attemptsUsed: number;
  lastError: string | null;
  capturedAt: number;
  deliveredAt: number | null;
  sessionId: string | null;
}

export interface Attempt {
  startedAt: number;
  durationMs: number;
  outcome: string;
  statusCode: number | null;
  error: string | null;
  responseHead: string | null;
  reason: string;
}

export interface DeliveryDetail extends DeliveryRow {
  payload: string;
  occurredAt: string;
  requestHeaders: Record<string, string> | null;
  attempts: Attempt[];
}

export interface VerifyReport {
  ok: boolean;
  findings: string[];
}

export interface TestResult {
  deliveryId: string;
  status: string;
  reason: string;
}
