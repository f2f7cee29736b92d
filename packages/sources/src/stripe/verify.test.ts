import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { verifyStripeSignature } from './verify';

const enc = (s: string) => new TextEncoder().encode(s);
const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'checkout.session.completed' });
const secret = 'whsec_current_0123456789';
const previous = 'whsec_previous_0123456789';
const t0 = 1_800_000_000;
const sign = (body: string, s: string, timestamp = t0) => Stripe.webhooks.generateTestHeaderString({ payload: body, secret: s, timestamp });
const at = (seconds: number) => new Date(seconds * 1000);

describe('verifyStripeSignature', () => {
  it('accepts a valid signature', () => {
    const r = verifyStripeSignature(enc(payload), { 'stripe-signature': sign(payload, secret) }, {}, [secret], at(t0 + 10));
    expect(r).toEqual({ ok: true, method: 'stripe_signature' });
  });
  it('rejects a tampered body', () => {
    const r = verifyStripeSignature(
      enc(payload.replace('evt_1', 'evt_2')),
      { 'stripe-signature': sign(payload, secret) },
      {},
      [secret],
      at(t0),
    );
    expect(r).toEqual({ ok: false, reason: 'invalid_signature' });
  });
  it('rejects a wrong secret', () => {
    const r = verifyStripeSignature(enc(payload), { 'stripe-signature': sign(payload, 'whsec_other') }, {}, [secret], at(t0));
    expect(r).toEqual({ ok: false, reason: 'invalid_signature' });
  });
  it('rejects a missing header', () => {
    expect(verifyStripeSignature(enc(payload), {}, {}, [secret], at(t0))).toEqual({ ok: false, reason: 'missing_signature' });
  });
  it('rejects a timestamp older than 300 s by the injected clock, accepts at 300 s', () => {
    const header = sign(payload, secret);
    expect(verifyStripeSignature(enc(payload), { 'stripe-signature': header }, {}, [secret], at(t0 + 301))).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
    expect(verifyStripeSignature(enc(payload), { 'stripe-signature': header }, {}, [secret], at(t0 + 300)).ok).toBe(true);
  });
  it('rejects a timestamp more than 300 s in the future (a day, ten years), accepts 300 s ahead', () => {
    for (const ahead of [301, 86_400, 10 * 365 * 86_400]) {
      const header = sign(payload, secret, t0 + ahead);
      expect(verifyStripeSignature(enc(payload), { 'stripe-signature': header }, {}, [secret], at(t0))).toEqual({
        ok: false,
        reason: 'stale_timestamp',
      });
    }
    expect(verifyStripeSignature(enc(payload), { 'stripe-signature': sign(payload, secret, t0 + 300) }, {}, [secret], at(t0)).ok).toBe(
      true,
    );
  });
  it('rejects a header with two timestamps: the library verifies against the last t=, the future check must not read another', () => {
    // Signed for ten years ahead, with a current t= put in front of it.
    const future = sign(payload, secret, t0 + 10 * 365 * 86_400);
    const v1 = future.split(',').find((p) => p.startsWith('v1=')) as string;
    for (const header of [`t=${t0},${future}`, `${future},t=${t0}`, `t=${t0},t=${t0 + 900},${v1}`]) {
      expect(verifyStripeSignature(enc(payload), { 'stripe-signature': header }, {}, [secret], at(t0))).toEqual({
        ok: false,
        reason: 'invalid_signature',
      });
    }
  });
  it('accepts the previous secret while it is active and any v1 entry', () => {
    const r = verifyStripeSignature(enc(payload), { 'stripe-signature': sign(payload, previous) }, {}, [secret, previous], at(t0));
    expect(r.ok).toBe(true);
    const good = sign(payload, secret);
    const v1 = good.split(',').find((p) => p.startsWith('v1=')) as string;
    const multi = `t=${t0},v1=${'0'.repeat(64)},${v1}`;
    expect(verifyStripeSignature(enc(payload), { 'stripe-signature': multi }, {}, [secret], at(t0)).ok).toBe(true);
  });
  it('reports no_secret when the tenant has none', () => {
    expect(verifyStripeSignature(enc(payload), { 'stripe-signature': sign(payload, secret) }, {}, [], at(t0))).toEqual({
      ok: false,
      reason: 'no_secret',
    });
  });
  it('never throws on a malformed header', () => {
    expect(verifyStripeSignature(enc(payload), { 'stripe-signature': 'garbage' }, {}, [secret], at(t0))).toEqual({
      ok: false,
      reason: 'invalid_signature',
    });
  });
});
