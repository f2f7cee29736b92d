import { bigint, foreignKey, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, tenantId } from './columns';
import { tenants } from './tenants';

/**
 * The payment intent that paid a Stripe invoice, from its `invoice_payment.paid` (API versions from
 * 2025-03-31, whose invoices no longer name it). Never a payment: the intent is handed to the payment
 * booked for the invoice — a renewal's (`payments.payment_event_id` = `invoice_id`), or the Checkout
 * session's when the invoice is a subscription's first (`stripe_first_invoices.invoice_id`) — whichever is
 * applied first, so a dispute (which names only the intent) reaches the sale. One intent per invoice:
 * the first applied is kept.
 */
export const stripeInvoicePayments = pgTable(
  'stripe_invoice_payments',
  {
    tenantId: tenantId(),
    invoiceId: text('invoice_id').notNull(),
    paymentIntentId: text('payment_intent_id').notNull(),
    webhookLogId: bigint('webhook_log_id', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.invoiceId] }),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
  ],
);

export type StripeInvoicePayment = typeof stripeInvoicePayments.$inferSelect;
/** A `stripe_invoice_payments` row as SQL returns it (snake_case column names, schema types). */
export type StripeInvoicePaymentRow = RowOf<typeof stripeInvoicePayments>;
/** `stripe_invoice_payments` row (whole or some columns) → `StripeInvoicePayment` fields: the table's one mapper (ADR 0018). */
export const toStripeInvoicePayment = rowMapper(stripeInvoicePayments);
