import type { PaymentCategory, PaymentType } from '@mcb/sources/domain';
import { sql } from 'drizzle-orm';
import { bigint, foreignKey, index, integer, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, tenantId } from './columns';
import { contacts } from './contacts';
import { tenants } from './tenants';

/**
 * Payment statuses of a disputed sale (Stripe `charge.dispute.*`, packages/sources): `disputed` while the
 * dispute is open, `dispute_lost` once lost (a won dispute sets `paid` again). Such payments stay in cash
 * collected (SPEC §7); the report and `mcb stats` say how much of it they are.
 */
export const disputedPaymentStatuses = ['disputed', 'dispute_lost'] as const;

/** Money in integer cents, signed (refunds negative). `contact_id` NULL = orphan (SPEC §6.3). */
export const payments = pgTable(
  'payments',
  {
    id: uuid('id').notNull().defaultRandom(),
    tenantId: tenantId(),
    contactId: uuid('contact_id'),
    paymentEventId: text('payment_event_id').notNull(),
    source: text('source').$type<'stripe' | 'denefits'>().notNull(),
    paymentType: text('payment_type').$type<PaymentType>().notNull(),
    category: text('category').$type<PaymentCategory>().notNull(),
    amountCents: bigint('amount_cents', { mode: 'number' }).notNull(),
    currency: text('currency').notNull().default('usd'),
    status: text('status').notNull(),
    customerEmail: text('customer_email'),
    /**
     * `customer_email` as an email identity's value (`identityOf`: trimmed, lowercased by JavaScript),
     * written by the applier: orphans are found by it under RLS, where an index on the expression
     * `lower(customer_email)` cannot be used (`lower` is not leakproof, so the policy's filter must run
     * first and the lookup became a scan of every orphan of the tenant). Until drizzle/0031 Postgres
     * computed it as `lower(customer_email)`, which differs from JavaScript's lowercasing for some
     * letters (`İ`: JavaScript gives `i̇`, Postgres `i`), and such a payment was never linked.
     */
    customerEmailKey: text('customer_email_key'),
    customerName: text('customer_name'),
    customerPhone: text('customer_phone'),
    paidAt: timestamp('paid_at', { withTimezone: true }).notNull(),
    webhookLogId: bigint('webhook_log_id', { mode: 'number' }),
    stripeCustomerId: text('stripe_customer_id'),
    stripeSessionId: text('stripe_session_id'),
    stripePaymentIntentId: text('stripe_payment_intent_id'),
    /**
     * The subscription a Checkout session in `mode: subscription` started. The session has no payment
     * intent; its subscription's first invoice brings it (`stripe_first_invoices`, ADR 0012 addendum).
     */
    stripeSubscriptionId: text('stripe_subscription_id'),
    denefitsContractCode: text('denefits_contract_code'),
    denefitsFinancedCents: bigint('denefits_financed_cents', { mode: 'number' }),
    denefitsRecurringCents: bigint('denefits_recurring_cents', { mode: 'number' }),
    denefitsNumPayments: integer('denefits_num_payments'),
    denefitsRemainingPayments: integer('denefits_remaining_payments'),
    /** Funnel event recorded for the person when this payment is (or later becomes) linked (SPEC §6.3). */
    funnelEvent: text('funnel_event'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('payments_payment_event_unique').on(t.tenantId, t.paymentEventId),
    foreignKey({ columns: [t.tenantId, t.contactId], foreignColumns: [contacts.tenantId, contacts.id] }).onDelete('cascade'),
    // An orphan payment (no contact) is reached by no other key: deleting the tenant deletes it, and an
    // orphan written while its tenant is deleted fails instead of staying behind (review of stop 38).
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
    index('payments_paid_at_idx').on(t.tenantId, t.paidAt),
    index('payments_contact_idx').on(t.tenantId, t.contactId),
    index('payments_orphan_email_key_idx').on(t.tenantId, t.customerEmailKey).where(sql`contact_id IS NULL`),
    index('payments_orphan_stripe_customer_idx').on(t.tenantId, t.stripeCustomerId).where(sql`contact_id IS NULL`),
    index('payments_payment_intent_idx').on(t.tenantId, t.stripePaymentIntentId),
    index('payments_stripe_subscription_idx').on(t.tenantId, t.stripeSubscriptionId),
    index('payments_orphan_phone_idx').on(t.tenantId, t.customerPhone).where(sql`contact_id IS NULL`),
  ],
);

export type Payment = typeof payments.$inferSelect;
/** A `payments` row as SQL returns it (snake_case column names, schema types). */
export type PaymentRow = RowOf<typeof payments>;
/** `payments` row (whole or some columns) → `Payment` fields: the table's one mapper (ADR 0018). */
export const toPayment = rowMapper(payments);
