import { curlCommand, shellQuote } from '@mcb/tenancy';
import Stripe from 'stripe';

/** The demo buyer: the Stripe payment and the ManyChat contact below are the same person. */
export const demoPerson = { email: 'jane.doe@example.com', name: 'Jane Doe', phone: '+15555550123' } as const;

/**
 * A realistic `checkout.session.completed` event for the demo tenant (no real customer). Its ids are
 * the same at every npm start: sent again it is a redelivery (`"duplicate":true`), never a second sale
 * (a new id per start booked Jane's $2,500 once per run of the demo).
 */
export function demoStripeEvent(now = new Date()): string {
  const created = Math.floor(now.getTime() / 1000);
  const id = 'evt_demo_jane_doe';
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
        id: 'cs_test_demo_jane_doe',
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

/**
 * A shell command that signs `payload` when it runs (Node's HMAC-SHA256 of `<t>.<payload>`, Stripe's
 * scheme) and posts it: for `demo.sh`, which is run later than 5 minutes after npm start as often as
 * not (a signature made at start was refused then as stale).
 */
export function freshlySignedStripeCurl(url: string, secret: string, payload: string): string {
  const sign =
    'const c=require("node:crypto"),[s,p]=process.argv.slice(1),t=Math.floor(Date.now()/1e3);' +
    'process.stdout.write("t="+t+",v1="+c.createHmac("sha256",s).update(t+"."+p).digest("hex"))';
  const curl = curlCommand({ url, headers: { 'Content-Type': 'application/json' }, body: payload });
  return `sig=$(node -e ${shellQuote(sign)} ${shellQuote(secret)} ${shellQuote(payload)}) && ${curl.replace(
    ' --data-binary',
    ' -H "Stripe-Signature: $sig" --data-binary',
  )}`;
}

/** A curl command that posts `payload` with the tenant's secret in `X-Webhook-Secret` (ManyChat, GHL, Denefits). */
export function secretHeaderCurl(url: string, secret: string, payload: string): string {
  return curlCommand({ url, headers: { 'Content-Type': 'application/json', 'X-Webhook-Secret': secret }, body: payload });
}
