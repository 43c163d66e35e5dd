// Guests' personal data in the payloads: how a guest is named when the organiser asks for
// their data to be erased (an email address, a phone number, or a session id), whether a
// text or a payload names them, and the payload with its personal fields stripped, which
// both the erase and the retention by kind keep in place of the payload as captured.
//
// How addresses match (docs/capture-api.md, "Erasing a guest"): an email address ignoring
// case; a phone number by its digits alone, where a number written nationally with its
// leading 0 (07700 900123) also matches the same number written internationally
// (+44 7700 900123).

export type GuestIdentifier = { kind: 'email'; value: string } | { kind: 'phone'; value: PhoneNumber } | { kind: 'session'; value: string };

export interface PhoneNumber {
  digits: string;
  /** Written with + or 00 before a country code. */
  international: boolean;
}

const PHONE_CHARACTERS = /^\+?[\d\s().\-/]+$/;
/** Runs of a text that could be a phone number: 7 or more digits with separators between them. */
const PHONE_RUNS = /\+?\d[\d\s().\-/]{5,}\d/g;
const EMAIL_RUNS = /[^\s<>()[\]{},;:"'@]+@[^\s<>()[\]{},;:"'@]+/g;
const MIN_PHONE_DIGITS = 7;
/** How many digits of a national and an international form must agree. */
const MIN_SHARED_DIGITS = 8;

/** An email address as it is compared: trimmed and lower-cased; null when it is not one. */
export function normaliseEmail(text: string): string | null {
  const email = text.trim().toLowerCase().replace(/\.+$/, '');
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) ? email : null;
}

/** A phone number as it is compared; null when the text is not one (other characters, under 7 digits). */
export function parsePhone(text: string): PhoneNumber | null {
  const trimmed = text.trim();
  if (!PHONE_CHARACTERS.test(trimmed)) return null;
  const raw = trimmed.replace(/\D/g, '');
  const international = trimmed.startsWith('+') || raw.startsWith('00');
  const digits = raw.startsWith('00') ? raw.slice(2) : raw;
  return digits.length >= MIN_PHONE_DIGITS ? { digits, international } : null;
}

/**
 * Whether two phone numbers are the same number: the same digits, or one written
 * nationally and the other internationally. The national form loses one leading 0 (the
 * trunk prefix) and must then be what follows a 1 to 3 digit country code in the
 * international form, sharing at least 8 digits. Two numbers that are both international
 * must be equal. Without a + or 00 on either, only a national form that starts with 0 is
 * taken as national.
 */
export function samePhone(a: PhoneNumber, b: PhoneNumber): boolean {
  if (a.digits === b.digits) return true;
  if (a.international && b.international) return false;
  const [longer, shorter] = a.digits.length >= b.digits.length ? [a, b] : [b, a];
  if (!longer.international && !shorter.digits.startsWith('0')) return false;
  if (shorter.international) return false;
  const national = shorter.digits.replace(/^0/, '');
  const countryCode = longer.digits.length - national.length;
  return national.length >= MIN_SHARED_DIGITS && countryCode >= 1 && countryCode <= 3 && longer.digits.endsWith(national);
}

/** Whether a text names the guest: contains their address, their number, or their session id. */
export function mentions(guest: GuestIdentifier, text: string): boolean {
  switch (guest.kind) {
    case 'email':
      return [...text.matchAll(EMAIL_RUNS)].some((match) => normaliseEmail(match[0]) === guest.value);
    case 'phone':
      return [...text.matchAll(PHONE_RUNS)].some((match) => {
        const phone = parsePhone(match[0]);
        return phone !== null && samePhone(phone, guest.value);
      });
    case 'session':
      // As a word of its own: session "42" is not named by "evt_01J42…".
      return new RegExp(`(?<![A-Za-z0-9])${guest.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9])`).test(text);
  }
}

/**
 * Whether a file's path (or a URL) names the guest. A booth program may name a file after
 * them (`C:\Output\jane@example.com.jpg`), and neither a path's separators nor a file's
 * extension are part of an address: each name in the path is also looked at alone, and the
 * file's without its extension.
 */
export function pathMentions(guest: GuestIdentifier, path: string): boolean {
  const names = path.split(/[\\/]/);
  const file = names[names.length - 1]!.replace(/\.[^.]*$/, '');
  return mentions(guest, path) || [...names, file].some((name) => mentions(guest, name));
}

/** Whether any text in a parsed payload (at any depth, known fields or not) names the guest. */
export function payloadMentions(guest: GuestIdentifier, value: unknown): boolean {
  if (typeof value === 'string') return mentions(guest, value);
  if (Array.isArray(value)) return value.some((item) => payloadMentions(guest, item));
  if (typeof value === 'object' && value !== null) return Object.values(value).some((item) => payloadMentions(guest, item));
  return false;
}

/** Whether a text contains anything that looks like an email address. */
export function containsEmail(text: string): boolean {
  return [...text.matchAll(EMAIL_RUNS)].some((match) => normaliseEmail(match[0]) !== null);
}

/** The fields of a payload known to hold nothing personal; everything else is stripped. */
type Keep = true | { [field: string]: Keep } | [Keep];

const DATA_CAPTURE: Keep = {
  sections: [{ title: true, position: true, fields: [{ field_id: true, field_title: true, field_type: true, required: true }] }],
};

const KEEP: { [field: string]: Keep } = {
  type: true,
  event_id: true,
  timestamp: true,
  session: {
    id: true,
    type: true,
    device: { id: true, name: true, device_info: true },
    still_template_id: true,
    gif_template_id: true,
  },
  share: { id: true, type: true },
  survey: { completed_at: true, data_capture: DATA_CAPTURE },
  competition: { id: true, type: true },
  prize_win: { id: true, uuid: true, win_id: true, date: true, valid: true },
  prize: { id: true, name: true, winning_text: true, image_url: true, winning_image_url: true },
  winner: { type: true },
  data_capture: DATA_CAPTURE,
};

/** Marks a stripped payload, so whoever reads it knows it is not the payload as sent. */
export const STRIPPED_MARK = 'personal_data_removed';

export interface StripOptions {
  /** Keep session.id (the retention keeps it for the report; erasing a session removes it). */
  keepSessionId: boolean;
  /** Also drops any kept text for which this is true (the erased guest's address in an id, say). */
  drop: (text: string) => boolean;
}

/**
 * The payload with its personal data stripped: only the fields known to hold nothing
 * personal are kept (type, event, time, session id and type, share type, the survey's and
 * data capture's questions without their answers, the competition and prize, the winner's
 * type), so the media URLs, share and winner values, every answer and any field the
 * contract does not know are gone.
 */
export function strippedPayload(payload: Record<string, unknown>, options: StripOptions): Record<string, unknown> {
  const keep: { [field: string]: Keep } = options.keepSessionId
    ? KEEP
    : { ...KEEP, session: Object.fromEntries(Object.entries(KEEP.session as object).filter(([field]) => field !== 'id')) };
  return { ...(pick(payload, keep, options.drop) as Record<string, unknown>), [STRIPPED_MARK]: true };
}

function pick(value: unknown, keep: Keep, drop: (text: string) => boolean): unknown {
  if (keep === true) return typeof value === 'string' && drop(value) ? undefined : value;
  if (Array.isArray(keep)) return Array.isArray(value) ? value.map((item) => pick(item, keep[0], drop)) : undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [field, rule] of Object.entries(keep)) {
    if (!(field in value)) continue;
    const kept = pick((value as Record<string, unknown>)[field], rule, drop);
    if (kept !== undefined) out[field] = kept;
  }
  return out;
}
