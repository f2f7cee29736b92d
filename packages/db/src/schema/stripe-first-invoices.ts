import { bigint, foreignKey, index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, tenantId } from './columns';
import { tenants } from './tenants';

/**
 * The first invoice (`billing_reason: subscription_create`) of each Stripe subscription: never a
 * payment of its own — the Checkout session that started the subscription booked the sale — but the
 * holder of its payment intent, which the session lacks and a dispute names. The session's payment
 * (`payments.stripe_subscription_id`) takes `payment_intent_id` whichever of the two is applied first.
 * From API version 2025-03-31 the invoice names no intent: `payment_intent_id` stays NULL until the
 * invoice's `invoice_payment.paid` (`stripe_invoice_payments`, found by `invoice_id`) brings it.
 */
export const stripeFirstInvoices = pgTable(
  'stripe_first_invoices',
  {
    tenantId: tenantId(),
    subscriptionId: text('subscription_id').notNull(),
    paymentIntentId: text('payment_intent_id'),
    invoiceId: text('invoice_id'),
    webhookLogId: bigint('webhook_log_id', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.subscriptionId] }),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
    index('stripe_first_invoices_invoice_idx').on(t.tenantId, t.invoiceId),
  ],
);

export type StripeFirstInvoice = typeof stripeFirstInvoices.$inferSelect;
/** A `stripe_first_invoices` row as SQL returns it (snake_case column names, schema types). */
export type StripeFirstInvoiceRow = RowOf<typeof stripeFirstInvoices>;
/** `stripe_first_invoices` row (whole or some columns) → `StripeFirstInvoice` fields: the table's one mapper (ADR 0018). */
export const toStripeFirstInvoice = rowMapper(stripeFirstInvoices);
