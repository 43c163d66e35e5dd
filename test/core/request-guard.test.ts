import { describe, expect, it } from 'vitest';
import { bearerToken, checkAdminRequest, hostAllowed, idempotencyKeyProblem, tokensEqual } from '../../src/core/request-guard.js';

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

  it('stays right as the expected token changes, more times than hashes are kept', () => {
    const tokens = Array.from({ length: 10 }, (_, n) => `rotated-token-${n}`);
    for (let round = 0; round < 2; round++) {
      for (const [n, token] of tokens.entries()) {
        expect(tokensEqual(token, token)).toBe(true);
        expect(tokensEqual(tokens[(n + 1) % tokens.length]!, token)).toBe(false);
      }
    }
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

describe('checkAdminRequest', () => {
  const port = 7480;
  const admin = 'admin-token-abc';
  const ok = { host: '127.0.0.1:7480', origin: undefined, secFetchSite: undefined, authorization: `Bearer ${admin}` };

  it.each([
    ['a script with the token', ok],
    ['the panel page itself', { ...ok, origin: 'http://127.0.0.1:7480', secFetchSite: 'same-origin' }],
    ['the panel under localhost', { ...ok, host: 'localhost:7480', origin: 'http://localhost:7480', secFetchSite: 'same-origin' }],
    ['a typed-in URL', { ...ok, secFetchSite: 'none' }],
  ])('lets in %s', (_what, request) => {
    expect(checkAdminRequest(request, port, admin)).toEqual({ ok: true });
  });

  it.each([
    ['no token', { ...ok, authorization: undefined }, 401],
    ['the ingest token', { ...ok, authorization: 'Bearer ingest-token-xyz' }, 401],
    ['the token without Bearer', { ...ok, authorization: admin }, 401],
    ['a token prefix', { ...ok, authorization: `Bearer ${admin.slice(0, -1)}` }, 401],
    ['a foreign Host', { ...ok, host: 'evil.example:7480' }, 403],
    ['a rebinding Host on our port', { ...ok, host: 'attacker.example:7480', origin: 'http://attacker.example:7480' }, 403],
    ['a cross-site Origin', { ...ok, origin: 'https://evil.example' }, 403],
    ['an Origin on another port', { ...ok, origin: 'http://127.0.0.1:8080' }, 403],
    ['an https Origin for our host', { ...ok, origin: 'https://127.0.0.1:7480' }, 403],
    ['localhost Origin against a 127.0.0.1 Host', { ...ok, origin: 'http://localhost:7480' }, 403],
    ['the null Origin of a sandboxed frame', { ...ok, origin: 'null' }, 403],
    ['an Origin with a path trick', { ...ok, origin: 'http://127.0.0.1:7480.evil.example' }, 403],
    ['Sec-Fetch-Site cross-site', { ...ok, secFetchSite: 'cross-site' }, 403],
    ['Sec-Fetch-Site same-site (another port)', { ...ok, secFetchSite: 'same-site' }, 403],
    ['Sec-Fetch-Site cross-site with no Origin', { ...ok, origin: undefined, secFetchSite: 'cross-site' }, 403],
  ])('refuses %s', (_what, request, status) => {
    const verdict = checkAdminRequest(request as typeof ok, port, admin);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.status).toBe(status);
  });
});
