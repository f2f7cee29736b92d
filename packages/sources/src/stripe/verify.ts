import Stripe from 'stripe';
import type { VerifyFailure, VerifyResult, WebhookHeaders, WebhookQuery } from '../verify';

/** Stripe's default tolerance: a signature older than this many seconds is rejected (replay guard). */
export const stripeToleranceSeconds = 300;

// The library's own signature helper (`stripe.webhooks.signature.verifyHeader`): no client or API key needed.
const stripeSignature = Stripe.webhooks.signature;

/**
 * The signed timestamp `t=` of a `Stripe-Signature` header (seconds), or null when there is none, it
 * is not a number, or there is more than one. Stripe sends exactly one; with two, the library verifies
 * against the last while a check reading the first could be shown a current time beside a signature
 * dated years ahead.
 */
function signedAt(header: string): number | null {
  const stamps = header
    .split(',')
    .map((part) => part.split('='))
    .filter(([k]) => k?.trim() === 't');
  const v = stamps.length === 1 ? stamps[0]?.[1]?.trim() : undefined;
  return v !== undefined && /^\d{1,12}$/.test(v) ? Number(v) : null;
}

/**
 * Verifies `Stripe-Signature` with the `stripe` library (HMAC-SHA256 of `t.rawBody`, any `v1` may match),
 * tolerance ±300 s measured against the injected `now` (the library only bounds the past: a signature
 * dated in the future is refused here, or a captured delivery could be replayed until that date). Every active secret is tried, so the previous
 * secret keeps working during a rotation overlap. Pure; never throws.
 */
export function verifyStripeSignature(
  rawBody: Uint8Array,
  headers: WebhookHeaders,
  _query: WebhookQuery,
  secrets: readonly string[],
  now: Date,
): VerifyResult {
  const active = secrets.filter((s) => s?.trim());
  if (active.length === 0) return { ok: false, reason: 'no_secret' };
  const header = headers['stripe-signature'];
  if (!stripeSignature) return { ok: false, reason: 'invalid_signature' };
  if (!header) return { ok: false, reason: 'missing_signature' };
  const t = signedAt(header);
  if (t === null) return { ok: false, reason: 'invalid_signature' };
  const payload = Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  let reason: VerifyFailure = 'invalid_signature';
  for (const secret of active) {
    try {
      stripeSignature.verifyHeader(payload, header, secret, stripeToleranceSeconds, undefined, now.getTime());
      if (t - now.getTime() / 1000 > stripeToleranceSeconds) return { ok: false, reason: 'stale_timestamp' };
      return { ok: true, method: 'stripe_signature' };
    } catch (err) {
      // The library checks the HMAC first, so this message means the signature matched but is too old.
      if (err instanceof Error && /tolerance/i.test(err.message)) reason = 'stale_timestamp';
    }
  }
  return { ok: false, reason };
}
