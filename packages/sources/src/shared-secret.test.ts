import { describe, expect, it } from 'vitest';
import { verifyDenefitsSecret } from './denefits/verify';
import { verifyManyChatSecret } from './manychat/verify';
import { verifyPerspectiveSecret } from './perspective/verify';
import { constantTimeEqual, verifySharedSecret } from './shared-secret';
import type { Verifier } from './verify';

const verifyShared: Verifier = (b, h, q, s, n) => verifySharedSecret(b, h, q, s, n);

const enc = (s: string) => new TextEncoder().encode(s);
const body = enc('{"subscriber":{"id":"1"}}');
const now = new Date();
const current = 'cur-secret-0123456789';
const previous = 'prev-secret-0123456789';

describe.each([
  ['the shared scheme (unsigned ghl)', verifyShared],
  ['manychat', verifyManyChatSecret],
  ['perspective', verifyPerspectiveSecret],
  ['denefits', verifyDenefitsSecret],
] as const)('%s shared secret', (_name, verify) => {
  it('accepts X-Webhook-Secret, Bearer and ?secret=', () => {
    expect(verify(body, { 'x-webhook-secret': current }, {}, [current], now).ok).toBe(true);
    expect(verify(body, { authorization: `Bearer ${current}` }, {}, [current], now).ok).toBe(true);
    expect(verify(body, {}, { secret: current }, [current], now).ok).toBe(true);
  });
  it('rejects a wrong or missing secret', () => {
    expect(verify(body, { 'x-webhook-secret': 'wrong' }, {}, [current], now)).toEqual({ ok: false, reason: 'invalid_signature' });
    expect(verify(body, {}, {}, [current], now)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verify(body, { authorization: 'Basic abc' }, {}, [current], now)).toEqual({ ok: false, reason: 'missing_signature' });
  });
  it('accepts the previous secret only while the caller lists it (rotation overlap)', () => {
    expect(verify(body, { 'x-webhook-secret': previous }, {}, [current, previous], now).ok).toBe(true);
    expect(verify(body, { 'x-webhook-secret': previous }, {}, [current], now).ok).toBe(false);
  });
  it('reports no_secret without an active secret', () => {
    expect(verify(body, { 'x-webhook-secret': current }, {}, [], now)).toEqual({ ok: false, reason: 'no_secret' });
  });
});

describe('denefits body secret', () => {
  it('accepts secret_key in the body and in the first element of an array body', () => {
    expect(verifyDenefitsSecret(enc(JSON.stringify({ secret_key: current })), {}, {}, [current], now).ok).toBe(true);
    expect(verifyDenefitsSecret(enc(JSON.stringify([{ secret_key: current }])), {}, {}, [current], now).ok).toBe(true);
    expect(verifyDenefitsSecret(enc(JSON.stringify({ secret_key: 'nope' })), {}, {}, [current], now).ok).toBe(false);
  });
  it('other sources ignore secret_key', () => {
    for (const verify of [verifyShared, verifyManyChatSecret, verifyPerspectiveSecret])
      expect(verify(enc(JSON.stringify({ secret_key: current })), {}, {}, [current], now).ok).toBe(false);
  });
});

describe('constantTimeEqual', () => {
  it('compares content of any length', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', 'x')).toBe(false);
  });
});
