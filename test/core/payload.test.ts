import { describe, expect, it } from 'vitest';
import { EXAMPLE_PAYLOADS } from '../../src/core/examples.js';
import { naturalKey, PAYLOAD_TYPES, validatePayload } from '../../src/core/payload.js';
import { contractExamples } from '../helpers/contract.js';

const parse = (type: string) => JSON.parse(contractExamples[type]!) as Record<string, any>;

describe('payload schemas', () => {
  it('finds the four examples in the contract', () => {
    expect(Object.keys(contractExamples).sort()).toEqual([...PAYLOAD_TYPES].sort());
  });

  it.each(PAYLOAD_TYPES)('accepts the contract example of %s unchanged', (type) => {
    const result = validatePayload(parse(type));
    expect(result).toEqual({ ok: true, payload: parse(type) });
  });

  it.each(PAYLOAD_TYPES)('sends the contract example of %s as Send Test', (type) => {
    expect(EXAMPLE_PAYLOADS[type]).toEqual(parse(type));
  });

  it('keeps unknown fields at every level', () => {
    const payload = parse('share');
    payload.booth_extra = { kiosk: 'A' };
    payload.session.album = 'wedding';
    payload.share.locale = 'fr';
    payload.data_capture.sections[0].fields[0].hint = 'x';
    const result = validatePayload(payload);
    expect(result.ok && result.payload).toEqual(payload);
  });

  it.each(['still', 'gif', 'video', 'ai'])('takes session type %s', (type) => {
    const payload = parse('session');
    payload.session.type = type;
    expect(validatePayload(payload).ok).toBe(true);
  });

  it.each(['email', 'sms'])('takes share type %s', (type) => {
    const payload = parse('share');
    payload.share.type = type;
    expect(validatePayload(payload).ok).toBe(true);
  });

  it('leaves device and template ids optional, and sections may be empty', () => {
    const payload = parse('session');
    delete payload.session.device;
    delete payload.session.still_template_id;
    delete payload.session.gif_template_id;
    expect(validatePayload(payload).ok).toBe(true);
    const share = parse('share');
    share.data_capture.sections = [];
    expect(validatePayload(share).ok).toBe(true);
  });

  it('takes a payload without event_id and timestamp (capture fills them in)', () => {
    const payload = parse('survey');
    delete payload.event_id;
    expect(validatePayload(payload).ok).toBe(true);
  });

  it('reports every problem with its path', () => {
    const payload = parse('competition_win');
    payload.event_id = 'one';
    payload.session.type = 'hologram';
    delete payload.prize_win.uuid;
    payload.prize.image_url = 'javascript:alert(1)';
    payload.data_capture.sections = [
      { title: 'x', position: 0, fields: [{ field_id: 'a', field_title: 'b', field_type: 'c', value: 5, required: 'yes' }] },
    ];
    payload.timestamp = 'yesterday';
    const result = validatePayload(payload);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual(
      expect.arrayContaining([
        { path: 'event_id', message: 'must be a number' },
        { path: 'timestamp', message: expect.stringContaining('ISO 8601') },
        { path: 'session.type', message: 'must be one of still, gif, video, ai' },
        { path: 'prize_win.uuid', message: 'is required' },
        { path: 'prize.image_url', message: 'must be an http(s) URL' },
        { path: 'data_capture.sections.0.fields.0.value', message: 'must be a string' },
        { path: 'data_capture.sections.0.fields.0.required', message: 'must be true or false' },
      ]),
    );
    expect(result.issues).toHaveLength(7);
  });

  it('names the type when it is unknown or missing', () => {
    expect(validatePayload({ type: 'vote' })).toEqual({
      ok: false,
      issues: [{ path: 'type', message: 'must be one of session, share, survey, competition_win' }],
    });
    expect(validatePayload({})).toEqual({ ok: false, issues: [{ path: 'type', message: 'is required' }] });
  });

  it.each([[[]], [null], ['text'], [42]])('refuses %j, which is not an object', (value) => {
    expect(validatePayload(value)).toEqual({ ok: false, issues: [{ path: '', message: 'must be a JSON object' }] });
  });

  it('refuses a share type outside email and sms', () => {
    const payload = parse('share');
    payload.share.type = 'whatsapp';
    expect(validatePayload(payload)).toEqual({ ok: false, issues: [{ path: 'share.type', message: 'must be one of email, sms' }] });
  });
});

describe('a session that hands the agent its file', () => {
  const session = (fields: Record<string, unknown>) => ({ type: 'session', event_id: 1, session: { id: 's1', type: 'still', ...fields } });
  const issues = (value: unknown) => {
    const result = validatePayload(value);
    return result.ok ? [] : result.issues;
  };

  it('takes session.file instead of both URLs', () => {
    expect(validatePayload(session({ file: '/booth/out/1.jpg' }))).toMatchObject({ ok: true });
  });

  it('refuses a file with URLs, and a session with neither, naming both ways', () => {
    expect(issues(session({ file: 'a.jpg', direct_url: 'https://x.test/a.jpg' }))).toEqual([
      { path: 'session.file', message: 'must not come with direct_url or site_url: the agent sets them' },
    ]);
    const either = 'is required (or give session.file instead of both URLs)';
    expect(issues(session({}))).toEqual([
      { path: 'session.direct_url', message: either },
      { path: 'session.site_url', message: either },
    ]);
    expect(issues(session({ direct_url: 'https://x.test/a.jpg' }))).toEqual([{ path: 'session.site_url', message: either }]);
    expect(issues(session({ file: '' }))).toEqual([{ path: 'session.file', message: 'must not be empty' }]);
  });

  it('takes a poster for a video with its file, and for nothing else', () => {
    expect(validatePayload(session({ type: 'video', file: '/out/1.mp4', poster: '/out/1.jpg' }))).toMatchObject({ ok: true });
    expect(issues(session({ file: '/out/1.jpg', poster: '/out/1.png' }))).toEqual([
      { path: 'session.poster', message: 'is for a video only' },
    ]);
    expect(issues(session({ type: 'video', direct_url: 'https://x.test/a.mp4', site_url: 'https://x.test/a', poster: 'p.jpg' }))).toEqual([
      { path: 'session.poster', message: 'must come with session.file' },
    ]);
  });

  it('is for sessions only: a share still names its URLs', () => {
    const share = parse('share');
    delete share.session.direct_url;
    share.session.file = 'a.jpg';
    expect(issues(share).map((issue) => issue.path)).toEqual(['session.direct_url']);
  });
});

describe('natural keys', () => {
  it('use the ids docs/capture-api.md names, namespaced by type', () => {
    const keys = PAYLOAD_TYPES.map((type) => {
      const result = validatePayload(parse(type));
      if (!result.ok) throw new Error('example invalid');
      return naturalKey(result.payload);
    });
    expect(keys).toEqual([
      'session:abc123xyz',
      'share:share789',
      'survey:abc123xyz:2025-01-15T14:30:00+00:00',
      'competition_win:a1b2c3d4-e5f6-7890-abcd-ef1234567890',
    ]);
  });
});
