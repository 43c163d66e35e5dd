// How the logs refer to a file without its name, which can hold a guest's.
import { describe, expect, it } from 'vitest';
import { fileRef, withoutFileName } from '../../src/core/media.js';

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
