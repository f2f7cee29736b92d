import { verifySharedSecret } from '../shared-secret';
import type { Verifier } from '../verify';

/**
 * Perspective signs nothing: its webhook sends the tenant's shared secret (`X-Webhook-Secret`,
 * `Authorization: Bearer …` or `?secret=`, SPEC §3.1). Pure; never throws.
 */
export const verifyPerspectiveSecret: Verifier = (rawBody, headers, query, secrets, now) =>
  verifySharedSecret(rawBody, headers, query, secrets, now);
