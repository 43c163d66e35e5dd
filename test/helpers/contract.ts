// The payload examples, read from the project's own reference for receivers
// (docs/webhooks.md), so the tests follow the published contract rather than a copy of it.
import { readFileSync } from 'node:fs';

const reference = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');

/** Each ```json block of docs/webhooks.md, as written there, keyed by its "type". */
export const contractExamples: Record<string, string> = Object.fromEntries(
  [...reference.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => {
    const text = match[1]!;
    return [(JSON.parse(text) as { type: string }).type, text];
  }),
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
