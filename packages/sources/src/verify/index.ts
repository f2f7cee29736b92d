import type { Source } from '../types';
import { type GhlPublicKeys, verifyGhlSignature } from './ghl';
import { verifyDenefitsSecret, verifySharedSecret } from './shared-secret';
import { verifyStripeSignature } from './stripe';
import type { VerifyResult, WebhookHeaders, WebhookQuery } from './types';

export * from './ghl';
export * from './shared-secret';
export * from './stripe';
export * from './types';

export interface VerifyOptions {
  /** GHL public keys (from `parseGhlPublicKeys`); HighLevel's published keys when absent. */
  ghlPublicKeys?: GhlPublicKeys;
  /**
   * The tenant's GHL location ids (`tenants.config.ghl.location_ids`): a GHL-signed delivery for any
   * other location is refused (`foreign_location`). Absent or empty: every signed delivery is refused.
   */
  ghlLocationIds?: readonly string[];
}

/**
 * Verifies one delivery of `source` over its exact raw bytes (SPEC §3.1). `secrets` are the tenant's
 * active webhook secrets for that source (current, plus previous during a rotation overlap); `now` is
 * the injected clock. Pure; never throws.
 */
export function verifyWebhook(
  source: Source,
  rawBody: Uint8Array,
  headers: WebhookHeaders,
  query: WebhookQuery,
  secrets: readonly string[],
  now: Date,
  options: VerifyOptions = {},
): VerifyResult {
  switch (source) {
    case 'stripe':
      return verifyStripeSignature(rawBody, headers, query, secrets, now);
    case 'ghl':
      return verifyGhlSignature(rawBody, headers, query, secrets, now, options.ghlPublicKeys, {
        locationIds: options.ghlLocationIds ?? [],
      });
    case 'denefits':
      return verifyDenefitsSecret(rawBody, headers, query, secrets, now);
    case 'manychat':
    case 'perspective':
      return verifySharedSecret(rawBody, headers, query, secrets, now);
  }
}
