import { describe, expect, it } from 'vitest';
import { bearerToken, hostAllowed, idempotencyKeyProblem, tokensEqual } from '../../src/core/request-guard.js';

describe('hostAllowed (DNS rebinding)', () => {
  it.each(['127.0.0.1:7480', 'localhost:7480'])('accepts %s', (host) => {
    expect(hostAllowed(host, 7480)).toBe(true);
  });
  it.each([
    undefined,
    '',
    '127.0.0.1',
    'localhost',
    '127.0.0.1:7481',
    'localhost:80',
    'evil.example:7480',
    'localhost.evil.example:7480',
    '127.0.0.1.nip.io:7480',
    'LOCALHOST:7480x',
    '127.0.0.1:7480@evil.example',
    '[::1]:7480',
    '0.0.0.0:7480',
    '127.1:7480',
    ' 127.0.0.1:7480',
    '127.0.0.1:07480',
  ])('refuses %j', (host) => {
    expect(hostAllowed(host, 7480)).toBe(false);
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc_DEF-123', 'abc_DEF-123'],
    ['  Bearer abc  ', 'abc'],
    [undefined, null],
    ['', null],
    ['Bearer', null],
    ['Bearer ', null],
    ['bearer abc', null],
    ['Basic YWJjOmRlZg==', null],
    ['Bearer abc def', null],
    ['Bearer abc\r\nX-Evil: 1', null],
  ])('%j → %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});

describe('tokensEqual', () => {
  it('compares whole tokens', () => {
    expect(tokensEqual('secret-token', 'secret-token')).toBe(true);
    expect(tokensEqual('secret-toke', 'secret-token')).toBe(false);
    expect(tokensEqual('secret-tokenX', 'secret-token')).toBe(false);
    expect(tokensEqual('', 'secret-token')).toBe(false);
    expect(tokensEqual(null, 'secret-token')).toBe(false);
  });
});

describe('idempotencyKeyProblem', () => {
  it.each(['a', 'order-123', 'x'.repeat(255), 'abc:def/ghi'])('accepts %j', (key) => {
    expect(idempotencyKeyProblem(key)).toBeNull();
  });
  it.each(['', 'x'.repeat(256), 'has space', 'tab\there', 'é', 'line\nbreak'])('refuses %j', (key) => {
    expect(idempotencyKeyProblem(key)).not.toBeNull();
  });
});
