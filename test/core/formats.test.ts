// The body formats (docs/webhooks.md, "Formats"), read from the page itself: each contract
// example rendered flat has exactly the documented keys with the payload's values, form
// fields are named as documented when titles collide, snappic is the stored bytes, and a
// chat line is the documented one and carries no guest's data.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderBody } from '../../src/core/formats.js';
import { PAYLOAD_TYPES } from '../../src/core/payload.js';
import { chatLines, contractExamples, field, flatFormat } from '../helpers/contract.js';

const TIMESTAMP = '2025-01-15T14:30:00.000Z';

/** A contract example as the outbox stores it: `timestamp` appended before the closing brace. */
const stored = (type: string) => Buffer.from(contractExamples[type]!.replace(/\}\s*$/, `,"timestamp":"${TIMESTAMP}"}`));

const flat = (body: Buffer | string) => Buffer.from(renderBody('flat', Buffer.isBuffer(body) ? body : Buffer.from(body))).toString('utf8');

/** The keys of a flat body in the order they are written (JSON.parse would move "1" to the front). */
const keysInOrder = (text: string) => [...text.matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);

interface Field {
  field_title: string;
  value: string;
}
const formOf = (payload: any): Field[] =>
  (payload.type === 'survey' ? payload.survey.data_capture : (payload.data_capture ?? { sections: [] })).sections.flatMap(
    (s: { fields: Field[] }) => s.fields,
  );

/** A documented fixed key's value in the payload: the table's note says where each comes from. */
function documentedValue(key: string, p: any): unknown {
  const fromSession: Record<string, string> = { session_id: 'id', session_type: 'type', direct_url: 'direct_url', site_url: 'site_url' };
  if (key in fromSession) return p.session[fromSession[key]!];
  if (key === 'share_type' || key === 'share_value') return p.share[key.slice('share_'.length)];
  if (key === 'survey_completed_at') return p.survey.completed_at;
  const own = /^(competition|prize_win|prize|winner)_(.+)$/.exec(key);
  if (own) return p[own[1]!][own[2]!];
  return p[key];
}

describe('flat', () => {
  it('documents every payload type', () => {
    expect(Object.keys(flatFormat)).toEqual([...PAYLOAD_TYPES]);
  });

  it.each(PAYLOAD_TYPES)('%s: exactly the documented keys, in order, with the payload values', (type) => {
    const payload = JSON.parse(stored(type).toString());
    const text = flat(stored(type));
    const form = formOf(payload);
    const documented = flatFormat[type]!;
    expect(documented.formFields).toBe(type !== 'session');
    expect(keysInOrder(text)).toEqual([...documented.keys, ...form.map((f) => f.field_title)]);
    const body = JSON.parse(text);
    for (const key of documented.keys) expect([key, body[key]]).toEqual([key, documentedValue(key, payload)]);
    for (const field of form) expect(body[field.field_title]).toBe(field.value);
    expect(Object.values(body).every((value) => value === null || typeof value !== 'object')).toBe(true);
  });

  it('the example on the page is what the share example becomes', () => {
    const page = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');
    const example = /The share example above, in `flat`:\n\n```jsonc\n([\s\S]*?)```/.exec(page)![1]!;
    expect(keysInOrder(flat(stored('share')))).toEqual(keysInOrder(example));
    expect(JSON.parse(flat(stored('share')))).toEqual(JSON.parse(example));
  });

  it('names colliding form fields by field_id, then by _2, _3, in form order', () => {
    const share = JSON.parse(stored('share').toString());
    share.data_capture.sections = [
      { title: 'A', position: 0, fields: [field('first', 'Name', 'Ada'), field('last', 'Name', 'Lovelace'), field('kind', 'type', 'VIP')] },
      {
        title: 'B',
        position: 1,
        fields: [
          field('pn', 'prize_name', 'a title that is a key of another type'),
          field('remark', '', 'no title'),
          field('first', 'City', 'London'),
          field('first', 'Name', 'a third Name, whose id is taken'),
          field('share_type', 'Email', 'an id that is a fixed key'),
          field('mail', 'Email', 'm@example.com'),
          field('q1', '1', 'a title like a number stays in place'),
        ],
      },
    ];
    const text = flat(JSON.stringify(share));
    expect(keysInOrder(text).slice(flatFormat.share!.keys.length)).toEqual([
      'first',
      'last',
      'kind',
      'pn',
      'remark',
      'City',
      'first_2',
      'share_type_2',
      'mail',
      '1',
    ]);
    expect(JSON.parse(text)).toMatchObject({
      first: 'Ada',
      last: 'Lovelace',
      kind: 'VIP',
      type: 'share',
      share_type: 'email',
      first_2: 'a third Name, whose id is taken',
    });
  });

  it('leaves out what the contract does not know and gives null for what the payload lacks', () => {
    const session = JSON.parse(stored('session').toString());
    session.note = 'booth software’s own field';
    delete session.timestamp;
    const body = JSON.parse(flat(JSON.stringify(session)));
    expect(Object.keys(body)).toEqual(flatFormat.session!.keys);
    expect(body.timestamp).toBeNull();
  });

  it("flattens the agent's own events and Verify by joining nested keys with _", () => {
    const alert = {
      type: 'agent.delivery_failed',
      summary: 'Booth 3: a delivery to https://crm.example.com failed',
      event_id: 7,
      counts: { queued: 2, waiting: 0, failed: 1, delivered: 40 },
      oldest_waiting: { age_ms: 1200 },
      endpoints: ['ep_1', 'ep_2'],
    };
    expect(JSON.parse(flat(JSON.stringify(alert)))).toEqual({
      type: 'agent.delivery_failed',
      summary: 'Booth 3: a delivery to https://crm.example.com failed',
      event_id: 7,
      counts_queued: 2,
      counts_waiting: 0,
      counts_failed: 1,
      counts_delivered: 40,
      oldest_waiting_age_ms: 1200,
      endpoints: '["ep_1","ep_2"]',
    });
    const verify = `{"type":"verify","event_id":1,"timestamp":"${TIMESTAMP}"}`;
    expect(flat(verify)).toBe(verify);
  });
});

describe('snappic', () => {
  it.each(PAYLOAD_TYPES)('%s: the stored bytes themselves', (type) => {
    const body = stored(type);
    expect(renderBody('snappic', body)).toBe(body);
  });
});

describe('chat', () => {
  const text = (body: Buffer, test = false) => {
    const rendered = JSON.parse(Buffer.from(renderBody('chat', body, test)).toString());
    expect(Object.keys(rendered)).toEqual(['text']);
    return rendered.text as string;
  };

  it.each(PAYLOAD_TYPES)('%s: the documented line, without the guest’s address, number, answers or media', (type) => {
    const line = text(stored(type));
    expect(line).toBe(chatLines[type]);
    const payload = JSON.parse(stored(type).toString());
    const personal = [
      payload.session.direct_url,
      payload.session.site_url,
      payload.share?.value,
      payload.winner?.value,
      payload.prize_win?.win_image_qr_url,
      ...formOf(payload).map((f) => f.value),
    ].filter((v) => v !== undefined);
    expect(personal.length).toBeGreaterThan(1);
    for (const value of personal) expect(line).not.toContain(value);
  });

  it('leaves out what an erased payload no longer has, rather than writing "undefined"', () => {
    const erased = (type: string, drop: (payload: Record<string, any>) => void) => {
      const payload = JSON.parse(stored(type).toString());
      drop(payload);
      return text(Buffer.from(JSON.stringify(payload)));
    };
    expect(erased('session', (p) => delete p.session.id)).toBe('Booth Agent: a new photo session at event 1');
    expect(erased('share', (p) => delete p.session)).toBe('Booth Agent: a share by email at event 1');
    expect(erased('competition_win', (p) => (delete p.session.id, delete p.prize.name))).toBe('Booth Agent: a prize was won at event 1');
    expect(erased('survey', (p) => (delete p.session, delete p.event_id))).toBe('Booth Agent: a survey was completed');
  });

  it('marks a Send Test line, since a channel does not see headers', () => {
    expect(text(stored('share'), true)).toBe(chatLines.share!.replace('Booth Agent:', 'Booth Agent (test):'));
  });

  it("an alert's line is its summary, on one line (a booth payload's own summary is not used); Verify's is documented", () => {
    const alert = { type: 'agent.backlog_waiting', summary: 'Booth 3: 12 deliveries\n  waiting for 20 min', counts: { waiting: 12 } };
    expect(text(Buffer.from(JSON.stringify(alert)))).toBe('Booth 3: 12 deliveries waiting for 20 min');
    expect(text(Buffer.from(`{"type":"verify","event_id":1,"timestamp":"${TIMESTAMP}"}`))).toBe(chatLines.Verify);
    const survey = JSON.parse(stored('survey').toString());
    survey.summary = 'Jane Doe, jane@example.com, loved it';
    expect(text(Buffer.from(JSON.stringify(survey)))).toBe(chatLines.survey);
  });
});
