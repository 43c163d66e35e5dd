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
