import { normalizeDenefits } from './denefits/normalize';
import { sources } from './domain';
import { normalizeGhl } from './ghl/normalize';
import { normalizeManyChat } from './manychat/normalize';
import { isRecord, unwrapBody } from './payload';
import { normalizePerspective } from './perspective/normalize';
import { ignore, type NormalizeHints, type Normalizer, type NormalizerConfig, reject } from './result';
import { normalizeStripe } from './stripe/normalize';
import type { NormalizeResult } from './types';

/** One pure normalizer per source (SPEC §4). */
export const normalizers: Record<(typeof sources)[number], Normalizer> = {
  manychat: normalizeManyChat,
  ghl: normalizeGhl,
  stripe: normalizeStripe,
  denefits: normalizeDenefits,
  perspective: normalizePerspective,
};

/** Body field that marks a test delivery (the example curls of `mcb urls`): stored, then ignored. */
export const testDeliveryField = 'mcb_test';

/** Whether a body is a test delivery (`"mcb_test": true`), which proves the wiring but must never count. */
export function isTestDelivery(payload: unknown): boolean {
  const body = unwrapBody(payload);
  return isRecord(body) && body[testDeliveryField] === true;
}

/**
 * Normalizes one stored webhook body for its source (SPEC §4): pure, no I/O, total — any JSON in, a
 * `NormalizeResult` out, never a throw. `config` is the tenant's parsed config (`TenantConfig`);
 * `hints` what the log row knows beyond the body (its `event_type`). An unknown source is `invalid`.
 */
export function normalizeWebhook(source: string, payload: unknown, config: NormalizerConfig, hints?: NormalizeHints): NormalizeResult {
  const normalize = (sources as readonly string[]).includes(source) ? normalizers[source as (typeof sources)[number]] : undefined;
  if (!normalize) return reject(null, `unknown source "${source}"`);
  if (isTestDelivery(payload))
    return ignore(null, 'test delivery ("mcb_test": true): verified and stored, then ignored: no contact, event or payment');
  return withinStoredBounds(normalize(payload, config ?? {}, hints));
}

/**
 * Largest payment amount, in minor units, a normalizer may book: 10^12 (ten billion dollars; Stripe's
 * largest charge is eight digits in most currencies, twelve in any). A signed body can say anything up
 * to 2^53, and sums of such amounts overflowed `bigint` in the stats every tenant shares (red team, stop 32).
 */
export const maxPaymentMinorUnits = 1e12;
/** Largest count a payment may carry (`integer` columns): past it the count is left out, the payment kept. */
const maxStoredCount = 2_147_483_647;

/** `result` with every payment within what is stored: an amount past `maxPaymentMinorUnits` refuses the event. */
function withinStoredBounds(result: NormalizeResult): NormalizeResult {
  if (result.kind !== 'events') return result;
  for (const event of result.events)
    for (const payment of event.payments ?? []) {
      for (const amount of [payment.amountCents, payment.denefitsFinancedCents, payment.denefitsRecurringCents])
        if (amount !== undefined && Math.abs(amount) > maxPaymentMinorUnits)
          return reject(
            event.eventType,
            `a payment of ${amount} minor units is past ${maxPaymentMinorUnits}: no provider charges that much`,
          );
      if ((payment.denefitsNumPayments ?? 0) > maxStoredCount) delete payment.denefitsNumPayments;
      if ((payment.denefitsRemainingPayments ?? 0) > maxStoredCount) delete payment.denefitsRemainingPayments;
    }
  return result;
}
