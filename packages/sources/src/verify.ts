import { verifyDenefitsSecret } from './denefits/verify';
import type { Source } from './domain';
import { type GhlPublicKeys, verifyGhlSignature } from './ghl/verify';
import { verifyManyChatSecret } from './manychat/verify';
import { verifyPerspectiveSecret } from './perspective/verify';
import { verifyStripeSignature } from './stripe/verify';

/** Request headers with lowercase names (one value each). */
export type WebhookHeaders = Readonly<Record<string, string | undefined>>;
/** Query parameters (first value of each). */
export type WebhookQuery = Readonly<Record<string, string | undefined>>;

/**
 * Why a delivery failed verification:
 * - `no_secret`: the tenant has no active secret for this source (the receiver answers `missing_credentials`);
 * - `missing_signature`: no signature / secret was presented;
 * - `invalid_signature`: presented, but it does not match;
 * - `stale_timestamp`: a Stripe signature older than the tolerance, a GHL-signed delivery older (or
 *   further in the future) than its bound;
 * - `foreign_location`: a valid GHL signature over a delivery for a location that is not the tenant's;
 * - `shared_location`: a valid GHL signature for a location of the tenant's that another active tenant
 *   also names (bound before the one-tenant-per-location rule): refused at both until one lets it go.
 */
export type VerifyFailure =
  | 'no_secret'
  | 'missing_signature'
  | 'invalid_signature'
  | 'stale_timestamp'
  | 'foreign_location'
  | 'shared_location';

/** How a delivery was authenticated (kept for logs; never a secret). */
export type VerifyMethod = 'stripe_signature' | 'ghl_ed25519' | 'ghl_rsa' | 'shared_secret';

/** Result of a pure verifier: verifiers never throw. */
export type VerifyResult = { ok: true; method: VerifyMethod } | { ok: false; reason: VerifyFailure };

/** The common verifier shape: `(rawBody, headers, query, secrets, now)`; `now` is the injected clock. */
export type Verifier = (
  rawBody: Uint8Array,
  headers: WebhookHeaders,
  query: WebhookQuery,
  secrets: readonly string[],
  now: Date,
) => VerifyResult;

export interface VerifyOptions {
  /** GHL public keys (from `parseGhlPublicKeys`); HighLevel's published keys when absent. */
  ghlPublicKeys?: GhlPublicKeys;
  /**
   * The tenant's GHL location ids (`tenants.config.ghl.location_ids`): a GHL-signed delivery for any
   * other location is refused (`foreign_location`). Absent or empty: every signed delivery is refused.
   */
  ghlLocationIds?: readonly string[];
  /** Those of `ghlLocationIds` another active tenant also names: refused (`shared_location`). */
  ghlSharedLocationIds?: readonly string[];
}

/** Each provider's verifier (`<provider>/verify.ts`), with the options only GHL reads. */
const verifiers: Record<Source, (...args: [...Parameters<Verifier>, VerifyOptions]) => VerifyResult> = {
  stripe: verifyStripeSignature,
  ghl: (rawBody, headers, query, secrets, now, options) =>
    verifyGhlSignature(rawBody, headers, query, secrets, now, options.ghlPublicKeys, {
      locationIds: options.ghlLocationIds ?? [],
      sharedLocationIds: options.ghlSharedLocationIds,
    }),
  denefits: verifyDenefitsSecret,
  manychat: verifyManyChatSecret,
  perspective: verifyPerspectiveSecret,
};

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
  return verifiers[source](rawBody, headers, query, secrets, now, options);
}

/** Where a shared secret was presented (the first of `presentedSecrets`' order, then denefits' body field). */
function secretPlace(source: Source, headers: WebhookHeaders, query: WebhookQuery): string | null {
  if (headers['x-webhook-secret']?.trim()) return 'the X-Webhook-Secret header';
  if (/^Bearer\s+\S/i.test(headers.authorization?.trim() ?? '')) return 'the Authorization: Bearer header';
  if (query.secret?.trim()) return "the URL's secret query parameter";
  return source === 'denefits' ? "the body's secret_key" : null;
}

/**
 * What an operator reads in a refused delivery's stored `error_message` when it carried a signature or a
 * secret that did not verify (`invalid_signature`): what was checked, against what, and how to compare
 * (`mcb urls <slug> --show-secrets`; for Stripe, whose secret it does not print, `mcb integration list`). The sender's answer stays the bare `Invalid signature`; this names
 * header names and commands, never a value. Null for every other reason (their messages say it already).
 * It read `invalid_signature: Invalid signature` (operator walk, stop 37).
 */
export function describeSignatureFailure(
  source: Source,
  reason: VerifyFailure,
  headers: WebhookHeaders,
  query: WebhookQuery,
  slug: string,
): string | null {
  if (reason !== 'invalid_signature') return null;
  const compare = `compare with mcb urls ${slug} --show-secrets`;
  if (source === 'stripe')
    // `mcb urls` prints a signed curl for Stripe, never the whsec_ itself: the list's last 4 characters compare.
    return `the Stripe-Signature header verifies with none of the tenant's Stripe signing secrets (compare the endpoint's whsec_… in Stripe's dashboard with the last 4 characters mcb integration list ${slug} shows, or store Stripe's with mcb integration rotate-secret ${slug} stripe --webhook-secret)`;
  if (source === 'ghl' && (headers['x-ghl-signature'] || headers['x-wh-signature']))
    return `the ${headers['x-ghl-signature'] ? 'X-GHL-Signature (Ed25519)' : 'X-WH-Signature (RSA)'} header does not verify with HighLevel's public key over the body as received (altered on the way, or not signed by HighLevel)`;
  const place = secretPlace(source, headers, query);
  return place
    ? `the secret in ${place} matches none of the tenant's ${source} webhook secrets (the current one, and the previous one during a rotation); ${compare}`
    : null;
}
