import { describe, expect, it } from 'vitest';
import { endpointUrlProblem, isAppsScriptAccepted } from '../../src/core/endpoint-url.js';

describe('endpointUrlProblem', () => {
  it.each([
    'https://hooks.zapier.com/hooks/catch/123/abc/',
    'https://hook.eu1.make.com/xyz',
    'https://n8n.example.com:8443/webhook/booth?src=kiosk',
    'https://127.0.0.1:9443/hook',
    'https://[::1]:9443/hook',
    'HTTPS://EXAMPLE.COM/x',
  ])('accepts %s', (url) => {
    expect(endpointUrlProblem(url)).toBeNull();
  });

  it.each([
    ['http://hooks.example.com/x', 'HTTPS is required'],
    ['HTTP://hooks.example.com/x', 'HTTPS is required'],
    ['ftp://example.com/x', 'HTTPS is required'],
    ['javascript:alert(1)', 'HTTPS is required'],
    ['file:///etc/passwd', 'HTTPS is required'],
    ['ws://example.com', 'HTTPS is required'],
    ['hooks.example.com/x', 'is not a URL'],
    ['', 'is not a URL'],
    ['https://', 'is not a URL'],
    ['https://user:pass@example.com/x', 'user name or password'],
    ['https://token@example.com/x', 'user name or password'],
  ])('refuses %j (%s)', (url, why) => {
    expect(endpointUrlProblem(url)).toContain(why);
  });
});

describe('isAppsScriptAccepted', () => {
  const script = 'https://script.google.com/macros/s/AKfycb/exec';
  const echo = 'https://script.googleusercontent.com/macros/echo?user_content_key=abc&lib=x';
  it('accepts the 302 an Apps Script web app answers', () => {
    expect(isAppsScriptAccepted(script, 302, echo)).toBe(true);
  });
  it.each([
    ['another status', script, 301, echo],
    ['no Location', script, 302, null],
    ['a look-alike host', script, 302, 'https://script.googleusercontent.com.attacker.example/x'],
    ['a sub-domain prefix', script, 302, 'https://evil-script.googleusercontent.com/x'],
    ['userinfo trick', script, 302, 'https://script.googleusercontent.com@attacker.example/x'],
    ['plain http', script, 302, 'http://script.googleusercontent.com/x'],
    ['an endpoint that is not Apps Script', 'https://script.google.com.attacker.example/exec', 302, echo],
    ['a relative Location', script, 302, '/macros/echo'],
    ['garbage', script, 302, 'http://[::1'],
  ])('refuses %s', (_what, endpoint, status, location) => {
    expect(isAppsScriptAccepted(endpoint, status, location)).toBe(false);
  });
});
