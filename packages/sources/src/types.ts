import type { FunnelEventType, PaymentCategory, PaymentType, Source } from './domain';

/** Identifiers that may point at an existing contact (matching order: SPEC §6.1). */
export interface IdentityKeys {
  mcId?: string;
  ghlId?: string;
  stripeCustomerId?: string;
  /** Any email the event carries, already trimmed (case kept; matching is case-insensitive). */
  emails?: string[];
  /** E.164 (see `normalizePhone`). */
  phone?: string;
}

/** Contact column values an event carries. Absent or empty = "no information" (never overwrites). */
export interface ContactFields {
  mcId?: string;
  ghlId?: string;
  emailPrimary?: string;
  emailBooking?: string;
  emailPayment?: string;
  phone?: string;
  firstName?: string;
  lastName?: string;
  igUsername?: string;
  igId?: string;
  stripeCustomerId?: string;
  /** First-touch: only the earliest event's value is kept. */
  source?: string;
  /** First-touch ad id. */
  adId?: string;
  /** Merged into `contacts.tags` (object). */
  tags?: Record<string, unknown>;
}

export interface NormalizedContact {
  identity: IdentityKeys;
  fields: ContactFields;
}

export interface NormalizedFunnelEvent {
  type: FunnelEventType;
  /**
   * ISO time; the provider's own event time when it has one. Absent when the provider sends none
   * (ManyChat, GHL workflow actions): the applier then uses the event's `occurredAt`, else the log's
   * `received_at` (SPEC §6.7).
   */
  occurredAt?: string;
  /**
   * Appended to the log's dedupe key to form `funnel_events.source_event_id`, when one log yields
   * more than one funnel event. Omit for the usual single event.
   */
  keySuffix?: string;
  data?: Record<string, unknown>;
}

export interface NormalizedPayment {
  /** Provider-derived id, unique per tenant (e.g. Stripe session id, refund id, `<code>_plan`). */
  paymentEventId: string;
  source: 'stripe' | 'denefits';
  paymentType: PaymentType;
  category: PaymentCategory;
  /** Signed integer cents; refunds negative. */
  amountCents: number;
  currency: string;
  status: string;
  customerEmail?: string;
  customerName?: string;
  customerPhone?: string;
  /** ISO time the money moved; absent when the provider gives none (applier: log's `received_at`). */
  paidAt?: string;
  stripeCustomerId?: string;
  stripeSessionId?: string;
  stripePaymentIntentId?: string;
  /**
   * The subscription a Checkout session in `mode: subscription` started. Such a session has no payment
   * intent: its subscription's first invoice carries it (see `NormalizedEvent.stripeFirstInvoice`).
   */
  stripeSubscriptionId?: string;
  /**
   * The Stripe invoice this payment is (a renewal: `paymentEventId` is the same id). From API version
   * 2025-03-31 the invoice names no payment intent: its `invoice_payment.paid` brings it
   * (`NormalizedEvent.stripeInvoicePayment`), before or after. Not stored: only matches the two.
   */
  stripeInvoiceId?: string;
  denefitsContractCode?: string;
  denefitsFinancedCents?: number;
  denefitsRecurringCents?: number;
  denefitsNumPayments?: number;
  denefitsRemainingPayments?: number;
  /** Funnel event recorded for the person when this payment is (or later becomes) linked. */
  funnelEvent?: FunnelEventType;
}

/** One event to apply, in one transaction (see the applier). */
export interface NormalizedEvent {
  source: Source;
  /** Provider event type, stored in `webhook_logs.event_type`. */
  eventType: string;
  /** Provider's own event time (ISO) when it has one; else the applier uses the log's received_at. */
  occurredAt?: string;
  /**
   * The person this event is about. For a payment event (Stripe, Denefits) it carries whatever
   * identity the payment has (email, phone, Stripe customer id) so the applier can link it to an
   * existing contact — but the applier never creates a contact from a payment-only event: with no
   * match the payments wait as orphans (`contact_id` NULL) and are linked when the person appears
   * (SPEC §6.1, §6.3). Absent when the event carries no identifier at all.
   */
  contact?: NormalizedContact;
  /**
   * Funnel event for the contact. Payment events leave it absent and put theirs on
   * `NormalizedPayment.funnelEvent` instead (recorded once, at the payment's time, when the payment is
   * or becomes linked), so a sale is never counted twice.
   */
  funnelEvent?: NormalizedFunnelEvent;
  payments?: NormalizedPayment[];
  /**
   * Status changes of a payment (Denefits `contract.status`, a Stripe dispute), by its `paymentEventId`
   * or, for Stripe, its payment intent. Kept even when the payment is not stored yet: the newest change
   * (by `occurredAt`) wins whatever order events are processed in.
   */
  paymentStatusUpdates?: Array<{ paymentEventId?: string; stripePaymentIntentId?: string; status: string; occurredAt?: string }>;
  /**
   * A Stripe subscription's first invoice, paid: never a payment of its own (its Checkout session booked
   * the sale), but its payment intent becomes that session payment's, so a dispute of the intent reaches
   * the sale. Kept even when the session is not stored yet, whatever order the two arrive in. At least
   * one of `invoiceId` and `paymentIntentId`: without the intent (API versions from 2025-03-31) the
   * invoice's `stripeInvoicePayment` brings it.
   */
  stripeFirstInvoice?: { subscriptionId: string; invoiceId?: string; paymentIntentId?: string };
  /**
   * A Stripe `invoice_payment.paid`: the payment intent that paid an invoice. Never a payment of its own:
   * the intent goes to the payment booked for that invoice (a renewal's, `stripeInvoiceId`), or to the
   * Checkout session's payment when the invoice is a subscription's first — kept until they are stored.
   */
  stripeInvoicePayment?: { invoiceId: string; paymentIntentId: string };
}

/**
 * What a normalizer returns. Normalizers are total: any JSON in, one of these out, never a throw.
 * - `events`: apply these (`note`: what was left out of the body, for the log's message).
 * - `ignored`: a known-harmless or unknown event type; the log becomes `ignored` with `reason`.
 * - `invalid`: the payload cannot be understood; the log becomes `failed` without retry.
 * - `needs_fetch`: ManyChat sent only `{subscriber_id}`; fetch the subscriber, then normalize again.
 */
export type NormalizeResult =
  | {
      kind: 'events';
      events: NormalizedEvent[];
      /**
       * What the normalizer left out of a body past its bounds (e.g. refunds beyond the most one event
       * books), in an operator's words: the processed log keeps it as its message. Absent when nothing was.
       */
      note?: string;
    }
  | { kind: 'ignored'; eventType: string | null; reason: string }
  | { kind: 'invalid'; eventType: string | null; reason: string }
  | { kind: 'needs_fetch'; eventType: string | null; subscriberId: string };
