import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { bodyEvent, verifySharedSecret } from '../shared-secret';
import type { VerifyResult, WebhookHeaders, WebhookQuery } from '../verify';

/**
 * HighLevel's published webhook public keys. RSA: the key printed in HighLevel's Webhook Integration
 * Guide (`x-wh-signature`, legacy). Ed25519 (`x-ghl-signature`): the key HighLevel publishes for
 * signed deliveries. Both are overridable (`GHL_ED25519_PUBLIC_KEY` / `GHL_RSA_PUBLIC_KEY`).
 */
export const ghlPublishedPublicKeys = {
  ed25519: `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=
-----END PUBLIC KEY-----
`,
  rsa: `-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC
Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6
dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB
csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv
uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF
3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU
J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp
IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN
h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC
HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ
PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk
T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==
-----END PUBLIC KEY-----
`,
} as const;

/** Parsed GHL public keys (parse once at boot with `parseGhlPublicKeys`). */
export interface GhlPublicKeys {
  ed25519: KeyObject;
  rsa: KeyObject;
}

/** Env editors turn PEM newlines into literal `\n`; rebuild a valid PEM before parsing. */
function normalizePem(pem: string): string {
  return pem.replace(/\\n/g, '\n').trim();
}

/** Parses PEM public keys (defaults: HighLevel's published ones). Throws on a malformed PEM (boot-time error). */
export function parseGhlPublicKeys(pems: { ed25519?: string; rsa?: string } = {}): GhlPublicKeys {
  return {
    ed25519: createPublicKey(normalizePem(pems.ed25519 || ghlPublishedPublicKeys.ed25519)),
    rsa: createPublicKey(normalizePem(pems.rsa || ghlPublishedPublicKeys.rsa)),
  };
}

let defaultKeys: GhlPublicKeys | undefined;

function publishedKeys(): GhlPublicKeys {
  if (!defaultKeys) defaultKeys = parseGhlPublicKeys();
  return defaultKeys;
}

function decodeSignature(value: string): Buffer | null {
  const v = value.trim();
  if (!v || !/^[A-Za-z0-9+/=_-]+$/.test(v)) return null;
  return Buffer.from(v, 'base64');
}

/** How a GHL-signed delivery is bound to one tenant (SPEC §3.1). */
export interface GhlBinding {
  /** The tenant's GHL location ids (`tenants.config.ghl.location_ids`). Empty: no signed delivery is accepted. */
  locationIds: readonly string[];
  /**
   * Those of `locationIds` another active tenant also names (written before a location could belong to
   * one tenant only): the delivery cannot be bound to one tenant, so it is refused (`shared_location`).
   */
  sharedLocationIds?: readonly string[];
  /** Oldest accepted delivery, by the body's own `timestamp`, in ms. Default `ghlSignedMaxAgeMs`. */
  maxAgeMs?: number;
  /** How far in the future a `timestamp` may be (clock skew), in ms. Default `ghlSignedMaxFutureMs`. */
  maxFutureMs?: number;
}

/**
 * Default age bound of a signed delivery. HighLevel retries a delivery only after a 429, every
 * 10 minutes (plus jitter) for 6 attempts, with the body (and its `timestamp`) unchanged: a genuine
 * retry can be ~75 minutes old. A replay of an older capture is refused.
 */
export const ghlSignedMaxAgeMs = 90 * 60_000;
/** Default clock-skew allowance for a signed delivery's `timestamp` in the future. */
export const ghlSignedMaxFutureMs = 5 * 60_000;

/** `locationId` (marketplace events) or `location.id` (workflow bodies). */
export function ghlLocationIdOf(event: Record<string, unknown>): string | null {
  if (typeof event.locationId === 'string' && event.locationId) return event.locationId;
  const location = event.location;
  if (location && typeof location === 'object' && typeof (location as { id?: unknown }).id === 'string') {
    return (location as { id: string }).id || null;
  }
  return null;
}

/** The body's `timestamp` in ms: ISO string, or epoch seconds / ms. `undefined` when absent, NaN when unreadable. */
function ghlTimestampOf(event: Record<string, unknown>): number | undefined {
  const t = event.timestamp;
  if (t === undefined || t === null) return undefined;
  if (typeof t === 'number') return t < 1e12 ? t * 1000 : t;
  if (typeof t === 'string') return /^\d+$/.test(t) ? ghlTimestampOf({ timestamp: Number(t) }) : Date.parse(t);
  return Number.NaN;
}

/**
 * What a valid HighLevel signature does not prove: that the delivery is meant for this tenant and
 * recent. HighLevel signs with one key for every location of every agency, so the signed
 * `locationId` must be one of the tenant's, and the signed `timestamp` (when HighLevel sends one)
 * within `[now - maxAge, now + maxFuture]`.
 */
export function checkGhlBinding(rawBody: Uint8Array, binding: GhlBinding, now: Date): VerifyResult | null {
  const event = bodyEvent(rawBody);
  const location = event ? ghlLocationIdOf(event) : null;
  if (!location || !binding.locationIds.includes(location)) return { ok: false, reason: 'foreign_location' };
  if (binding.sharedLocationIds?.includes(location)) return { ok: false, reason: 'shared_location' };
  const ts = event ? ghlTimestampOf(event) : undefined;
  if (ts === undefined) return null;
  const age = now.getTime() - ts;
  if (!Number.isFinite(ts) || age > (binding.maxAgeMs ?? ghlSignedMaxAgeMs) || -age > (binding.maxFutureMs ?? ghlSignedMaxFutureMs)) {
    return { ok: false, reason: 'stale_timestamp' };
  }
  return null;
}

/**
 * GHL: `x-ghl-signature` (Ed25519, preferred) or legacy `x-wh-signature` (RSA-SHA256), base64 over the
 * exact raw body, checked with HighLevel's public keys, then bound to the tenant (`checkGhlBinding`:
 * its location, a recent timestamp); unsigned workflow "Webhook" actions fall back to the tenant's
 * shared secret. When a signature header is present its verdict is final. Pure; never throws.
 */
export function verifyGhlSignature(
  rawBody: Uint8Array,
  headers: WebhookHeaders,
  query: WebhookQuery,
  secrets: readonly string[],
  now: Date,
  keys?: GhlPublicKeys,
  binding: GhlBinding = { locationIds: [] },
): VerifyResult {
  const ed = headers['x-ghl-signature'];
  const rsa = headers['x-wh-signature'];
  if (ed || rsa) {
    const k = keys ?? publishedKeys();
    let method: VerifyResult | null;
    try {
      const sig = decodeSignature((ed || rsa) as string);
      const valid = sig !== null && (ed ? verify(null, rawBody, k.ed25519, sig) : verify('sha256', rawBody, k.rsa, sig));
      method = valid ? { ok: true, method: ed ? 'ghl_ed25519' : 'ghl_rsa' } : null;
    } catch {
      method = null;
    }
    if (!method) return { ok: false, reason: 'invalid_signature' };
    return checkGhlBinding(rawBody, binding, now) ?? method;
  }
  return verifySharedSecret(rawBody, headers, query, secrets, now);
}
