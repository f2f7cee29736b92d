import { curlCommand } from '@mcb/tenancy';
import Stripe from 'stripe';

/** The demo buyer: the Stripe payment and the ManyChat contact below are the same person. */
export const demoPerson = { email: 'jane.doe@example.com', name: 'Jane Doe', phone: '+15555550123' } as const;

/** A realistic `checkout.session.completed` event for the demo tenant (no real customer). */
export function demoStripeEvent(now = new Date()): string {
  const created = Math.floor(now.getTime() / 1000);
  const id = `evt_demo_${created.toString(36)}`;
  return JSON.stringify({
    id,
    object: 'event',
    api_version: '2025-10-29.clover',
    created,
    type: 'checkout.session.completed',
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: {
      object: {
        id: `cs_test_demo_${created.toString(36)}`,
        object: 'checkout.session',
        amount_subtotal: 250000,
        amount_total: 250000,
        currency: 'usd',
        customer: 'cus_demo123',
        customer_details: { ...demoPerson },
        customer_email: null,
        mode: 'payment',
        payment_intent: 'pi_demo123',
        payment_status: 'paid',
        status: 'complete',
        created,
      },
    },
  });
}

/**
 * The demo buyer as ManyChat sends a contact ("Add Full Contact Data", `contact_created`). A payment
 * alone never creates a contact (SPEC §6.1, §6.3): the Stripe demo's payment waits as an orphan until
 * this contact arrives with the same email, and is linked to it then.
 */
export function demoManyChatContact(): string {
  const [first, last] = demoPerson.name.split(' ');
  return JSON.stringify({
    key: 'user:2000000001',
    id: '2000000001',
    page_id: '100000000000001',
    status: 'active',
    first_name: first,
    last_name: last,
    name: demoPerson.name,
    email: demoPerson.email,
    phone: demoPerson.phone,
    custom_fields: { source: 'instagram' },
    event_type: 'contact_created',
  });
}

/** A curl command that posts `payload` with a valid `Stripe-Signature` (valid for 300 s). */
export function signedStripeCurl(url: string, secret: string, payload: string): string {
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret });
  return curlCommand({ url, headers: { 'Content-Type': 'application/json', 'Stripe-Signature': header }, body: payload });
}

/** A curl command that posts `payload` with the tenant's secret in `X-Webhook-Secret` (ManyChat, GHL, Denefits). */
export function secretHeaderCurl(url: string, secret: string, payload: string): string {
  return curlCommand({ url, headers: { 'Content-Type': 'application/json', 'X-Webhook-Secret': secret }, body: payload });
}
