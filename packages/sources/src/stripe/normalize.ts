import { distinctEmails, normalizeEmail, readPhone } from '../identity';
import { isRecord, readCount, unwrapBody } from '../payload';
import {
  buildContact,
  defaultDepositAmountCents,
  emitEvents,
  guardNormalizer,
  ignore,
  type NormalizerConfig,
  reject,
  withNote,
  withoutUndefined,
} from '../result';
import type { NormalizedContact, NormalizedPayment, NormalizeResult } from '../types';
import {
  type StripeEvent,
  type StripeInvoice,
  type StripeInvoicePayment,
  stripeChargeSchema,
  stripeCheckoutSessionSchema,
  stripeDisputeSchema,
  stripeEventSchema,
  stripeInvoicePaymentSchema,
  stripeInvoiceSchema,
  stripeMaxListEntries,
} from './schema';

type StripeObject = Record<string, unknown>;

/** Event types booked elsewhere: the sale is counted once, from its checkout session (SPEC §4). */
const countedViaCheckout = new Set(['payment_intent.succeeded', 'charge.succeeded']);

/**
 * The events a Stripe endpoint should send (`mcb urls` lists them): each one the normalizer acts on.
 * `invoice.payment_succeeded` is read too, as `invoice.paid`, but one of the two is enough.
 */
export const stripeWebhookEvents = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
  'charge.refunded',
  'charge.dispute.created',
  'charge.dispute.closed',
  'invoice.paid',
  'invoice_payment.paid',
] as const;

/** A payment's currency that is not three letters (Stripe sends nothing else): the event is refused, naming it. */
class InvalidCurrency extends Error {}

/**
 * The payment's currency, lower case (`usd` when the body names none). Anything but three letters is
 * refused: it is stored, summed per currency and shown in every report, and one signed event with
 * currency `__proto__` poisoned the weekly report's figures of the worker that ran it (red team, stop 32).
 * Not this runtime's ISO 4217 list: it lacks codes Stripe still lists (`std`, `vef`, `mro`, `zmk`), and
 * a real payment refused is revenue the reports never show (review, stop 33).
 */
function currencyOf(value: string | undefined): string {
  if (value === undefined) return 'usd';
  if (!/^[A-Za-z]{3}$/.test(value))
    throw new InvalidCurrency(`currency ${JSON.stringify(value.slice(0, 40))} is not a three-letter currency code`);
  return value.toLowerCase();
}

function paymentContact(keys: { email?: string; phone?: string; customerId?: string }): NormalizedContact | undefined {
  return buildContact(
    { stripeCustomerId: keys.customerId, emails: distinctEmails(keys.email), phone: keys.phone },
    { stripeCustomerId: keys.customerId, emailPayment: keys.email, phone: keys.phone },
  );
}

function depositAmount(config: NormalizerConfig): number {
  const amount = config.deposit_amount_cents;
  return typeof amount === 'number' && Number.isSafeInteger(amount) && amount > 0 ? amount : defaultDepositAmountCents;
}

function checkoutPaid(event: StripeEvent, object: StripeObject, config: NormalizerConfig): NormalizeResult {
  const type = event.type ?? null;
  const session = stripeCheckoutSessionSchema.parse(object);
  if (!session.id) return reject(type, 'checkout.session has no id');
  if (event.type === 'checkout.session.completed' && session.payment_status !== 'paid') {
    // Delayed methods (ACH, SEPA) complete unpaid; async_payment_succeeded books them later.
    const status = session.payment_status ?? 'unknown';
    return ignore(type, `checkout.session payment_status is "${status}"${status === 'unpaid' ? ': awaiting async payment' : ''}`);
  }
  const amount = session.amount_total;
  if (amount === undefined) {
    // Said as it is: the field may be there but not a whole number (operator walk, stop 38).
    const raw = (object as Record<string, unknown>).amount_total;
    return reject(
      type,
      raw === undefined || raw === null
        ? 'checkout.session has no amount_total'
        : `checkout.session amount_total ${JSON.stringify(raw).slice(0, 40)} is not a whole number of minor units`,
    );
  }
  if (amount === 0) return ignore(type, 'checkout.session amount_total is 0: nothing was paid');

  const email = normalizeEmail(session.customer_details?.email) ?? normalizeEmail(session.customer_email);
  const { phone, note: phoneNote } = readPhone(config.phone_country, session.customer_details?.phone);
  // The deposit amount is in the tenant's currency: €100.00 or ¥10,000 at a USD tenant is a sale, not its deposit.
  const currency = currencyOf(session.currency);
  const deposit = amount === depositAmount(config) && currency === (config.currency ?? 'usd').toLowerCase();
  const payment: NormalizedPayment = withoutUndefined({
    paymentEventId: session.id,
    source: 'stripe',
    paymentType: 'buy_in_full',
    category: deposit ? 'deposit' : 'full_purchase',
    amountCents: amount,
    currency,
    status: 'paid',
    customerEmail: email,
    customerName: session.customer_details?.name,
    customerPhone: phone,
    paidAt: event.created ?? session.created,
    stripeCustomerId: session.customer,
    stripeSessionId: session.id,
    stripePaymentIntentId: session.payment_intent,
    stripeSubscriptionId: session.subscription,
    funnelEvent: deposit ? 'deposit_paid' : 'purchase_completed',
  } satisfies NormalizedPayment);
  return withNote(
    emitEvents(
      withoutUndefined({
        source: 'stripe' as const,
        eventType: event.type ?? 'checkout.session',
        occurredAt: event.created,
        contact: paymentContact({ email, phone, customerId: session.customer }),
        payments: [payment],
      }),
    ),
    phoneNote,
  );
}

function checkoutExpired(event: StripeEvent, object: StripeObject, config: NormalizerConfig): NormalizeResult {
  const type = event.type ?? null;
  const session = stripeCheckoutSessionSchema.parse(object);
  const email = normalizeEmail(session.customer_details?.email) ?? normalizeEmail(session.customer_email);
  if (!email) return ignore(type, 'expired checkout.session carries no email');
  const { phone, note: phoneNote } = readPhone(config.phone_country, session.customer_details?.phone);
  const contact = paymentContact({ email, phone, customerId: session.customer });
  return withNote(
    emitEvents(
      withoutUndefined({
        source: 'stripe' as const,
        eventType: 'checkout.session.expired',
        occurredAt: event.created,
        contact,
        funnelEvent: withoutUndefined({
          type: 'checkout_abandoned' as const,
          occurredAt: event.created,
          data: withoutUndefined({ session_id: session.id, amount_total_cents: session.amount_total }),
        }),
      }),
    ),
    phoneNote,
  );
}

/**
 * One refund payment per refund (keyed by the refund id). API versions from 2022-11-15 no longer embed
 * `refunds` in the charge: then the refund is the growth of `amount_refunded` since the event's
 * `previous_attributes`, keyed by charge and running total so each partial refund counts once.
 */
function chargeRefunded(event: StripeEvent, object: StripeObject, config: NormalizerConfig): NormalizeResult {
  const type = event.type ?? null;
  const charge = stripeChargeSchema.parse(object);
  if (!charge.id) return reject(type, 'charge has no id');
  const email = normalizeEmail(charge.billing_details?.email) ?? normalizeEmail(charge.receipt_email);
  const { phone, note: phoneNote } = readPhone(config.phone_country, charge.billing_details?.phone);
  const base = {
    source: 'stripe' as const,
    paymentType: 'refund' as const,
    category: 'refund' as const,
    customerEmail: email,
    customerName: charge.billing_details?.name,
    customerPhone: phone,
    stripeCustomerId: charge.customer,
    stripePaymentIntentId: charge.payment_intent,
    funnelEvent: 'payment_refunded' as const,
  };
  const payments: NormalizedPayment[] = [];
  const listed = charge.refunds?.data;
  const refunds = isRecord(object.refunds) && Array.isArray(object.refunds.data) ? object.refunds.data.length : 0;
  const note =
    refunds > stripeMaxListEntries
      ? `charge.refunded lists ${refunds} refunds; Stripe embeds at most ${stripeMaxListEntries}: the first ${stripeMaxListEntries} were read, ${refunds - stripeMaxListEntries} left out`
      : undefined;
  if (listed && listed.length > 0) {
    for (const refund of listed) {
      if (!refund.id || !refund.amount || refund.status === 'failed' || refund.status === 'canceled') continue;
      payments.push(
        withoutUndefined({
          ...base,
          paymentEventId: refund.id,
          amountCents: -refund.amount,
          currency: currencyOf(refund.currency ?? charge.currency),
          status: refund.status ?? 'succeeded',
          paidAt: refund.created ?? event.created,
        }),
      );
    }
  } else {
    const total = charge.amount_refunded;
    if (total === undefined) return reject(type, 'refunded charge has neither refunds nor amount_refunded');
    const before = readCount(event.data?.previous_attributes?.amount_refunded) ?? 0;
    const delta = total - before;
    if (delta > 0) {
      payments.push(
        withoutUndefined({
          ...base,
          paymentEventId: `${charge.id}_refunded_${total}`,
          amountCents: -delta,
          currency: currencyOf(charge.currency),
          status: 'succeeded',
          paidAt: event.created,
        }),
      );
    }
  }
  if (payments.length === 0) return ignore(type, `charge.refunded carries no succeeded refund amount${note ? ` (${note})` : ''}`);
  return withNote(
    emitEvents(
      withoutUndefined({
        source: 'stripe' as const,
        eventType: 'charge.refunded',
        occurredAt: event.created,
        contact: paymentContact({ email, phone, customerId: charge.customer }),
        payments,
      }),
    ),
    note,
    phoneNote,
  );
}

/** The payment intent of an `invoice_payment` (its `payment`, or the beta's top-level field). */
function intentOfInvoicePayment(payment: StripeInvoicePayment): string | undefined {
  return payment.payment?.payment_intent ?? payment.payment_intent;
}

/**
 * The invoice's payment intent: a field of its own before API version 2025-03-31, then in its `payments`
 * list (when included) — the `paid` one, else one not canceled: a canceled attempt may be listed before it.
 * Webhooks of those versions do not include the list: the intent then comes with `invoice_payment.paid`.
 */
function invoicePaymentIntent(invoice: StripeInvoice): string | undefined {
  if (invoice.payment_intent) return invoice.payment_intent;
  const listed = (invoice.payments?.data ?? []).filter((p) => intentOfInvoicePayment(p));
  const chosen = listed.find((p) => p.status === 'paid') ?? listed.find((p) => p.status !== 'canceled');
  return chosen ? intentOfInvoicePayment(chosen) : undefined;
}

/**
 * The first invoice of a subscription (`subscription_create`) is not booked: subscriptions are sold
 * through Checkout, whose `checkout.session.completed` already counted that payment. But that session
 * has no payment intent — the invoice has it, and a dispute names only the intent — so the invoice
 * hands its intent to the session's payment (`stripeFirstInvoice`), matched by subscription. Without an
 * intent (API versions from 2025-03-31) it still names its invoice: the `invoice_payment.paid` of that
 * invoice brings the intent, before or after.
 */
function firstInvoicePaid(event: StripeEvent, invoice: StripeInvoice): NormalizeResult {
  const type = event.type ?? null;
  const counted = 'first invoice of a subscription: counted via checkout.session.completed';
  const subscriptionId = invoice.subscription ?? invoice.parent?.subscription_details?.subscription;
  const paymentIntentId = invoicePaymentIntent(invoice);
  if (!subscriptionId || !(paymentIntentId || invoice.id))
    return ignore(type, `${counted} (no subscription and payment intent or invoice to hand it)`);
  return emitEvents(
    withoutUndefined({
      source: 'stripe' as const,
      eventType: type ?? 'invoice.paid',
      occurredAt: event.created,
      stripeFirstInvoice: withoutUndefined({ subscriptionId, invoiceId: invoice.id, paymentIntentId }),
    }),
  );
}

/**
 * `invoice.paid` or `invoice.payment_succeeded` for a renewal (`billing_reason` `subscription_cycle`) →
 * a recurring payment keyed by the invoice id. Both events carry the same invoice, so an endpoint that
 * receives both books it once. (`invoice.paid` also fires for an invoice marked paid out of band.)
 */
function invoicePaid(event: StripeEvent, object: StripeObject, config: NormalizerConfig): NormalizeResult {
  const type = event.type ?? null;
  const invoice = stripeInvoiceSchema.parse(object);
  if (invoice.billing_reason === 'subscription_create') return firstInvoicePaid(event, invoice);
  if (invoice.billing_reason !== 'subscription_cycle') {
    return ignore(type, `invoice billing_reason "${invoice.billing_reason ?? 'unknown'}" is not a subscription renewal`);
  }
  if (!invoice.id) return reject(type, 'invoice has no id');
  const amount = invoice.amount_paid;
  if (amount === undefined) return reject(type, 'invoice has no amount_paid');
  if (amount === 0) return ignore(type, 'invoice amount_paid is 0');
  const email = normalizeEmail(invoice.customer_email);
  const { phone, note: phoneNote } = readPhone(config.phone_country, invoice.customer_phone);
  const payment: NormalizedPayment = withoutUndefined({
    paymentEventId: invoice.id,
    source: 'stripe' as const,
    paymentType: 'buy_in_full' as const,
    category: 'recurring' as const,
    amountCents: amount,
    currency: currencyOf(invoice.currency),
    status: 'paid',
    customerEmail: email,
    customerName: invoice.customer_name,
    customerPhone: phone,
    paidAt: invoice.status_transitions?.paid_at ?? event.created,
    stripeCustomerId: invoice.customer,
    stripePaymentIntentId: invoicePaymentIntent(invoice),
    stripeInvoiceId: invoice.id,
    funnelEvent: 'recurring_payment_received' as const,
  });
  return withNote(
    emitEvents(
      withoutUndefined({
        source: 'stripe' as const,
        eventType: type ?? 'invoice.paid',
        occurredAt: event.created,
        contact: paymentContact({ email, phone, customerId: invoice.customer }),
        payments: [payment],
      }),
    ),
    phoneNote,
  );
}

/**
 * `invoice_payment.paid` (API versions from 2025-03-31): the payment intent that paid an invoice, which
 * neither the invoice nor its `invoice.paid` names any more. Never a sale of its own (the invoice or the
 * Checkout session booked it): the intent goes to the payment booked for that invoice — a renewal's, or
 * the session's of a subscription whose first invoice it is — whichever is applied first.
 */
function invoicePaymentPaid(event: StripeEvent, object: StripeObject): NormalizeResult {
  const type = event.type ?? null;
  const payment = stripeInvoicePaymentSchema.parse(object);
  if (!payment.invoice) return reject(type, 'invoice_payment has no invoice');
  if (payment.status && payment.status !== 'paid') return ignore(type, `invoice_payment status is "${payment.status}"`);
  const paymentIntentId = intentOfInvoicePayment(payment);
  if (!paymentIntentId) {
    return ignore(
      type,
      `invoice_payment of type "${payment.payment?.type ?? 'unknown'}" names no payment intent: nothing a dispute can name`,
    );
  }
  return emitEvents(
    withoutUndefined({
      source: 'stripe' as const,
      eventType: 'invoice_payment.paid',
      occurredAt: event.created ?? payment.status_transitions?.paid_at ?? payment.created,
      stripeInvoicePayment: { invoiceId: payment.invoice, paymentIntentId },
    }),
  );
}

/**
 * `charge.dispute.created` / `.closed` → a status change of the payment booked from the same payment
 * intent: `disputed` while open; when closed, `paid` if won, else `dispute_<status>` (e.g.
 * `dispute_lost`). Stored even before the payment is: the newest change wins (SPEC §6.7).
 */
function disputeChanged(event: StripeEvent, object: StripeObject): NormalizeResult {
  const type = event.type ?? null;
  const dispute = stripeDisputeSchema.parse(object);
  if (!dispute.payment_intent) return ignore(type, 'dispute carries no payment_intent: no booked payment to update');
  const closed = type === 'charge.dispute.closed';
  const status = !closed ? 'disputed' : dispute.status === 'won' ? 'paid' : `dispute_${dispute.status ?? 'closed'}`;
  const occurredAt = event.created ?? dispute.created;
  return emitEvents(
    withoutUndefined({
      source: 'stripe' as const,
      eventType: type ?? 'charge.dispute',
      occurredAt,
      paymentStatusUpdates: [withoutUndefined({ stripePaymentIntentId: dispute.payment_intent, status, occurredAt })],
    }),
  );
}

/** `checkout.session.async_payment_failed`: the delayed payment of a session failed — its status becomes `failed`. */
function checkoutFailed(event: StripeEvent, object: StripeObject): NormalizeResult {
  const type = event.type ?? null;
  const session = stripeCheckoutSessionSchema.parse(object);
  if (!session.id) return reject(type, 'checkout.session has no id');
  const occurredAt = event.created ?? session.created;
  return emitEvents(
    withoutUndefined({
      source: 'stripe' as const,
      eventType: 'checkout.session.async_payment_failed',
      occurredAt,
      paymentStatusUpdates: [withoutUndefined({ paymentEventId: session.id, status: 'failed', occurredAt })],
    }),
  );
}

/**
 * Stripe event (as the API delivers it to a webhook endpoint) → result (SPEC §4). Payments carry the
 * person's identity in `contact` for linking; the applier does not create a contact from them. Pure, total.
 */
export const normalizeStripe = guardNormalizer('stripe', (payload: unknown, config: NormalizerConfig): NormalizeResult => {
  const raw = unwrapBody(payload);
  if (!isRecord(raw)) return reject(null, 'Stripe body is not a JSON object');
  const event = stripeEventSchema.parse(raw);
  const type = event.type;
  if (!type) return reject(null, 'Stripe event has no type');
  const object = event.data?.object;
  if (!object) return reject(type, 'Stripe event has no data.object');
  try {
    return normalizeStripeEvent(event, type, object, config);
  } catch (err) {
    if (err instanceof InvalidCurrency) return reject(type, err.message);
    throw err;
  }
});

function normalizeStripeEvent(event: StripeEvent, type: string, object: StripeObject, config: NormalizerConfig): NormalizeResult {
  switch (type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
      return checkoutPaid(event, object, config);
    case 'checkout.session.expired':
      return checkoutExpired(event, object, config);
    case 'charge.refunded':
      return chargeRefunded(event, object, config);
    case 'invoice.paid':
    case 'invoice.payment_succeeded':
      return invoicePaid(event, object, config);
    case 'invoice_payment.paid':
      return invoicePaymentPaid(event, object);
    case 'checkout.session.async_payment_failed':
      return checkoutFailed(event, object);
    case 'charge.dispute.created':
    case 'charge.dispute.closed':
      return disputeChanged(event, object);
    default:
      if (countedViaCheckout.has(type)) return ignore(type, 'counted via checkout.session');
      return ignore(type, `unhandled Stripe event type "${type}"`);
  }
}
