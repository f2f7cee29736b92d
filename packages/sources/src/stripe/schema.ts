import { z } from 'zod';
import { countField, listField, objectField, readRef, recordField, textField, timeField } from '../payload';

/**
 * Most entries read from a list embedded in a Stripe object (a charge's `refunds`, an invoice's `payments`).
 * Stripe embeds one page of a list — 10 entries, 100 when expanded with a `limit` — with `has_more`, never
 * more, so this loses nothing Stripe sends. A body signed with the endpoint's secret could list 9,990 refunds
 * (the most objects a stored body is parsed with): 9,990 payments and as many locks in one transaction, past
 * what the database's shared lock table leaves every other tenant (docs/security.md).
 */
export const stripeMaxListEntries = 100;

/** A Stripe reference: an id string, or the expanded object (its `id`). */
const refField = z.unknown().transform(readRef).optional();

const customerDetailsSchema = z.object({ email: textField, name: textField, phone: textField });

/** `checkout.session` (API object; fields the normalizer reads). */
export const stripeCheckoutSessionSchema = z.object({
  id: textField,
  object: textField,
  mode: textField,
  amount_total: countField,
  currency: textField,
  customer: refField,
  customer_email: textField,
  customer_details: objectField(customerDetailsSchema),
  payment_intent: refField,
  payment_status: textField,
  status: textField,
  subscription: refField,
  invoice: refField,
  created: timeField,
});

/** `refund` (API object). */
export const stripeRefundSchema = z.object({
  id: textField,
  amount: countField,
  currency: textField,
  status: textField,
  created: timeField,
});

/** `charge` (API object). `refunds` is only included by API versions before 2022-11-15. */
export const stripeChargeSchema = z.object({
  id: textField,
  amount: countField,
  amount_refunded: countField,
  currency: textField,
  customer: refField,
  payment_intent: refField,
  receipt_email: textField,
  billing_details: objectField(customerDetailsSchema),
  refunds: objectField(z.object({ data: listField(stripeRefundSchema, stripeMaxListEntries) })),
  created: timeField,
});

/**
 * `invoice_payment` (API object, API versions from 2025-03-31): one payment of an invoice — the link
 * between the invoice and the payment intent that paid it, which the invoice itself no longer names.
 * `payment` holds the intent (`type: payment_intent`); a top-level `payment_intent` is the shape of the
 * beta before it (https://docs.stripe.com/api/invoice-payment/object).
 */
export const stripeInvoicePaymentSchema = z.object({
  id: textField,
  invoice: refField,
  status: textField,
  payment: objectField(z.object({ type: textField, payment_intent: refField })),
  payment_intent: refField,
  status_transitions: objectField(z.object({ paid_at: timeField })),
  created: timeField,
});
export type StripeInvoicePayment = z.output<typeof stripeInvoicePaymentSchema>;

/** `invoice` (API object). */
export const stripeInvoiceSchema = z.object({
  id: textField,
  amount_paid: countField,
  currency: textField,
  billing_reason: textField,
  customer: refField,
  customer_email: textField,
  customer_name: textField,
  customer_phone: textField,
  /** API versions before 2025-03-31; newer ones list it in `payments` (only when the list is included). */
  payment_intent: refField,
  payments: objectField(z.object({ data: listField(stripeInvoicePaymentSchema, stripeMaxListEntries) })),
  /** API versions before 2025-03-31; newer ones name it in `parent.subscription_details`. */
  subscription: refField,
  parent: objectField(z.object({ subscription_details: objectField(z.object({ subscription: refField })) })),
  status_transitions: objectField(z.object({ paid_at: timeField })),
  created: timeField,
});
export type StripeInvoice = z.output<typeof stripeInvoiceSchema>;

/** Stripe `event` envelope as delivered to a webhook endpoint. */
/** `dispute` (API object): the charge and payment intent it disputes, and where the dispute stands. */
export const stripeDisputeSchema = z.object({
  id: textField,
  charge: refField,
  payment_intent: refField,
  status: textField,
  reason: textField,
  created: timeField,
});

export const stripeEventSchema = z.object({
  id: textField,
  object: textField,
  type: textField,
  created: timeField,
  data: objectField(z.object({ object: recordField, previous_attributes: recordField })),
});
export type StripeEvent = z.output<typeof stripeEventSchema>;
