import { describe, expect, it } from 'vitest';
import { readFixture } from '../test-fixtures';
import { normalizeStripe, stripeWebhookEvents } from './normalize';
import { stripeMaxListEntries } from './schema';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely in tests
type Json = any;
const fixture = (name: string) => readFixture('stripe', name) as Json;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const config = { deposit_amount_cents: 10_000 };

const maria = { stripeCustomerId: 'cus_NZbFQAsc0ptasX', email: 'Maria.Lopez@example.com', phone: '+15552013344' };
const mariaContact = {
  identity: { stripeCustomerId: maria.stripeCustomerId, emails: [maria.email], phone: maria.phone },
  fields: { stripeCustomerId: maria.stripeCustomerId, emailPayment: maria.email, phone: maria.phone },
};

describe('normalizeStripe — checkout sessions', () => {
  it('completed + paid, amount = deposit amount → deposit payment (deposit_paid), identity in contact', () => {
    const sessionId = 'cs_test_a1vvp1B50lYAE8U2KLu1lzd6US91IMmBfnLfDXmJiKOQIzXbgFKgxUviQu';
    expect(normalizeStripe(fixture('checkout-session-completed-deposit'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'stripe',
          eventType: 'checkout.session.completed',
          occurredAt: iso(1762790460),
          contact: mariaContact,
          payments: [
            {
              paymentEventId: sessionId,
              source: 'stripe',
              paymentType: 'buy_in_full',
              category: 'deposit',
              amountCents: 10_000,
              currency: 'usd',
              status: 'paid',
              customerEmail: maria.email,
              customerName: 'Maria Lopez',
              customerPhone: maria.phone,
              paidAt: iso(1762790460),
              stripeCustomerId: maria.stripeCustomerId,
              stripeSessionId: sessionId,
              stripePaymentIntentId: 'pi_1MoS6fLgUG5tbmjca6AdBPsl',
              funnelEvent: 'deposit_paid',
            },
          ],
        },
      ],
    });
  });

  it('any other amount → full_purchase (purchase_completed); email from customer_details before customer_email', () => {
    const sessionId = 'cs_test_b1FullPay9ZxYwVuTsRqPoNmLkJiHgFeDcBa0123456789abcdefghijklmno';
    expect(normalizeStripe(fixture('checkout-session-completed-full'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'stripe',
          eventType: 'checkout.session.completed',
          occurredAt: iso(1762963200),
          contact: { identity: { emails: ['Dana.K@example.com'] }, fields: { emailPayment: 'Dana.K@example.com' } },
          payments: [
            {
              paymentEventId: sessionId,
              source: 'stripe',
              paymentType: 'buy_in_full',
              category: 'full_purchase',
              amountCents: 240_000,
              currency: 'usd',
              status: 'paid',
              customerEmail: 'Dana.K@example.com',
              customerName: 'Dana Kim',
              paidAt: iso(1762963200),
              stripeSessionId: sessionId,
              stripePaymentIntentId: 'pi_1MoS6fLgUG5tbmjcFullPay01',
              funnelEvent: 'purchase_completed',
            },
          ],
        },
      ],
    });
  });

  it('the deposit amount comes from the tenant config (default $100)', () => {
    const body = fixture('checkout-session-completed-full');
    expect(normalizeStripe(body, { deposit_amount_cents: 240_000 })).toMatchObject({
      events: [{ payments: [{ category: 'deposit', funnelEvent: 'deposit_paid' }] }],
    });
    expect(normalizeStripe(fixture('checkout-session-completed-deposit'), {})).toMatchObject({
      events: [{ payments: [{ category: 'deposit' }] }],
    });
  });

  it('amount_total that is there but not a whole number is named as such, not as missing', () => {
    const body = fixture('checkout-session-completed-full');
    body.data.object.amount_total = 'abc';
    expect(normalizeStripe(body, config)).toMatchObject({
      kind: 'invalid',
      reason: 'checkout.session amount_total "abc" is not a whole number of minor units',
    });
    delete body.data.object.amount_total;
    expect(normalizeStripe(body, config)).toMatchObject({ reason: 'checkout.session has no amount_total' });
  });

  it("a payment of the deposit amount in another currency than the tenant's is a sale, not its deposit", () => {
    // Review of stop 37: €100.00 (or ¥10,000) at a USD tenant was booked as the deposit.
    const body = fixture('checkout-session-completed-deposit');
    body.data.object.currency = 'eur';
    expect(normalizeStripe(body, config)).toMatchObject({
      events: [{ payments: [{ category: 'full_purchase', funnelEvent: 'purchase_completed', currency: 'eur' }] }],
    });
    // The tenant's own currency, in any case: the deposit.
    expect(normalizeStripe(body, { ...config, currency: 'EUR' })).toMatchObject({
      events: [{ payments: [{ category: 'deposit', funnelEvent: 'deposit_paid' }] }],
    });
    body.data.object.currency = 'USD';
    expect(normalizeStripe(body, config)).toMatchObject({ events: [{ payments: [{ category: 'deposit' }] }] });
  });

  it('customer_email is used when customer_details has no email; no identity at all → payment without contact', () => {
    const body = fixture('checkout-session-completed-full');
    body.data.object.customer_details.email = null;
    expect(normalizeStripe(body, config)).toMatchObject({ events: [{ payments: [{ customerEmail: 'dana.k@example.com' }] }] });
    body.data.object.customer_email = null;
    const result = normalizeStripe(body, config);
    expect(result).toMatchObject({ kind: 'events', events: [{ payments: [{ amountCents: 240_000 }] }] });
    expect(result.kind === 'events' && result.events[0]?.contact).toBeUndefined();
  });

  it('completed but unpaid (async method) → ignored; async_payment_succeeded books the same session id once', () => {
    expect(normalizeStripe(fixture('checkout-session-completed-unpaid'), config)).toStrictEqual({
      kind: 'ignored',
      eventType: 'checkout.session.completed',
      reason: 'checkout.session payment_status is "unpaid": awaiting async payment',
    });
    expect(normalizeStripe(fixture('checkout-session-async-payment-succeeded'), config)).toMatchObject({
      kind: 'events',
      events: [
        {
          eventType: 'checkout.session.async_payment_succeeded',
          payments: [{ paymentEventId: 'cs_test_c1AchPay', category: 'full_purchase', amountCents: 240_000, paidAt: iso(1763136000) }],
        },
      ],
    });
  });

  it('expired with an email → checkout_abandoned for that person; without one → ignored', () => {
    expect(normalizeStripe(fixture('checkout-session-expired'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'stripe',
          eventType: 'checkout.session.expired',
          occurredAt: iso(1762786460),
          contact: { identity: { emails: ['ana.p@example.com'] }, fields: { emailPayment: 'ana.p@example.com' } },
          funnelEvent: {
            type: 'checkout_abandoned',
            occurredAt: iso(1762786460),
            data: { session_id: 'cs_test_a1vvp1B50lYAE8U2KLu1lzd6US91IMmBfnLfDXmJiKOQIzXbgFKgxUviQu', amount_total_cents: 240_000 },
          },
        },
      ],
    });
    const anonymous = fixture('checkout-session-expired');
    anonymous.data.object.customer_details = null;
    expect(normalizeStripe(anonymous, config)).toMatchObject({ kind: 'ignored', reason: 'expired checkout.session carries no email' });
  });
});

describe('normalizeStripe — refunds, renewals, ignored types', () => {
  it('charge.refunded with embedded refunds → one negative refund payment per refund id (payment_refunded)', () => {
    expect(normalizeStripe(fixture('charge-refunded'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'stripe',
          eventType: 'charge.refunded',
          occurredAt: iso(1763300005),
          contact: { identity: { emails: ['Dana.K@example.com'] }, fields: { emailPayment: 'Dana.K@example.com' } },
          payments: [
            {
              paymentEventId: 're_1MoqxHLgUG5tbmjcYO7PFWn6',
              source: 'stripe',
              paymentType: 'refund',
              category: 'refund',
              amountCents: -240_000,
              currency: 'usd',
              status: 'succeeded',
              customerEmail: 'Dana.K@example.com',
              customerName: 'Dana Kim',
              paidAt: iso(1763300000),
              stripePaymentIntentId: 'pi_1MoS6fLgUG5tbmjcFullPay01',
              funnelEvent: 'payment_refunded',
            },
          ],
        },
      ],
    });
  });

  it(`charge.refunded books at most ${stripeMaxListEntries} of the refunds it lists (Stripe embeds a page) and says what it left out`, () => {
    // A body signed with the endpoint's secret listed 9,990 refunds: 9,990 payments and as many advisory locks in
    // one transaction, filling the database's shared lock table (other tenants' deliveries answered 503).
    const charge = fixture('charge-refunded');
    const refund = charge.data.object.refunds.data[0];
    const listed = (n: number) => ({
      ...charge,
      data: {
        object: {
          ...charge.data.object,
          refunds: { data: Array.from({ length: n }, (_, i) => ({ ...refund, id: `re_${i}`, amount: 1 })) },
        },
      },
    });
    const many = normalizeStripe(listed(5_000), config);
    if (many.kind !== 'events') throw new Error(`expected events, got ${JSON.stringify(many)}`);
    expect(many.events[0]?.payments?.map((p) => p.paymentEventId)).toEqual(
      Array.from({ length: stripeMaxListEntries }, (_, i) => `re_${i}`),
    );
    expect(many.note).toBe(`charge.refunded lists 5000 refunds; Stripe embeds at most 100: the first 100 were read, 4900 left out`);
    const page = normalizeStripe(listed(10), config);
    expect(page).toMatchObject({ kind: 'events', events: [{ payments: Array.from({ length: 10 }, () => expect.anything()) }] });
    expect(page).not.toHaveProperty('note');
  });

  it('charge.refunded without the refunds list → the growth of amount_refunded, keyed by charge and running total', () => {
    expect(normalizeStripe(fixture('charge-refunded-partial'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'stripe',
          eventType: 'charge.refunded',
          occurredAt: iso(1763400000),
          contact: mariaContact,
          payments: [
            {
              paymentEventId: 'ch_3Q0PartialLgUG5tbmjc0Xyz_refunded_7500',
              source: 'stripe',
              paymentType: 'refund',
              category: 'refund',
              amountCents: -5000,
              currency: 'usd',
              status: 'succeeded',
              customerEmail: maria.email,
              customerName: 'Maria Lopez',
              customerPhone: maria.phone,
              paidAt: iso(1763400000),
              stripeCustomerId: maria.stripeCustomerId,
              stripePaymentIntentId: 'pi_1MoS6fLgUG5tbmjca6AdBPsl',
              funnelEvent: 'payment_refunded',
            },
          ],
        },
      ],
    });
  });

  it('invoice.paid for a renewal (subscription_cycle) → recurring payment (recurring_payment_received)', () => {
    expect(normalizeStripe(fixture('invoice-paid-renewal'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'stripe',
          eventType: 'invoice.paid',
          occurredAt: iso(1765386005),
          contact: {
            identity: { stripeCustomerId: maria.stripeCustomerId, emails: [maria.email] },
            fields: { stripeCustomerId: maria.stripeCustomerId, emailPayment: maria.email },
          },
          payments: [
            {
              paymentEventId: 'in_1MoqxGLgUG5tbmjcJeILGSau',
              source: 'stripe',
              paymentType: 'buy_in_full',
              category: 'recurring',
              amountCents: 4900,
              currency: 'usd',
              status: 'paid',
              customerEmail: maria.email,
              customerName: 'Maria Lopez',
              paidAt: iso(1765386000),
              stripeCustomerId: maria.stripeCustomerId,
              stripePaymentIntentId: 'pi_3Q0RenewLgUG5tbmjc1Abc',
              stripeInvoiceId: 'in_1MoqxGLgUG5tbmjcJeILGSau',
              funnelEvent: 'recurring_payment_received',
            },
          ],
        },
      ],
    });
  });

  it('invoice.payment_succeeded is read as invoice.paid: the same payment, keyed by the invoice, so receiving both books once', () => {
    for (const name of ['invoice-paid-renewal', 'invoice-paid-renewal-basil', 'invoice-paid-subscription-create']) {
      const paid = fixture(name);
      const succeeded = { ...fixture(name), id: 'evt_succeeded', type: 'invoice.payment_succeeded' };
      const [a, b] = [normalizeStripe(paid, config), normalizeStripe(succeeded, config)] as Json[];
      expect(a.kind, name).toBe('events');
      expect(b.events[0].eventType, name).toBe('invoice.payment_succeeded');
      expect({ ...b.events[0], eventType: 'invoice.paid' }, name).toStrictEqual(a.events[0]);
    }
  });

  it('a renewal of API version 2025-03-31 or later: the recurring payment without an intent, naming its invoice for invoice_payment.paid', () => {
    const result = normalizeStripe(fixture('invoice-paid-renewal-basil'), config) as Json;
    expect(result).toMatchObject({
      kind: 'events',
      events: [
        {
          eventType: 'invoice.paid',
          payments: [
            {
              paymentEventId: 'in_1MoqxGLgUG5tbmjcJeILGSau',
              category: 'recurring',
              amountCents: 4900,
              stripeInvoiceId: 'in_1MoqxGLgUG5tbmjcJeILGSau',
              funnelEvent: 'recurring_payment_received',
            },
          ],
        },
      ],
    });
    expect(result.events[0].payments[0].stripePaymentIntentId).toBeUndefined();
  });

  it('the first invoice of a subscription is not counted again (checkout counted it): it hands its payment intent to the sale', () => {
    expect(normalizeStripe(fixture('invoice-paid-subscription-create'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'stripe',
          eventType: 'invoice.paid',
          occurredAt: iso(1762790470),
          stripeFirstInvoice: {
            subscriptionId: 'sub_1Q0MemberLgUG5tbmjcV2w3X4',
            invoiceId: 'in_1Q0FirstLgUG5tbmjcB8c9D0',
            paymentIntentId: 'pi_3Q0FirstLgUG5tbmjc1Abc',
          },
        },
      ],
    });
  });

  it('a first invoice of API version 2025-03-31 or later: subscription from parent, intent from payments; with neither → ignored', () => {
    const basil = fixture('invoice-paid-subscription-create');
    const invoice = basil.data.object;
    delete invoice.payment_intent;
    delete invoice.subscription;
    invoice.parent = { type: 'subscription_details', subscription_details: { subscription: 'sub_basil' } };
    invoice.payments = {
      object: 'list',
      data: [{ object: 'invoice_payment', payment: { type: 'payment_intent', payment_intent: 'pi_basil' } }],
    };
    expect(normalizeStripe(basil, config)).toMatchObject({
      events: [{ stripeFirstInvoice: { subscriptionId: 'sub_basil', paymentIntentId: 'pi_basil' } }],
    });
    // A canceled attempt listed before the paid one: the paid one is the intent a dispute names.
    invoice.payments.data.unshift({
      object: 'invoice_payment',
      status: 'canceled',
      payment: { type: 'payment_intent', payment_intent: 'pi_canceled' },
    });
    expect(normalizeStripe(basil, config)).toMatchObject({
      events: [{ stripeFirstInvoice: { subscriptionId: 'sub_basil', paymentIntentId: 'pi_basil' } }],
    });
    // `payments` is only included on request: without it the invoice still names itself, for its invoice_payment.paid.
    delete invoice.payments;
    expect(normalizeStripe(basil, config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'stripe',
          eventType: 'invoice.paid',
          occurredAt: iso(1762790470),
          stripeFirstInvoice: { subscriptionId: 'sub_basil', invoiceId: 'in_1Q0FirstLgUG5tbmjcB8c9D0' },
        },
      ],
    });
    delete invoice.parent;
    expect(normalizeStripe(basil, config)).toStrictEqual({
      kind: 'ignored',
      eventType: 'invoice.paid',
      reason:
        'first invoice of a subscription: counted via checkout.session.completed (no subscription and payment intent or invoice to hand it)',
    });
  });

  it('the basil first-invoice fixture (as a webhook sends it): the subscription and its invoice, no intent, no payment', () => {
    expect(normalizeStripe(fixture('invoice-paid-subscription-create-basil'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'stripe',
          eventType: 'invoice.paid',
          occurredAt: iso(1762790470),
          stripeFirstInvoice: { subscriptionId: 'sub_1Q0MemberLgUG5tbmjcV2w3X4', invoiceId: 'in_1Q0FirstLgUG5tbmjcB8c9D0' },
        },
      ],
    });
  });

  it('a Checkout session in subscription mode: the sale, with its subscription and no payment intent', () => {
    expect(normalizeStripe(fixture('checkout-session-completed-subscription'), config)).toMatchObject({
      kind: 'events',
      events: [
        {
          contact: mariaContact,
          payments: [
            {
              paymentEventId: 'cs_test_b1SubMember9ZxYwVuTsRqPoNmLkJiHgFeDcBa0123456789abcdefghijkl',
              category: 'full_purchase',
              amountCents: 4900,
              stripeSubscriptionId: 'sub_1Q0MemberLgUG5tbmjcV2w3X4',
              funnelEvent: 'purchase_completed',
            },
          ],
        },
      ],
    });
    const [payment] = (normalizeStripe(fixture('checkout-session-completed-subscription'), config) as Json).events[0].payments;
    expect(payment.stripePaymentIntentId).toBeUndefined();
  });

  it('payment_intent.succeeded / charge.succeeded → ignored (never count one sale twice); unknown types ignored', () => {
    expect(normalizeStripe(fixture('payment-intent-succeeded'), config)).toStrictEqual({
      kind: 'ignored',
      eventType: 'payment_intent.succeeded',
      reason: 'counted via checkout.session',
    });
    const charge = { ...fixture('charge-refunded'), type: 'charge.succeeded' };
    expect(normalizeStripe(charge, config)).toMatchObject({ kind: 'ignored', reason: 'counted via checkout.session' });
    const other = { ...fixture('payment-intent-succeeded'), type: 'customer.created' };
    expect(normalizeStripe(other, config)).toStrictEqual({
      kind: 'ignored',
      eventType: 'customer.created',
      reason: 'unhandled Stripe event type "customer.created"',
    });
  });

  it('a currency that is not three letters → invalid, naming it (a sender-written key, summed and reported per currency)', () => {
    for (const currency of ['__proto__', 'constructor', 'us dollars', 'usdollar', 'u$d']) {
      const forged = fixture('checkout-session-completed-full');
      forged.data.object.currency = currency;
      expect(normalizeStripe(forged, config)).toStrictEqual({
        kind: 'invalid',
        eventType: 'checkout.session.completed',
        reason: `currency ${JSON.stringify(currency)} is not a three-letter currency code`,
      });
    }
    const refund = fixture('charge-refunded');
    refund.data.object.currency = 'usd';
    for (const r of refund.data.object.refunds.data) r.currency = '__proto__';
    expect(normalizeStripe(refund, config)).toMatchObject({
      kind: 'invalid',
      reason: 'currency "__proto__" is not a three-letter currency code',
    });
    const upper = fixture('checkout-session-completed-full');
    upper.data.object.currency = 'EUR';
    expect(normalizeStripe(upper, config)).toMatchObject({ kind: 'events', events: [{ payments: [{ currency: 'eur' }] }] });
    // Codes Stripe still lists that this runtime's ISO list lacks: booked, never refused (review, stop 33).
    for (const currency of ['std', 'vef', 'mro', 'zmk']) {
      const legacy = fixture('checkout-session-completed-full');
      legacy.data.object.currency = currency;
      expect(normalizeStripe(legacy, config)).toMatchObject({ kind: 'events', events: [{ payments: [{ currency }] }] });
    }
  });

  it('an envelope without type or data.object → invalid', () => {
    expect(normalizeStripe({ id: 'evt_1' }, config)).toMatchObject({ kind: 'invalid', reason: 'Stripe event has no type' });
    expect(normalizeStripe({ type: 'invoice.paid', data: {} }, config)).toMatchObject({ kind: 'invalid', eventType: 'invoice.paid' });
    const noAmount = fixture('checkout-session-completed-full');
    noAmount.data.object.amount_total = '12.5';
    expect(normalizeStripe(noAmount, config)).toMatchObject({
      kind: 'invalid',
      reason: 'checkout.session amount_total "12.5" is not a whole number of minor units',
    });
  });
});

describe('normalizeStripe — invoice_payment.paid (API versions from 2025-03-31)', () => {
  it('→ the payment intent of the invoice, never a payment of its own', () => {
    expect(normalizeStripe(fixture('invoice-payment-paid-renewal'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'stripe',
          eventType: 'invoice_payment.paid',
          occurredAt: iso(1765386004),
          stripeInvoicePayment: { invoiceId: 'in_1MoqxGLgUG5tbmjcJeILGSau', paymentIntentId: 'pi_3Q0RenewLgUG5tbmjc1Abc' },
        },
      ],
    });
    expect(normalizeStripe(fixture('invoice-payment-paid-first'), config)).toMatchObject({
      events: [{ stripeInvoicePayment: { invoiceId: 'in_1Q0FirstLgUG5tbmjcB8c9D0', paymentIntentId: 'pi_3Q0FirstLgUG5tbmjc1Abc' } }],
    });
  });

  it('an expanded invoice, or the beta shape with a top-level payment_intent, gives the same ids', () => {
    const expanded = fixture('invoice-payment-paid-renewal');
    expanded.data.object.invoice = { id: 'in_1MoqxGLgUG5tbmjcJeILGSau', object: 'invoice' };
    expanded.data.object.payment.payment_intent = { id: 'pi_3Q0RenewLgUG5tbmjc1Abc', object: 'payment_intent' };
    const ids = { invoiceId: 'in_1MoqxGLgUG5tbmjcJeILGSau', paymentIntentId: 'pi_3Q0RenewLgUG5tbmjc1Abc' };
    expect(normalizeStripe(expanded, config)).toMatchObject({ kind: 'events', events: [{ stripeInvoicePayment: ids }] });
    const beta = fixture('invoice-payment-paid-renewal');
    delete beta.data.object.payment;
    beta.data.object.payment_intent = 'pi_3Q0RenewLgUG5tbmjc1Abc';
    expect(normalizeStripe(beta, config)).toMatchObject({ kind: 'events', events: [{ stripeInvoicePayment: ids }] });
  });

  it('no payment intent (paid out of band), a status other than paid → ignored; no invoice → invalid', () => {
    const outOfBand = fixture('invoice-payment-paid-renewal');
    outOfBand.data.object.payment = { type: 'out_of_band_payment' };
    expect(normalizeStripe(outOfBand, config)).toStrictEqual({
      kind: 'ignored',
      eventType: 'invoice_payment.paid',
      reason: 'invoice_payment of type "out_of_band_payment" names no payment intent: nothing a dispute can name',
    });
    const open = fixture('invoice-payment-paid-renewal');
    open.data.object.status = 'open';
    expect(normalizeStripe(open, config)).toMatchObject({ kind: 'ignored', reason: 'invoice_payment status is "open"' });
    const noInvoice = fixture('invoice-payment-paid-renewal');
    delete noInvoice.data.object.invoice;
    expect(normalizeStripe(noInvoice, config)).toMatchObject({ kind: 'invalid', reason: 'invoice_payment has no invoice' });
  });
});

describe('normalizeStripe — a booked payment that is disputed or fails later', () => {
  it('charge.dispute.created → status `disputed` for the payment of that payment intent, at the event time', () => {
    expect(normalizeStripe(fixture('charge-dispute-created'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'stripe',
          eventType: 'charge.dispute.created',
          occurredAt: iso(1763049600),
          paymentStatusUpdates: [
            { stripePaymentIntentId: 'pi_1MoS6fLgUG5tbmjcFullPay01', status: 'disputed', occurredAt: iso(1763049600) },
          ],
        },
      ],
    });
  });

  it('charge.dispute.closed → `dispute_lost`, or `paid` again when won; no payment intent → ignored', () => {
    expect(normalizeStripe(fixture('charge-dispute-closed'), config)).toMatchObject({
      events: [{ paymentStatusUpdates: [{ stripePaymentIntentId: 'pi_1MoS6fLgUG5tbmjcFullPay01', status: 'dispute_lost' }] }],
    });
    const won = fixture('charge-dispute-closed');
    won.data.object.status = 'won';
    expect(normalizeStripe(won, config)).toMatchObject({ events: [{ paymentStatusUpdates: [{ status: 'paid' }] }] });
    const bare = fixture('charge-dispute-created');
    bare.data.object.payment_intent = null;
    expect(normalizeStripe(bare, config)).toMatchObject({ kind: 'ignored', eventType: 'charge.dispute.created' });
  });

  it('checkout.session.async_payment_failed → status `failed` for that session', () => {
    expect(normalizeStripe(fixture('checkout-session-async-payment-failed'), config)).toMatchObject({
      kind: 'events',
      events: [
        {
          eventType: 'checkout.session.async_payment_failed',
          paymentStatusUpdates: [{ paymentEventId: 'cs_test_c1AchPay', status: 'failed' }],
        },
      ],
    });
  });
});

describe('stripeWebhookEvents (the events `mcb urls` tells an operator to subscribe to)', () => {
  it('names every event the normalizer acts on, and only those', () => {
    const handled = (type: string) => {
      const result = normalizeStripe({ id: 'evt_1', type, created: 1_700_000_000, data: { object: { id: 'x_1' } } }, config);
      return !(result.kind === 'ignored' && /unhandled|counted via checkout/.test(result.reason));
    };
    for (const type of stripeWebhookEvents) expect(handled(type), type).toBe(true);
    expect(stripeWebhookEvents).toEqual(
      expect.arrayContaining(['charge.dispute.created', 'charge.dispute.closed', 'invoice_payment.paid']),
    );
    expect(handled('customer.created')).toBe(false);
  });
});
