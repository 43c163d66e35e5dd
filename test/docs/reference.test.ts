// The reference docs are the contract users get with the repository: docs/webhooks.md holds
// exactly one example per payload type, each a valid payload, and one alert, exactly as the
// agent builds it; and every link between the docs (and from the README) leads somewhere
// that exists.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alertBody } from '../../src/core/alerts.js';
import { PAYLOAD_TYPES, payloadSchema } from '../../src/core/payload.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(join(root, file), 'utf8');

describe('docs/webhooks.md', () => {
  const blocks = [...read('docs/webhooks.md').matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as { type: string });

  it('has one json example per payload type, then one of an alert, and no other json block', () => {
    expect(blocks.map((b) => b.type)).toEqual([...PAYLOAD_TYPES, 'agent.delivery_failed']);
  });

  it('shows an alert exactly as the agent builds it from the same facts', () => {
    const example = blocks.find((b) => b.type === 'agent.delivery_failed') as unknown as Record<string, any>;
    const built = alertBody(
      {
        type: 'agent.delivery_failed',
        endpoints: example.endpoints.map((e: Record<string, any>) => ({
          endpointId: e.id,
          url: e.url,
          failed: e.failed,
          lastError: e.last_error,
        })),
      },
      {
        now: Date.parse(example.timestamp),
        eventId: example.event_id,
        booth: example.booth,
        agentVersion: example.agent_version,
        counts: example.counts,
        oldestWaitingMs: example.oldest_waiting_ms,
      },
    );
    expect(built).toEqual(example);
  });

  it.each(PAYLOAD_TYPES)('its %s example is valid under the payload schema', (type) => {
    const result = payloadSchema.safeParse(blocks.find((b) => b.type === type));
    expect(result.success ? [] : result.error.issues).toEqual([]);
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** The anchors of a markdown file's headings (outside code blocks). */
function anchors(text: string): Set<string> {
  const prose = text.replace(/```[\s\S]*?```/g, '');
  return new Set([...prose.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

describe('links between the docs', () => {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];

  it.each(files)('every relative link in %s leads to a file and heading that exist', (file) => {
    const prose = read(file).replace(/```[\s\S]*?```/g, '');
    const broken: string[] = [];
    for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue;
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const linked = path === '' ? join(root, file) : resolve(dirname(join(root, file)), path);
      if (!existsSync(linked)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor !== undefined && linked.endsWith('.md') && !anchors(readFileSync(linked, 'utf8')).has(anchor)) {
        broken.push(`${target}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
  });
});
