import Stripe from 'stripe';

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
        customer_details: { email: 'jane.doe@example.com', name: 'Jane Doe', phone: '+15555550123' },
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

/** A curl command that posts `payload` with a valid `Stripe-Signature` (valid for 300 s). */
export function signedStripeCurl(url: string, secret: string, payload: string): string {
  const stripe = new Stripe('sk_test_unused');
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
  const quoted = `'${payload.replaceAll("'", "'\\''")}'`;
  return `curl -sS -X POST '${url}' -H 'Content-Type: application/json' -H 'Stripe-Signature: ${header}' --data-binary ${quoted}`;
}
