// The session payload the booth integrations make: the booth's device, the media URLs
// (the booth's own upload, or the media URL template), and a session id that is stable and
// unique per booth, so a receiver can join it with later share or survey webhooks.
import { createHash } from 'node:crypto';
import { hostname, release, type } from 'node:os';
import { expandMediaUrl } from '../core/media.js';
import type { IncomingPayload } from '../core/payload.js';
import type { Settings } from '../core/settings.js';

type SessionPayload = Extract<IncomingPayload, { type: 'session' }>;

export type Device = { id: number; name: string; device_info: string };

/** This booth as session.device: the settings, else what the machine says about itself. */
export function boothDevice(settings: Settings): Device {
  const name = settings.device_name ?? hostname();
  return {
    id: settings.device_id ?? Number.parseInt(createHash('sha256').update(hostname()).digest('hex').slice(0, 7), 16),
    name,
    device_info: settings.device_info ?? `${type()} ${release()}`,
  };
}

export interface SessionFacts {
  sessionId: string;
  type: SessionPayload['session']['type'];
  file: string;
  /** The file's full path, when the agent is to take it in and upload it (the organiser's storage is set). */
  upload: string | null;
  /** The booth's own public URL for the media (dslrBooth's file_upload), if any. */
  uploadUrl: string | null;
  at: number;
}

/**
 * The payload, or why it cannot be made (no URL for the media). The booth's own URL comes
 * first; then the file itself, for the agent to upload; then the media URL template.
 */
export function sessionPayload(
  facts: SessionFacts,
  settings: Settings,
): { ok: true; payload: SessionPayload } | { ok: false; reason: string } {
  const common = {
    type: 'session' as const,
    ...(settings.event_id === null ? {} : { event_id: settings.event_id }),
    timestamp: new Date(facts.at).toISOString(),
  };
  if (facts.uploadUrl === null && facts.upload !== null) {
    return {
      ok: true,
      payload: { ...common, session: { id: facts.sessionId, file: facts.upload, type: facts.type, device: boothDevice(settings) } },
    };
  }
  const url =
    facts.uploadUrl ??
    (settings.media_url_template === null
      ? null
      : expandMediaUrl(settings.media_url_template, {
          eventId: settings.event_id,
          file: facts.file,
          sessionId: facts.sessionId,
          at: facts.at,
        }));
  if (url === null) {
    return {
      ok: false,
      reason: `no URL for ${facts.file}: set media_url_template (booth-agent config set media_url_template 'https://…/{file}')`,
    };
  }
  return {
    ok: true,
    payload: {
      ...common,
      session: { id: facts.sessionId, direct_url: url, site_url: url, type: facts.type, device: boothDevice(settings) },
    },
  };
}

/** A session id for this booth: `<booth id>-<suffix>`. */
export function boothSessionId(settings: Settings, suffix: string): string {
  return `${boothDevice(settings).id}-${suffix}`;
}
