import { bigint, foreignKey, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { tenantId } from './columns';
import { tenants } from './tenants';

/**
 * Status changes of payments (a Stripe dispute, a failed async payment, a Denefits contract status),
 * kept even when the payment is not stored yet: a payment's status is the newest change for it
 * (by event time, ties by log), whatever order the events were processed in (SPEC §6.7).
 * `payment_ref` is a `payments.payment_event_id`, or `pi:<payment intent id>` for Stripe.
 */
export const paymentStatusChanges = pgTable(
  'payment_status_changes',
  {
    tenantId: tenantId(),
    paymentRef: text('payment_ref').notNull(),
    webhookLogId: bigint('webhook_log_id', { mode: 'number' }).notNull(),
    status: text('status').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.paymentRef, t.webhookLogId] }),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
  ],
);

export type PaymentStatusChange = typeof paymentStatusChanges.$inferSelect;
/** A `payment_status_changes` row as SQL returns it (snake_case column names, schema types). */
export type PaymentStatusChangeRow = RowOf<typeof paymentStatusChanges>;
/** `payment_status_changes` row (whole or some columns) → `PaymentStatusChange` fields: the table's one mapper (ADR 0018). */
export const toPaymentStatusChange = rowMapper(paymentStatusChanges);
