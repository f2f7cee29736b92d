import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { verifySharedSecret } from './shared-secret';
import type { VerifyResult, WebhookHeaders, WebhookQuery } from './types';

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

/**
 * GHL: `x-ghl-signature` (Ed25519, preferred) or legacy `x-wh-signature` (RSA-SHA256), base64 over the
 * exact raw body, checked with HighLevel's public keys; unsigned workflow "Webhook" actions fall back
 * to the tenant's shared secret. When a signature header is present its verdict is final.
 * Pure; never throws.
 */
export function verifyGhlSignature(
  rawBody: Uint8Array,
  headers: WebhookHeaders,
  query: WebhookQuery,
  secrets: readonly string[],
  now: Date,
  keys?: GhlPublicKeys,
): VerifyResult {
  const ed = headers['x-ghl-signature'];
  const rsa = headers['x-wh-signature'];
  if (ed || rsa) {
    const k = keys ?? publishedKeys();
    try {
      if (ed) {
        const sig = decodeSignature(ed);
        return sig && verify(null, rawBody, k.ed25519, sig)
          ? { ok: true, method: 'ghl_ed25519' }
          : { ok: false, reason: 'invalid_signature' };
      }
      const sig = decodeSignature(rsa as string);
      return sig && verify('sha256', rawBody, k.rsa, sig) ? { ok: true, method: 'ghl_rsa' } : { ok: false, reason: 'invalid_signature' };
    } catch {
      return { ok: false, reason: 'invalid_signature' };
    }
  }
  return verifySharedSecret(rawBody, headers, query, secrets, now);
}
