// What the agent takes as a session's media, the key it uploads it under, the media settings,
// and how the logs refer to a file without its name, which can hold a guest's.
import { describe, expect, it } from 'vitest';
import { expandStorageKey, fileRef, guestPageKeys, isPlainFileName, mediaContentType, withoutFileName } from '../../src/core/media.js';
import { DEFAULT_SETTINGS, parseSetting } from '../../src/core/settings.js';

describe('mediaContentType', () => {
  it.each([
    ['a.jpg', 'image/jpeg'],
    ['A.JPEG', 'image/jpeg'],
    ['b.png', 'image/png'],
    ['c.gif', 'image/gif'],
    ['d.MP4', 'video/mp4'],
    ['e.mov', 'video/quicktime'],
    ['f.webp', 'image/webp'],
    ['g.heic', 'image/heic'],
    ['passwd', null],
    ['notes.txt', null],
    ['photo.jpg.exe', null],
    ['.jpg.', null],
  ])('%s is %s', (name, type) => {
    expect(mediaContentType(name)).toBe(type);
  });
});

describe('isPlainFileName', () => {
  it.each(['0042.jpg', 'Photo 1.png', 'été.mp4', '..a.jpg'])('takes %s', (name) => expect(isPlainFileName(name)).toBe(true));
  it.each(['', '.', '..', '../a.jpg', 'a/b.jpg', 'a\\b.jpg', 'C:a.jpg', 'a.jpg.', 'a.jpg ', 'a\u0000.jpg', 'a?.jpg', 'x'.repeat(201)])(
    'refuses %j',
    (name) => expect(isPlainFileName(name)).toBe(false),
  );
});

describe('expandStorageKey', () => {
  const values = { prefix: 'booths/', eventId: 4711, sessionId: 'b7-0042', file: '0042.jpg', at: Date.UTC(2026, 5, 1, 23, 59) };
  it('fills in the default template', () => {
    expect(expandStorageKey(DEFAULT_SETTINGS.storage_key_template, values)).toBe('booths/4711/b7-0042/0042.jpg');
  });
  it('fills in the day, and a booth with no event', () => {
    expect(expandStorageKey('{prefix}{date}/{event_id}/{session_id}-{file}', { ...values, eventId: null })).toBe(
      'booths/2026-06-01/no-event/b7-0042-0042.jpg',
    );
  });
});

describe('guestPageKeys', () => {
  const values = { prefix: 'booths/', eventId: 4711, sessionId: 'b7-0042', file: 'IMG 0042.final.jpg', at: Date.UTC(2026, 5, 1) };
  it('puts the page and the preview beside the file, and the gallery in the event’s folder', () => {
    expect(guestPageKeys(DEFAULT_SETTINGS.storage_key_template, values, { preview: true, gallery: true })).toEqual({
      pageKey: 'booths/4711/b7-0042/index.html',
      previewKey: 'booths/4711/b7-0042/IMG 0042.final.preview.jpg',
      galleryKey: 'booths/4711/index.html',
    });
  });
  it('follows the template, and leaves out what is not made', () => {
    expect(guestPageKeys('{prefix}{date}/{session_id}-{file}', { ...values, eventId: null }, { preview: false, gallery: false })).toEqual({
      pageKey: 'booths/2026-06-01/b7-0042-index.html',
      previewKey: null,
      galleryKey: null,
    });
    expect(guestPageKeys('{prefix}{session_id}/{file}', { ...values, eventId: null }, { preview: false, gallery: true }).galleryKey).toBe(
      'booths/no-event/index.html',
    );
  });
});

describe('media settings', () => {
  it('have the defaults of the contract', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({
      media_roots: [],
      media_max_mb: 2048,
      media_min_free_mb: 1024,
      storage_key_template: '{prefix}{event_id}/{session_id}/{file}',
      upload_max_kbps: null,
      media_keep_days: 7,
    });
  });

  it('read media_roots as a JSON list of folders', () => {
    expect(parseSetting('media_roots', '["/booth/out","D:\\\\Photos"]')).toEqual({ ok: true, value: ['/booth/out', 'D:\\Photos'] });
    expect(parseSetting('media_roots', '/booth/out')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^media_roots must be a list of folders/),
    });
  });

  it('refuse a key template that could give two files one key, or has an unknown placeholder', () => {
    expect(parseSetting('storage_key_template', '{prefix}{file}')).toEqual({
      ok: false,
      message: 'storage_key_template must contain {session_id} and {file}, or two files would get the same key',
    });
    expect(parseSetting('storage_key_template', '{prefix}{booth}/{session_id}/{file}')).toMatchObject({
      ok: false,
      message: expect.stringContaining('unknown placeholder'),
    });
    expect(parseSetting('upload_max_kbps', '4')).toMatchObject({ ok: false });
    expect(parseSetting('upload_max_kbps', '2000')).toEqual({ ok: true, value: 2000 });
  });
});

const HASH = '3f9a1c2b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8';

describe('fileRef', () => {
  it.each([
    ['/booth/Output/Jane.Doe@Example.com +44 7700 900123.JPG', '3f9a1c2b7d4e.jpg'],
    ['C:\\Booth\\Output\\jane.mp4', '3f9a1c2b7d4e.mp4'],
    ['/booth/v1.2/no-extension', '3f9a1c2b7d4e'],
    ['(erased)', '3f9a1c2b7d4e'],
  ])('%s is %s', (path, ref) => {
    expect(fileRef(HASH, path)).toBe(ref);
  });
});

describe('withoutFileName', () => {
  it("puts the path, and the file's name wherever it stands alone, as the reference", () => {
    const path = 'C:\\Booth\\Output\\jane@example.com.jpg';
    expect(withoutFileName(`${path}.json is not valid JSON`, `${path}`, 'ref.jpg')).toBe('ref.jpg.json is not valid JSON');
    expect(withoutFileName('not sent: no URL for jane@example.com.jpg: set media_url_template', path, 'the final file')).toBe(
      'not sent: no URL for the final file: set media_url_template',
    );
    expect(withoutFileName('EACCES: permission denied', path, 'the file')).toBe('EACCES: permission denied');
  });
});
