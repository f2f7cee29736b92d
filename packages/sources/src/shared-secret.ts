import { createHash, timingSafeEqual } from 'node:crypto';
import type { VerifyResult, WebhookHeaders, WebhookQuery } from './verify';

/**
 * Constant-time string comparison — the repo's one (webhook secrets here, the console's admin token).
 * Both sides are hashed first so neither the content nor the length of the expected secret leaks
 * through timing.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** True when any presented value equals any expected secret; every pair is compared (no early exit). */
export function matchesAnySecret(presented: readonly string[], secrets: readonly string[]): boolean {
  let ok = false;
  for (const p of presented) {
    for (const s of secrets) {
      if (s && constantTimeEqual(p, s)) ok = true;
    }
  }
  return ok;
}

/**
 * Secrets a request presents: `X-Webhook-Secret`, `Authorization: Bearer …`, `?secret=` (SPEC §3.1).
 * Headers are expected with lowercase names.
 */
export function presentedSecrets(headers: WebhookHeaders, query: WebhookQuery): string[] {
  const out: string[] = [];
  const header = headers['x-webhook-secret']?.trim();
  if (header) out.push(header);
  const auth = headers.authorization;
  const bearer = auth ? /^Bearer\s+(.+)$/i.exec(auth.trim())?.[1]?.trim() : undefined;
  if (bearer) out.push(bearer);
  const q = query.secret?.trim();
  if (q) out.push(q);
  return out;
}

/** The raw body's event as an object (a JSON array body is one event, its first element), or null. */
export function bodyEvent(rawBody: Uint8Array): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength).toString('utf8'));
  } catch {
    return null;
  }
  const event = Array.isArray(parsed) ? parsed[0] : parsed;
  return event && typeof event === 'object' && !Array.isArray(event) ? (event as Record<string, unknown>) : null;
}

/** Body field `secret_key` (Denefits relayed by Make.com); a JSON array body carries it on its first element. */
export function bodySecret(rawBody: Uint8Array, field = 'secret_key'): string | undefined {
  const event = bodyEvent(rawBody);
  if (!event) return undefined;
  const value = event[field];
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/**
 * The shared-secret scheme of the sources without native signing (manychat, perspective, denefits with
 * its body field, unsigned GHL workflow webhooks): each provider's verify.ts calls it. Pure:
 * `(rawBody, headers, query, secrets, now)`; `now` is unused but kept for the common verifier shape.
 * `no_secret` when the tenant has no active secret.
 */
export function verifySharedSecret(
  rawBody: Uint8Array,
  headers: WebhookHeaders,
  query: WebhookQuery,
  secrets: readonly string[],
  _now: Date,
  options: { bodyField?: string } = {},
): VerifyResult {
  const active = secrets.filter(Boolean);
  if (active.length === 0) return { ok: false, reason: 'no_secret' };
  const presented = presentedSecrets(headers, query);
  if (options.bodyField) {
    const fromBody = bodySecret(rawBody, options.bodyField);
    if (fromBody) presented.push(fromBody);
  }
  if (presented.length === 0) return { ok: false, reason: 'missing_signature' };
  return matchesAnySecret(presented, active) ? { ok: true, method: 'shared_secret' } : { ok: false, reason: 'invalid_signature' };
}
