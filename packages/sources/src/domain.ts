/**
 * The domain's fixed vocabularies: the webhook sources, the funnel stages, the funnel event types and
 * the payment categories. Owned here (the pure package) and imported by packages/db for its columns
 * and checks, never the other way round. Plain constants only: packages/db reads this file through
 * the `@mcb/sources/domain` export, so it must import nothing.
 */

/** The webhook providers, one folder each under packages/sources/src (`webhook_logs.source`). */
export const sources = ['manychat', 'ghl', 'stripe', 'denefits', 'perspective'] as const;
export type Source = (typeof sources)[number];

/** Funnel stages in order; a contact's stage only moves forward (SPEC §4). */
export const stages = [
  'new_lead',
  'dm_qualified',
  'landing_link_sent',
  'landing_link_clicked',
  'form_submitted',
  'meeting_booked',
  'meeting_held',
  'package_sent',
  'deposit_paid',
  'purchased',
] as const;
export type Stage = (typeof stages)[number];

/** What `funnel_events.type` records and reports count (SPEC §4). */
export const funnelEventTypes = [
  'contact_subscribed',
  'contact_updated',
  'dm_qualified',
  'link_sent',
  'link_clicked',
  'form_submitted',
  'appointment_scheduled',
  'appointment_held',
  'appointment_cancelled',
  'package_sent',
  'checkout_started',
  'checkout_abandoned',
  'deposit_paid',
  'purchase_completed',
  'payment_plan_created',
  'recurring_payment_received',
  'payment_refunded',
] as const;
export type FunnelEventType = (typeof funnelEventTypes)[number];

/** `payments.category`. */
export const paymentCategories = [
  'deposit',
  'full_purchase',
  'payment_plan',
  'downpayment',
  'recurring',
  'refund',
  'miscellaneous',
] as const;
export type PaymentCategory = (typeof paymentCategories)[number];

/** `payments.payment_type`. */
export const paymentTypes = ['buy_in_full', 'buy_now_pay_later', 'refund'] as const;
export type PaymentType = (typeof paymentTypes)[number];
