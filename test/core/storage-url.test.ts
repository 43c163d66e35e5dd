import { describe, expect, it } from 'vitest';
import { normalizeStorageUrl, storageUrlProblem } from '../../src/core/storage-url.js';

describe('storageUrlProblem', () => {
  it.each([
    ['https://s3.eu-west-1.amazonaws.com', 'api'],
    ['https://s3.eu-west-1.amazonaws.com/', 'api'],
    ['https://abc123.r2.cloudflarestorage.com', 'api'],
    ['https://minio.lan:9000', 'api'],
    ['https://127.0.0.1:9000', 'api'],
    ['https://photos.example.com', 'public'],
    ['https://f004.backblazeb2.com/file/acme-booth-photos', 'public'],
    ['https://minio.example.com/acme%20photos/', 'public'],
  ] as const)('accepts %s as the %s URL', (url, role) => {
    expect(storageUrlProblem(url, role)).toBeNull();
  });

  it.each([
    ['s3.amazonaws.com', 'api', 'is not a URL'],
    ['http://minio.lan:9000', 'api', 'HTTPS is required'],
    ['ftp://photos.example.com', 'public', 'HTTPS is required'],
    ['https://AKIA:secret@s3.amazonaws.com', 'api', 'user name or password'],
    ['https://user@photos.example.com', 'public', 'user name or password'],
    ['https://s3.amazonaws.com/acme-booth-photos', 'api', 'without a path'],
    ['https://s3.amazonaws.com/?bucket=x', 'api', 'query'],
    ['https://photos.example.com/#x', 'public', 'fragment'],
    ['https://photos.example.com/?token=1', 'public', 'query'],
  ] as const)('refuses %s as the %s URL', (url, role, problem) => {
    expect(storageUrlProblem(url, role)).toContain(problem);
  });
});

describe('normalizeStorageUrl', () => {
  it('keeps no trailing slash, so a key follows after exactly one', () => {
    expect(normalizeStorageUrl('https://S3.Example.com/', 'api')).toBe('https://s3.example.com');
    expect(normalizeStorageUrl('https://photos.example.com/booth//', 'public')).toBe('https://photos.example.com/booth');
    expect(normalizeStorageUrl('https://photos.example.com', 'public')).toBe('https://photos.example.com');
  });
});
