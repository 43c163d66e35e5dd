import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSecret, secretProblem, signatureHeaders, signingKeys } from '../../src/core/signing.js';

describe('secrets', () => {
  it('are whsec_ and the base64 of 32 random bytes, different every time', () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(a).not.toBe(b);
    expect(secretProblem(a)).toBeNull();
  });

  it.each([
    ['', 'starts with "whsec_"'],
    ['sk_live_abc', 'starts with "whsec_"'],
    ['whsec_', 'must be base64'],
    ['whsec_not base64!!', 'must be base64'],
    ['whsec_abc', 'must be base64'],
    [`whsec_${Buffer.alloc(8).toString('base64')}`, '24 to 64 bytes'],
    [`whsec_${Buffer.alloc(65).toString('base64')}`, '24 to 64 bytes'],
  ])('refuses %j', (secret, why) => {
    expect(secretProblem(secret)).toContain(why);
  });
});

describe('signatureHeaders', () => {
  const secret = generateSecret();
  const body = Buffer.from('{"type":"session","name":"Zoë 🎉 写真"}', 'utf8');
  const id = 'msg_01J0000000000000000000000';
  const now = Math.floor(Date.now() / 1000);
  const keys = { xSignature: secret, standard: [secret] };
  const headers = signatureHeaders(keys, id, now, body);

  it('X-Signature is hex HMAC-SHA256 of the raw body keyed with the secret as shown', () => {
    const expected = createHmac('sha256', secret).update(body).digest('hex');
    expect(headers['x-signature']).toBe(expected);
    expect(timingSafeEqual(Buffer.from(headers['x-signature'], 'hex'), Buffer.from(expected, 'hex'))).toBe(true);
  });

  it('the Standard Webhooks headers verify with the standardwebhooks library', () => {
    const verified = new Webhook(secret.slice('whsec_'.length)).verify(body.toString('utf8'), headers);
    expect(verified).toEqual(JSON.parse(body.toString('utf8')));
    expect(headers['webhook-id']).toBe(id);
    expect(headers['webhook-timestamp']).toBe(String(now));
  });

  it('a tampered body or another secret fails both', () => {
    const other = generateSecret();
    expect(() => new Webhook(other.slice(6)).verify(body.toString('utf8'), headers)).toThrow();
    expect(() => new Webhook(secret.slice(6)).verify(`${body.toString('utf8')} `, headers)).toThrow();
    expect(createHmac('sha256', other).update(body).digest('hex')).not.toBe(headers['x-signature']);
  });

  it('a fresh timestamp gives a fresh Standard Webhooks signature and the same X-Signature', () => {
    const later = signatureHeaders(keys, id, now + 10, body);
    expect(later['webhook-signature']).not.toBe(headers['webhook-signature']);
    expect(later['x-signature']).toBe(headers['x-signature']);
  });
});

describe('rotation', () => {
  const old = generateSecret();
  const fresh = generateSecret();
  const at = 1_800_000_000_000;
  const rotating = { secret: fresh, previousSecret: old, previousSecretUntil: at + 86_400_000, rotationPending: true };

  it('without a rotation, one secret signs everything', () => {
    expect(signingKeys({ secret: old, previousSecret: null, previousSecretUntil: null, rotationPending: false }, at)).toEqual({
      xSignature: old,
      standard: [old],
    });
  });

  it('for 24 hours both secrets sign webhook-signature; X-Signature stays on the old one until confirmed', () => {
    expect(signingKeys(rotating, at)).toEqual({ xSignature: old, standard: [fresh, old] });
    expect(signingKeys({ ...rotating, rotationPending: false }, at)).toEqual({ xSignature: fresh, standard: [fresh, old] });
  });

  it('after 24 hours only the new secret signs webhook-signature', () => {
    expect(signingKeys(rotating, at + 86_400_000)).toEqual({ xSignature: old, standard: [fresh] });
    expect(signingKeys({ ...rotating, rotationPending: false }, at + 86_400_000)).toEqual({ xSignature: fresh, standard: [fresh] });
  });

  it('a receiver on either secret verifies the two-entry webhook-signature', () => {
    const body = Buffer.from('{"type":"session"}');
    const headers = signatureHeaders(signingKeys(rotating, at), 'msg_x', Math.floor(Date.now() / 1000), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const secret of [old, fresh]) {
      expect(() => new Webhook(secret.slice(6)).verify(body.toString(), headers)).not.toThrow();
    }
    expect(headers['x-signature']).toBe(createHmac('sha256', old).update(body).digest('hex'));
  });
});
