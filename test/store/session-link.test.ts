// A session's link, as its QR code and the panel read it: the site_url of the newest session
// event of that session, found through the index of events by session without a sort.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventType } from '../../src/core/event-types.js';
import { openStore } from '../../src/store/store.js';
import { tempDir } from '../helpers/temp.js';

const body = (sessionId: string, siteUrl: string) =>
  Buffer.from(JSON.stringify({ type: 'session', session: { id: sessionId, type: 'still', direct_url: siteUrl, site_url: siteUrl } }));

describe('the link of a session', () => {
  const store = openStore(join(tempDir(), 'outbox.db'));
  let now = 1;
  const capture = (sessionId: string, type: EventType, siteUrl: string, test = false) =>
    store.queue.capture({ type, body: body(sessionId, siteUrl), dedupeKey: null, occurredAt: '', sessionId, test }, now++, 1);

  it('is the site_url of its newest session event, whatever came after it', () => {
    capture('s1', 'session', 'https://photos.example.com/s1/first');
    capture('s1', 'session', 'https://photos.example.com/s1/second');
    capture('s1', 'share', 'https://photos.example.com/s1/from-a-share');
    capture('s1', 'session', 'https://photos.example.com/s1/a-test', true);
    capture('s2', 'session', 'https://photos.example.com/s2');
    expect(store.views.sessionLink('s1')).toEqual({ siteUrl: 'https://photos.example.com/s1/second' });
    expect(store.views.sessionLink('s2')).toEqual({ siteUrl: 'https://photos.example.com/s2' });
  });

  it('is null for a session with no session event: none, only a share, only a Send Test', () => {
    capture('share-only', 'share', 'https://photos.example.com/share-only');
    capture('test-only', 'session', 'https://photos.example.com/test-only', true);
    expect(store.views.sessionLink('nobody')).toBeNull();
    expect(store.views.sessionLink('share-only')).toBeNull();
    expect(store.views.sessionLink('test-only')).toBeNull();
  });

  it('walks the index of events by session, newest first, without sorting', () => {
    // The same SQL the views prepared, asked for its plan.
    const { source } = (store.views as unknown as { s: { sessionLink: { source: string } } }).s.sessionLink;
    const plan = (store.db.prepare(`EXPLAIN QUERY PLAN ${source}`).all('s1') as { detail: string }[]).map((r) => r.detail).join('\n');
    expect(plan).toMatch(/SEARCH e USING INDEX events_by_session \(session_id=\?\)/);
    expect(plan).toMatch(/SEARCH m USING INDEX media_by_session \(session_id=\?\)/);
    expect(plan).not.toContain('TEMP B-TREE');
    expect(plan).not.toMatch(/SCAN/);
  });
});
