import { verifySharedSecret } from '../shared-secret';
import type { Verifier } from '../verify';

/**
 * ManyChat signs nothing: its External Request sends the tenant's shared secret (`X-Webhook-Secret`,
 * `Authorization: Bearer …` or `?secret=`, SPEC §3.1). Pure; never throws.
 */
export const verifyManyChatSecret: Verifier = (rawBody, headers, query, secrets, now) =>
  verifySharedSecret(rawBody, headers, query, secrets, now);
