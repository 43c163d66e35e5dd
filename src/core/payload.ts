// The four webhook payloads of the contract (docs/webhooks.md), as zod schemas.
// The inferred types below are the project's only description of a payload.
//
// Every object is "loose": booth software may send fields we do not know, and the
// contract says they are kept and passed on. Validation never rewrites the body; the
// bytes that were captured are the bytes that are sent (see capture/ingest.ts).
import { z } from 'zod';

export const PAYLOAD_TYPES = ['session', 'share', 'survey', 'competition_win'] as const;
export type PayloadType = (typeof PAYLOAD_TYPES)[number];
export const payloadTypeSchema = z.enum(PAYLOAD_TYPES);

export const SESSION_TYPES = ['still', 'gif', 'video', 'ai'] as const;
export const SHARE_TYPES = ['email', 'sms'] as const;

/** A message for a wrong value; a missing one is reported as missing. */
const expected = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : message);

const webUrl = z.url({ protocol: /^https?$/, error: expected('must be an http(s) URL') });
const isoTime = z.iso.datetime({ offset: true, error: expected('must be an ISO 8601 date-time, e.g. 2025-01-15T14:30:00+00:00') });
const integer = z.number({ error: expected('must be a number') }).int('must be an integer');
const text = z.string({ error: expected('must be a string') });
const bool = z.boolean({ error: expected('must be true or false') });
const object = <S extends z.ZodRawShape>(shape: S) => z.looseObject(shape, { error: expected('must be an object') });
const list = <T extends z.ZodType>(item: T) => z.array(item, { error: expected('must be a list') });

const sessionRef = object({
  id: text.min(1, 'must not be empty'),
  direct_url: webUrl,
  site_url: webUrl,
  type: z.enum(SESSION_TYPES, { error: expected(`must be one of ${SESSION_TYPES.join(', ')}`) }),
});

const device = object({
  id: integer,
  name: text,
  device_info: text,
});

const dataCapture = object({
  sections: list(
    object({
      title: text,
      position: integer,
      fields: list(
        object({
          field_id: text,
          field_title: text,
          field_type: text,
          value: text,
          required: bool,
        }),
      ),
    }),
  ),
});

// event_id and timestamp may be left out by booth software: capture fills them in
// (the configured event, and "now") before the event is stored.
const common = {
  event_id: integer.nonnegative('must not be negative').optional(),
  timestamp: isoTime.optional(),
};

// A session either names its URLs, or hands the agent its file (`file`: a path, or the name of
// a file sent with PUT /v1/sessions/{id}/media/{name}), and the agent sets the URLs once it
// has uploaded it (docs/capture-api.md, "Media").
export const sessionPayload = object({
  type: z.literal('session'),
  ...common,
  session: sessionRef
    .extend({
      direct_url: webUrl.optional(),
      site_url: webUrl.optional(),
      file: text.min(1, 'must not be empty').optional(),
      /** A video's still for its page and link cards: a path or a PUT name, like file. */
      poster: text.min(1, 'must not be empty').optional(),
      device: device.optional(),
      still_template_id: integer.optional(),
      gif_template_id: integer.optional(),
    })
    .superRefine((session, ctx) => {
      if (session.poster !== undefined) {
        if (session.type !== 'video') ctx.addIssue({ code: 'custom', path: ['poster'], message: 'is for a video only' });
        else if (session.file === undefined) ctx.addIssue({ code: 'custom', path: ['poster'], message: 'must come with session.file' });
      }
      if (session.file !== undefined) {
        if (session.direct_url !== undefined || session.site_url !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['file'], message: 'must not come with direct_url or site_url: the agent sets them' });
        }
        return;
      }
      for (const field of ['direct_url', 'site_url'] as const) {
        if (session[field] === undefined) {
          ctx.addIssue({ code: 'custom', path: [field], message: 'is required (or give session.file instead of both URLs)' });
        }
      }
    }),
});

export const sharePayload = object({
  type: z.literal('share'),
  ...common,
  session: sessionRef,
  share: object({
    id: text.min(1, 'must not be empty'),
    type: z.enum(SHARE_TYPES, { error: expected(`must be one of ${SHARE_TYPES.join(', ')}`) }),
    value: text,
  }),
  data_capture: dataCapture,
});

export const surveyPayload = object({
  type: z.literal('survey'),
  ...common,
  session: sessionRef,
  survey: object({
    completed_at: isoTime,
    data_capture: dataCapture,
  }),
});

export const competitionWinPayload = object({
  type: z.literal('competition_win'),
  ...common,
  session: sessionRef,
  competition: object({ id: integer, type: text }),
  prize_win: object({
    id: text,
    uuid: text.min(1, 'must not be empty'),
    win_id: text,
    date: isoTime,
    valid: bool,
    win_image_qr_url: webUrl,
  }),
  prize: object({
    id: integer,
    name: text,
    winning_text: text,
    image_url: webUrl,
    winning_image_url: webUrl,
  }),
  winner: object({ type: text, value: text }),
  data_capture: dataCapture,
});

export const payloadSchema = z.discriminatedUnion('type', [sessionPayload, sharePayload, surveyPayload, competitionWinPayload], {
  error: (issue) =>
    (issue.input as { type?: unknown } | undefined)?.type === undefined ? 'is required' : `must be one of ${PAYLOAD_TYPES.join(', ')}`,
});

/** A payload as booth software may hand it in (event_id and timestamp optional). */
export type IncomingPayload = z.infer<typeof payloadSchema>;

export interface Issue {
  path: string;
  message: string;
}

export type Validation = { ok: true; payload: IncomingPayload } | { ok: false; issues: Issue[] };

/** Validates a parsed JSON value; every problem is reported with its dotted path. */
export function validatePayload(value: unknown): Validation {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, issues: [{ path: '', message: 'must be a JSON object' }] };
  }
  const result = payloadSchema.safeParse(value);
  if (result.success) return { ok: true, payload: result.data };
  return { ok: false, issues: result.error.issues.map(toIssue) };
}

function toIssue(issue: z.core.$ZodIssue): Issue {
  return { path: issue.path.map(String).join('.'), message: issue.message };
}

/**
 * The key that makes a re-sent capture a duplicate when no Idempotency-Key header came
 * with it (docs/capture-api.md, "Repeats"). Namespaced by type so a share and a session
 * with the same id never collide.
 */
export function naturalKey(payload: IncomingPayload): string {
  switch (payload.type) {
    case 'session':
      return `session:${payload.session.id}`;
    case 'share':
      return `share:${payload.share.id}`;
    case 'survey':
      return `survey:${payload.session.id}:${payload.survey.completed_at}`;
    case 'competition_win':
      return `competition_win:${payload.prize_win.uuid}`;
  }
}
