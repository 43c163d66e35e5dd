// The operator's settings, with their defaults. The delivery schedule lives here rather
// than as literals in the code, so a test (or an unusual receiver) can change it and the
// policy stays one pure function of its inputs.
import { z } from 'zod';
import { parseDurations } from './recovery.js';

const ms = z.number({ error: 'must be a number of milliseconds' }).int('must be a whole number').min(0, 'must not be negative');
const count = z.number({ error: 'must be a number' }).int('must be a whole number');

const DAY_MS = 24 * 60 * 60 * 1000;

/** A media URL template: an http(s) URL once its placeholders are filled in. */
export const MEDIA_URL_PLACEHOLDERS = ['{event_id}', '{file}', '{session_id}', '{date}'] as const;
const mediaUrlTemplate = z.string().superRefine((template, ctx) => {
  const sample = template.replace(/\{(event_id|file|session_id|date)\}/g, 'x');
  if (/[{}]/.test(sample)) {
    ctx.addIssue({ code: 'custom', message: `has an unknown placeholder; the placeholders are ${MEDIA_URL_PLACEHOLDERS.join(', ')}` });
    return;
  }
  let url: URL | null = null;
  try {
    url = new URL(sample);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL, e.g. https://cdn.example.com/{event_id}/{file}' });
  } else if (!template.includes('{file}')) {
    ctx.addIssue({ code: 'custom', message: 'must contain {file}, or every session would get the same URL' });
  }
});

/** Where an uploaded file goes in the organiser's bucket. */
export const STORAGE_KEY_PLACEHOLDERS = ['{prefix}', '{event_id}', '{session_id}', '{file}', '{date}'] as const;
const storageKeyTemplate = z.string({ error: 'must be text' }).superRefine((template, ctx) => {
  if (/[{}]/.test(template.replace(/\{(prefix|event_id|session_id|file|date)\}/g, ''))) {
    ctx.addIssue({ code: 'custom', message: `has an unknown placeholder; the placeholders are ${STORAGE_KEY_PLACEHOLDERS.join(', ')}` });
  } else if (!template.includes('{file}') || !template.includes('{session_id}')) {
    ctx.addIssue({ code: 'custom', message: 'must contain {session_id} and {file}, or two files would get the same key' });
  }
});

export const settingsSchema = z.object({
  /** The organiser's event this booth is running; used when a payload leaves it out. */
  event_id: count.nonnegative('must not be negative').nullable().default(null),
  /** Delivery paused by the operator: events are still captured, nothing is sent. */
  paused: z.boolean({ error: 'must be true or false' }).default(false),
  /** Where guests' media can be downloaded, for booths that do not upload it themselves. */
  media_url_template: mediaUrlTemplate.nullable().default(null),
  /** The folder a booth program saves finished sessions to; null: no hot folder. */
  hot_folder: z.string().min(1, 'must not be empty').nullable().default(null),
  /** A file is taken once its size has not changed for this long. */
  hot_folder_settle_ms: ms.min(100).default(2_000),
  /** Send the files already in the folder when it is first watched (default: only new ones). */
  hot_folder_import_existing: z.boolean({ error: 'must be true or false' }).default(false),
  /** Poll the folder instead of relying on change notifications (network drives). */
  hot_folder_polling: z.boolean({ error: 'must be true or false' }).default(false),
  /** The folders a session's file may be taken from (docs/capture-api.md, "Media"), besides the hot folder. */
  media_roots: z
    .array(z.string({ error: 'must be a list of folders' }).min(1, 'must not name an empty folder'), {
      error: 'must be a list of folders, e.g. ["C:\\\\Booth\\\\Output"]',
    })
    .default([]),
  /** The largest media file taken. */
  media_max_mb: count.min(1, 'must be at least 1').default(2048),
  /** Below this much free disk space a capture with media is refused (507). */
  media_min_free_mb: count.min(0, 'must not be negative').default(1024),
  storage_key_template: storageKeyTemplate.default('{prefix}{event_id}/{session_id}/{file}'),
  /** The uploads' bandwidth, in kilobits per second; null: as fast as the line allows. */
  upload_max_kbps: count.min(8, 'must be at least 8').nullable().default(null),
  /** The local copy of an uploaded file is removed this many days after its upload. */
  media_keep_days: count.min(0, 'must not be negative').max(3650).default(7),
  /** A page for each session whose file the agent uploads, next to it; site_url is its link. */
  guest_page: z.boolean({ error: 'must be true or false' }).default(true),
  /** The event's name on the guest's page; null: the page says what the session is ("Your photo"). */
  event_name: z
    .string({ error: 'must be text' })
    .min(1, 'must not be empty')
    .max(200, 'must be at most 200 characters')
    .nullable()
    .default(null),
  /** The operator's Handlebars template for the guest's page; null: the agent's own. Checked when set (operations/settings.ts). */
  guest_page_template: z.string({ error: 'must be the path of a file' }).min(1, 'must not be empty').nullable().default(null),
  /** A page per event listing its sessions' previews, newest first, each linking to its page. */
  event_gallery: z.boolean({ error: 'must be true or false' }).default(false),
  /** This booth in session payloads (session.device); null: derived from the machine. */
  device_id: count.nonnegative().nullable().default(null),
  device_name: z.string().nullable().default(null),
  device_info: z.string().nullable().default(null),
  /** The loopback port of the capture server. */
  port: count.min(1, 'must be 1 to 65535').max(65535, 'must be 1 to 65535').default(7480),
  /** Wait between attempts that reached the endpoint but were not answered with 2xx. */
  retry_delay_ms: ms.default(10_000),
  /** Retries after the first attempt (3 gives 4 attempts in all). */
  max_retries: count.min(0).max(100).default(3),
  /** The longest wait a Retry-After header can ask for. */
  retry_after_max_ms: ms.default(60 * 60 * 1000),
  /** First and longest wait between connectivity checks of an unreachable endpoint. */
  offline_check_min_ms: ms.min(10).default(1_000),
  offline_check_max_ms: ms.min(10).default(60_000),
  /**
   * After the contract's attempts, a failed delivery is tried again by itself after each of
   * these waits in turn, the last one repeating, until it expires (core/recovery.ts).
   */
  recover_schedule: z
    .string({ error: 'must be a list of waits, e.g. 5m,30m,2h' })
    .superRefine((text, ctx) => {
      const parsed = parseDurations(text);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
    })
    .default('5m,30m,2h,6h,12h'),
  /** A delivery not done this long after it was queued is failed as "expired". */
  expire_after_ms: ms.default(7 * DAY_MS),
  /** Delivered events (with their deliveries and attempts) are kept this many days; failed ones until the operator acts. */
  retention_days: count.min(1, 'must be at least 1').max(3650).default(30),
  /**
   * Delivered events lose their personal data (share, survey and prize-winner values,
   * media URLs) this many days after capture; their type, session id and delivery records
   * stay. null: kept until the retention prunes them.
   */
  erase_personal_after_days: count.min(1, 'must be at least 1').max(3650).nullable().default(null),
  /** Duplicate captures (same Idempotency-Key or natural key) are recognised this long. */
  idempotency_window_ms: ms.default(7 * DAY_MS),
  connect_timeout_ms: ms.min(1).default(10_000),
  /** No complete response this long after sending: the attempt failed. */
  attempt_timeout_ms: ms.min(1).default(15_000),
  /**
   * The most deliveries in flight at once per endpoint: the ceiling of the limit the agent
   * finds from the endpoint's answers (core/concurrency-limit.ts). Strict order: one.
   */
  max_in_flight: count.min(1).max(64).default(32),
  /** agent.backlog_waiting is raised when a delivery has waited this long (docs/webhooks.md, "Alerts"). */
  alert_waiting_after_ms: ms.min(1000).default(15 * 60_000),
  /** agent.heartbeat is sent this often; 0: never. */
  heartbeat_interval_ms: ms.refine((v) => v === 0 || v >= 1000, 'must be 0 (off) or at least 1000').default(60 * 60_000),
  /** How long a claimed delivery belongs to its sender before another may take it. */
  lease_ms: ms.min(1_000).default(60_000),
});

export type Settings = z.infer<typeof settingsSchema>;
export type SettingKey = keyof Settings;
export const SETTING_KEYS = Object.keys(settingsSchema.shape) as SettingKey[];
export const DEFAULT_SETTINGS: Settings = settingsSchema.parse({});

/**
 * A change to some of the settings: each key checked as in settingsSchema, but with no
 * default, so a key left out stays as it is. (`settingsSchema.partial()` keeps the
 * defaults, and would reset every setting the change does not name.)
 */
export const settingChangesSchema = z.strictObject(
  Object.fromEntries(SETTING_KEYS.map((key) => [key, settingsSchema.shape[key].unwrap().optional()])),
) as unknown as z.ZodType<Partial<Settings>>;

export function isSettingKey(key: string): key is SettingKey {
  return (SETTING_KEYS as string[]).includes(key);
}

/** Parses a value typed by the operator ("30", "null") for one setting. */
export function parseSetting(key: SettingKey, raw: string): { ok: true; value: unknown } | { ok: false; message: string } {
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // not JSON: keep the text as typed
  }
  const result = settingsSchema.shape[key].safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: `${key} ${result.error.issues[0]?.message ?? 'is not valid'}` };
}
