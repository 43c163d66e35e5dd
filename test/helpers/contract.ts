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
