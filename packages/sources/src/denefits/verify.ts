import { verifySharedSecret } from '../shared-secret';
import type { Verifier } from '../verify';

/**
 * Denefits signs nothing: the tenant's shared secret, in a header or `?secret=` like the other
 * unsigned sources, or else as the body field `secret_key` (Make.com relays cannot set headers; the
 * receiver masks it before storing, see redact.ts), read without parsing the body (`bodySecret`).
 * Pure; never throws.
 */
export const verifyDenefitsSecret: Verifier = (rawBody, headers, query, secrets, now) =>
  verifySharedSecret(rawBody, headers, query, secrets, now, { bodyField: 'secret_key' });
