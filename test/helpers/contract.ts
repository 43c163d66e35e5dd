// The payload examples, read from the contract itself (../shared/spec/webhooks.md), so the
// tests follow the contract rather than a copy of it.
import { readFileSync } from 'node:fs';

const spec = readFileSync(new URL('../../../shared/spec/webhooks.md', import.meta.url), 'utf8');

/** Each ```json block of the contract, as written there, keyed by its "type". */
export const contractExamples: Record<string, string> = Object.fromEntries(
  [...spec.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => {
    const text = match[1]!;
    return [(JSON.parse(text) as { type: string }).type, text];
  }),
);
