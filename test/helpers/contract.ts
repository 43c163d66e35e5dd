// The payload examples, read from the project's own reference for receivers
// (docs/webhooks.md), so the tests follow the published contract rather than a copy of it.
import { readFileSync } from 'node:fs';
import { PAYLOAD_TYPES } from '../../src/core/payload.js';

const reference = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');

/**
 * Each ```json block of docs/webhooks.md that is a booth payload, as written there, keyed by
 * its "type". The alert example (test/docs/reference.test.ts checks it) is left out.
 */
export const contractExamples: Record<string, string> = Object.fromEntries(
  [...reference.matchAll(/```json\n([\s\S]*?)```/g)]
    .map((match): [string, string] => [(JSON.parse(match[1]!) as { type: string }).type, match[1]!])
    .filter(([type]) => (PAYLOAD_TYPES as readonly string[]).includes(type)),
);

/** The subsections of docs/webhooks.md's "Formats" section, by their heading (snappic, flat, chat). */
const formats: Record<string, string> = Object.fromEntries(
  /^## Formats\n([\s\S]*?)^## /m
    .exec(reference)![1]!
    .split(/^### /m)
    .slice(1)
    .map((part) => [part.slice(0, part.indexOf('\n')), part]),
);

/**
 * The flat format's documented keys of each payload type, in order, and whether the form
 * fields follow them (the table in "Formats", "flat").
 */
export const flatFormat: Record<string, { keys: string[]; formFields: boolean }> = Object.fromEntries(
  [...formats.flat!.matchAll(/^\| `([a-z_]+)` \| (`.+) \|$/gm)].map(([, type, cell]) => [
    type,
    { keys: [...cell!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!), formFields: cell!.includes('then the form fields') },
  ]),
);

/** The chat format's documented line for each body ("session", "an alert", "Verify"...), from the table in "Formats", "chat". */
export const chatLines: Record<string, string> = Object.fromEntries(
  [...formats.chat!.matchAll(/^\| (.+?) \| `([^`]+)`.* \|$/gm)].map(([, body, text]) => [body!.replaceAll('`', ''), text!]),
);

/** One data_capture field of a text input, as the payloads carry it. */
export const field = (field_id: string, field_title: string, value: string) => ({
  field_id,
  field_title,
  field_type: 'text',
  value,
  required: false,
});
