// How a guest is named, what names them, and what is left of a payload once stripped.
import { describe, expect, it } from 'vitest';
import { closeoutReport, closeoutVerdict, parseDuration } from '../../src/core/closeout.js';
import {
  mentions,
  normaliseEmail,
  parsePhone,
  pathMentions,
  payloadMentions,
  samePhone,
  strippedPayload,
  type GuestIdentifier,
} from '../../src/core/personal-data.js';
import { contractExamples } from '../helpers/contract.js';

describe('matching a guest', () => {
  it.each([
    ['+44 7700 900123', '07700900123', true],
    ['+44 (0)7700 900-123', '07700 900123', true],
    ['0044 7700 900123', '07700900123', true],
    ['07700900123', '07700 900 123', true],
    ['+1 415 555 0100', '(415) 555-0100', true],
    ['+44 7700 900123', '+33 7700 900123', false],
    ['+447700900123', '+47700900123', false],
    ['447700900123', '07700900123', true],
    ['14155550100', '4155550100', false],
    ['+44 7700 900123', '0900123', false],
  ])('%s and %s are the same number: %j', (a, b, same) => {
    expect(samePhone(parsePhone(a)!, parsePhone(b)!)).toBe(same);
    expect(samePhone(parsePhone(b)!, parsePhone(a)!)).toBe(same);
  });

  it('refuses what is not an address or a number', () => {
    expect(normaliseEmail('  Jane.Doe@Example.COM ')).toBe('jane.doe@example.com');
    expect(normaliseEmail('jane')).toBeNull();
    expect(normaliseEmail('jane@localhost')).toBeNull();
    expect(parsePhone('12345')).toBeNull();
    expect(parsePhone('call 07700 900123')).toBeNull();
  });

  const email: GuestIdentifier = { kind: 'email', value: 'jane@example.com' };
  const phone: GuestIdentifier = { kind: 'phone', value: parsePhone('+44 7700 900123')! };
  const session: GuestIdentifier = { kind: 'session', value: '42' };
  it.each([
    [email, 'JANE@example.com', true],
    [email, 'Contact: <Jane@Example.com>.', true],
    [email, 'mary.jane@example.com', false],
    [email, 'jane@example.community', false],
    [phone, 'call me on 07700 900123 tonight', true],
    [phone, '2026-06-01T12:00:00Z', false],
    [session, '/booth/Output/42.jpg', true],
    [session, 'sent as evt_01J42ABC', false],
  ])('%j names the guest in %j: %j', (guest, text, named) => {
    expect(mentions(guest, text)).toBe(named);
  });

  it.each([
    [email, '/booth/Output/Jane@Example.com.jpg', true],
    [email, 'C:\\Booth\\Output\\2026-06-01 jane@example.com.PNG', true],
    [email, 'https://cdn.example.net/e/jane@example.com.gif', true],
    [email, '/booth/Output/mary.jane@example.com.jpg', false],
    [email, '/booth/jane@example.com.au/photo.jpg', false],
    [phone, '/booth/Output/+44 7700 900123.jpg', true],
    [phone, 'C:\\Output\\07700900123.mp4', true],
    [session, '/booth/Output/42.jpg', true],
  ])('%j names the guest in the path %j: %j', (guest, path, named) => {
    expect(pathMentions(guest, path)).toBe(named);
  });

  it('finds the guest in any field of a payload, the unknown ones too', () => {
    expect(payloadMentions(email, { a: [{ b: { guest_email: 'Jane@Example.com' } }], n: 7 })).toBe(true);
    expect(payloadMentions(email, JSON.parse(contractExamples.share!))).toBe(false);
  });
});

describe('strippedPayload', () => {
  it('keeps what holds nothing personal, and marks the payload', () => {
    const win = JSON.parse(contractExamples.competition_win!);
    win.guest_notes = 'likes coffee';
    const stripped = strippedPayload(win, { keepSessionId: true, drop: () => false });
    expect(stripped).toMatchObject({
      type: 'competition_win',
      event_id: win.event_id,
      session: { id: win.session.id, type: win.session.type },
      winner: { type: win.winner.type },
      prize: win.prize,
      personal_data_removed: true,
    });
    expect(stripped.guest_notes).toBeUndefined();
    expect(JSON.stringify(stripped)).not.toContain(win.winner.value);
    expect(JSON.stringify(stripped)).not.toContain(win.session.direct_url);
    for (const section of (stripped.data_capture as { sections: { fields: object[] }[] }).sections) {
      for (const field of section.fields) expect(field).not.toHaveProperty('value');
    }
  });

  it('drops the session id when asked, and any kept text that names the guest', () => {
    const share = JSON.parse(contractExamples.share!);
    share.share.id = 'jane@example.com';
    const stripped = strippedPayload(share, { keepSessionId: false, drop: (text) => mentions(email(), text) });
    expect(stripped.session).toEqual({ type: share.session.type });
    expect(stripped.share).toEqual({ type: share.share.type });
  });
  const email = (): GuestIdentifier => ({ kind: 'email', value: 'jane@example.com' });
});

describe('closeout', () => {
  const endpoint = (counts: Partial<Record<'queued' | 'waiting' | 'delivered' | 'failed', number>>, extra = {}) => ({
    endpointId: 'ep_1',
    url: 'https://hooks.example.com/a',
    enabled: true,
    disabledReason: null,
    unreachableSince: null,
    recovering: { count: 0, nextAt: null },
    queued: 0,
    waiting: 0,
    delivered: 0,
    failed: 0,
    ...counts,
    ...extra,
  });

  const NONE = { files: 0, bytes: 0, pages: 0, galleries: 0 };

  it('is safe only when everything is delivered', () => {
    expect(
      closeoutVerdict({
        counts: { queued: 0, waiting: 0, delivered: 3, failed: 0 },
        unsent: 0,
        media: { ...NONE, files: 1, bytes: 300_000 },
      }),
    ).toEqual({ safe: false, verdict: 'not safe to pack up: 1 photo (300 kB) is only on this booth' });
    expect(closeoutVerdict({ counts: { queued: 0, waiting: 0, delivered: 3, failed: 0 }, unsent: 0, media: NONE })).toEqual({
      safe: true,
      verdict: 'safe to pack up: all 3 delivered',
    });
    expect(closeoutVerdict({ counts: { queued: 1, waiting: 2, delivered: 3, failed: 1 }, unsent: 0, media: NONE })).toEqual({
      safe: false,
      verdict: 'not safe to pack up: 4 not delivered',
    });
  });

  it('says what to do about each thing still on the disk', () => {
    const report = closeoutReport({
      eventId: 7,
      endpoints: [
        endpoint({ delivered: 2, waiting: 1, failed: 1 }),
        endpoint({ queued: 3 }, { endpointId: 'ep_2', url: 'https://b.example/h', enabled: false, disabledReason: 'HTTP 410 Gone' }),
      ],
      unsent: 1,
      media: { ...NONE, files: 3, bytes: 45_000_000 },
      paused: true,
      now: 0,
    });
    expect(report).toMatchObject({ safe: false, totals: { delivered: 2, waiting: 1, failed: 1, queued: 3 } });
    expect(report.verdict).toBe('not safe to pack up: 5 not delivered, 1 event with no endpoint, 3 photos (45 MB) are only on this booth');
    expect(report.advice).toEqual([
      'delivery is paused: resume it (booth-agent resume)',
      '1 delivery waits for https://hooks.example.com/a, which cannot be reached: keep the booth online and they go out by themselves, or export them (booth-agent export)',
      '1 delivery to https://hooks.example.com/a failed: fix the endpoint and retry them (booth-agent retry --failed), or export them (booth-agent export)',
      '3 deliveries for https://b.example/h, which is disabled (HTTP 410 Gone): enable it (booth-agent endpoint enable ep_2), or export them (booth-agent export)',
      '1 event was captured with no endpoint to send it to: export them (booth-agent export)',
      '3 photos (45 MB) not in the storage yet: keep the booth online and they upload by themselves; should uploads have failed, fix the storage (booth-agent storage verify) and retry them',
    ]);
  });

  it("counts the guests' pages and the event gallery still to go up", () => {
    const report = closeoutReport({
      eventId: null,
      endpoints: [endpoint({ delivered: 2 })],
      unsent: 0,
      media: { ...NONE, pages: 2, galleries: 1 },
      paused: false,
      now: 0,
    });
    expect(report).toMatchObject({
      safe: false,
      verdict: "not safe to pack up: 2 guests' pages are not uploaded yet, the event gallery is not up to date",
    });
    expect(report.advice).toEqual([
      "2 guests' pages and the event gallery still to go up (the photos are in the storage): keep the booth online a little longer and they upload by themselves; should uploads have failed, see why (booth-agent uploads --status failed), fix it and retry them",
    ]);
    expect(
      closeoutVerdict({ counts: { queued: 0, waiting: 0, delivered: 1, failed: 0 }, unsent: 0, media: { ...NONE, galleries: 2 } }).verdict,
    ).toBe('not safe to pack up: 2 event galleries are not up to date');
  });

  it('tells failures that will be retried by themselves from those that need the operator', () => {
    const now = Date.parse('2026-06-01T21:00:00Z');
    const advice = (recovering: { count: number; nextAt: number | null }) =>
      closeoutReport({ eventId: null, endpoints: [endpoint({ failed: 3 }, { recovering })], unsent: 0, media: NONE, paused: false, now })
        .advice;
    expect(advice({ count: 2, nextAt: now + 4 * 60_000 + 1 })).toEqual([
      '2 deliveries to https://hooks.example.com/a failed and will be tried again by themselves (next in 5 minutes): keep the booth online, or retry them now (booth-agent retry --failed)',
      '1 delivery to https://hooks.example.com/a failed: fix the endpoint and retry them (booth-agent retry --failed), or export them (booth-agent export)',
    ]);
    expect(advice({ count: 3, nextAt: now - 1 })).toEqual([
      '3 deliveries to https://hooks.example.com/a failed and will be tried again by themselves (now): keep the booth online, or retry them now (booth-agent retry --failed)',
    ]);
  });

  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['0s', 0],
    ['25h', null],
    ['5', null],
    ['5 minutes', null],
    ['-1s', null],
  ])('parses the wait %j as %j', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
