// The shape of the body an endpoint receives (docs/webhooks.md, "Formats"). The outbox
// keeps the contract's bytes; an endpoint can ask for them as they are (`snappic`), as one
// level of keys for spreadsheets and no-code tools (`flat`), or as a one-line message for
// a chat tool's incoming webhook (`chat`). The body is rendered at each attempt, so a
// change of format applies to what is still queued, and `snappic` costs nothing.
import { isAgentEventType } from './event-types.js';
import { formFields } from './export-format.js';
import { PAYLOAD_TYPES, type PayloadType } from './payload.js';

export const PAYLOAD_FORMATS = ['snappic', 'flat', 'chat'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

type Body = Record<string, any>;
type Entry = [key: string, value: unknown];

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The body to send in `format`. `test` marks a Send Test delivery, which a chat line says
 * in words since people in a channel do not see the X-Booth-Agent-Test header.
 */
export function renderBody(format: PayloadFormat, body: Uint8Array, test = false): Uint8Array {
  if (format === 'snappic') return body;
  const event = JSON.parse(decoder.decode(body)) as Body;
  return encoder.encode(format === 'flat' ? objectText(flatEntries(event)) : JSON.stringify({ text: chatLine(event, test) }));
}

/** competition_win's own objects, each field flattened to `<object>_<field>`. */
const COMPETITION_FIELDS = {
  competition: ['id', 'type'],
  prize_win: ['id', 'uuid', 'win_id', 'date', 'valid', 'win_image_qr_url'],
  prize: ['id', 'name', 'winning_text', 'image_url', 'winning_image_url'],
  winner: ['type', 'value'],
} as const;

/** The keys a payload type always has in flat, in order, with their values (null when absent). */
function fixedEntries(type: PayloadType, p: Body): Entry[] {
  const common: Entry[] = [
    ['type', p.type],
    ['event_id', p.event_id],
    ['timestamp', p.timestamp],
    ['session_id', p.session?.id],
    ['session_type', p.session?.type],
    ['direct_url', p.session?.direct_url],
    ['site_url', p.session?.site_url],
  ];
  switch (type) {
    case 'session':
      return common;
    case 'share':
      return [...common, ['share_type', p.share?.type], ['share_value', p.share?.value]];
    case 'survey':
      return [...common, ['survey_completed_at', p.survey?.completed_at]];
    case 'competition_win':
      return [
        ...common,
        ...Object.entries(COMPETITION_FIELDS).flatMap(([object, fields]) =>
          fields.map((field): Entry => [`${object}_${field}`, p[object]?.[field]]),
        ),
      ];
  }
}

/**
 * Every fixed key of every type. A form field is never named like one of them, so a
 * spreadsheet fed several types never gets a guest's answer in, say, its prize_name column.
 */
const FIXED_KEYS: ReadonlySet<string> = new Set(PAYLOAD_TYPES.flatMap((type) => fixedEntries(type, {}).map(([key]) => key)));

function isPayloadType(type: unknown): type is PayloadType {
  return (PAYLOAD_TYPES as readonly unknown[]).includes(type);
}

/**
 * A booth payload: its fixed keys, then each form field, and nothing else (fields the
 * contract does not know are left out, so the keys are exactly the documented ones). Any
 * other body (the agent's own events, Verify) has its nested objects flattened instead.
 */
function flatEntries(event: Body): Entry[] {
  if (!isPayloadType(event.type)) return flattened(event);
  const fields = formFields(event.type, event);
  const uses = new Map<string, number>();
  for (const { title } of fields) uses.set(title, (uses.get(title) ?? 0) + 1);
  const taken = new Set(FIXED_KEYS);
  // A field is named by its title, unless the title is empty, shared with another field
  // or a fixed key: then by its field_id. A name still taken gets _2, _3... in form order.
  const named = fields.map(({ id, title, value }): Entry => {
    const byTitle = title !== '' && uses.get(title) === 1 && !FIXED_KEYS.has(title);
    return [unique(byTitle ? title : id, taken), value];
  });
  return [...fixedEntries(event.type, event), ...named];
}

/** Nested objects' keys joined with "_" (counts.queued is counts_queued); a list is kept as its JSON text. */
function flattened(value: Body, prefix = '', taken = new Set<string>(), out: Entry[] = []): Entry[] {
  for (const [name, item] of Object.entries(value)) {
    const key = prefix === '' ? name : `${prefix}_${name}`;
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) flattened(item as Body, key, taken, out);
    else out.push([unique(key, taken), Array.isArray(item) ? JSON.stringify(item) : item]);
  }
  return out;
}

/** `key`, or the first of key_2, key_3... not taken yet; the name returned is taken from then on. */
function unique(key: string, taken: Set<string>): string {
  let free = key;
  for (let n = 2; taken.has(free); n++) free = `${key}_${n}`;
  taken.add(free);
  return free;
}

/**
 * The entries as one JSON object, written out pair by pair: a JavaScript object would move
 * keys that look like numbers (a form field titled "1") to the front, and treat a key
 * named __proto__ as no key at all.
 */
function objectText(entries: Entry[]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value ?? null)}`).join(',')}}`;
}

const SESSION_WORDS: Readonly<Record<string, string>> = { still: 'photo', gif: 'GIF', video: 'video', ai: 'AI image' };

/**
 * One line for people in a chat channel. An alert brings its own summary; a booth payload
 * (whatever fields booth software added to it) is told without any personal data: no address, number, answer or link to the guest's
 * media, since a channel is read by more people than the receivers the data was meant for.
 */
function chatLine(e: Body, test: boolean): string {
  if (isAgentEventType(e.type) && typeof e.summary === 'string') return e.summary.replace(/\s+/g, ' ').trim();
  if (e.type === 'verify') return 'Booth Agent can reach this endpoint (verify)';
  return `${test ? 'Booth Agent (test)' : 'Booth Agent'}: ${happened(e)}`;
}

function happened(e: Body): string {
  // A part the payload no longer has (an erased guest's session id) is left out of the line.
  const at = shown(e.event_id, ' at event ');
  const where = `${shown(e.session?.id, ' in session ')}${at}`;
  switch (e.type) {
    case 'session':
      return `a new ${SESSION_WORDS[e.session?.type] ?? 'photo'} session${shown(e.session?.id, ' ')}${at}`;
    case 'share':
      return `a share${shown(e.share?.type, ' by ')}${where}`;
    case 'survey':
      return `a survey was completed${where}`;
    case 'competition_win':
      return `a prize was won${where}${shown(e.prize?.name, ' (', ')')}`;
    default:
      return String(e.type);
  }
}

/** A string or number of the payload with the words around it, or nothing when it has none. */
function shown(value: unknown, before = '', after = ''): string {
  return typeof value === 'string' || typeof value === 'number' ? `${before}${value}${after}` : '';
}
