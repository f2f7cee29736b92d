import { execFileSync } from 'node:child_process';
import { type FunnelEventType, normalizeWebhook, type Source, sources, stripeWebhookEvents } from '@mcb/sources';
import { describe, expect, it } from 'vitest';
import { buildExampleRequest, curlCommand, exampleBodies, exampleBody, shellQuote, webhookSetupGuide } from './webhook-urls';

/** What each printed example stands for: the funnel event it records for the person test.delivery@example.com. */
const exampleClaims: Record<Source, { funnelEvents: FunnelEventType[]; payments: number }> = {
  manychat: { funnelEvents: ['contact_subscribed'], payments: 0 },
  ghl: { funnelEvents: ['appointment_scheduled'], payments: 0 },
  stripe: { funnelEvents: ['deposit_paid'], payments: 1 },
  denefits: { funnelEvents: ['payment_plan_created'], payments: 2 },
  perspective: { funnelEvents: ['form_submitted'], payments: 0 },
};

describe('mcb urls examples', () => {
  it('each example body normalizes into what it claims: its funnel event, for the example person, every payment naming her', () => {
    for (const source of sources) {
      const result = normalizeWebhook(source, exampleBodies[source], {});
      expect(result.kind, source).toBe('events');
      const events = result.kind === 'events' ? result.events : [];
      const payments = events.flatMap((e) => e.payments ?? []);
      const funnelEvents = events.flatMap((e) => [e.funnelEvent?.type, ...(e.payments ?? []).map((p) => p.funnelEvent)]);
      expect(
        {
          funnelEvents: funnelEvents.filter((type) => type !== undefined),
          payments: payments.length,
          // The applier links a payment to a person by these (SPEC §6.1): without them it stays an orphan.
          contactEmails: events.map((e) => e.contact?.identity.emails),
          paymentEmails: payments.map((p) => p.customerEmail),
        },
        source,
      ).toEqual({
        ...exampleClaims[source],
        contactEmails: events.map(() => ['test.delivery@example.com']),
        paymentEmails: payments.map(() => 'test.delivery@example.com'),
      });
    }
  });

  it('the test delivery carries "mcb_test": true, which the worker ignores (never counted)', () => {
    for (const source of sources) {
      const request = buildExampleRequest('http://127.0.0.1:4000/', 'ppcu', source, 's3cr3t');
      expect(JSON.parse(request.body)).toEqual({ ...exampleBodies[source], mcb_test: true });
      expect(normalizeWebhook(source, JSON.parse(request.body), {})).toMatchObject({
        kind: 'ignored',
        reason: expect.stringMatching(/^test delivery/),
      });
    }
    expect(buildExampleRequest('http://h', 'ppcu', 'manychat', 's').headers).toMatchObject({ 'X-Webhook-Secret': 's' });
    expect(buildExampleRequest('http://h', 'ppcu', 'perspective', 'a b').url).toBe('http://h/api/webhooks/ppcu/perspective?secret=a%20b');
    expect(buildExampleRequest('http://h', 'ppcu', 'stripe', 'whsec_x')).toMatchObject({
      needsStripeSignature: true,
      headers: { 'Content-Type': 'application/json' },
    });
  });

  it('quotes for a POSIX shell: the shell hands curl exactly the text', () => {
    const tricky = `it's "quoted" $HOME \`x\` \\ end`;
    expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(tricky)}`], { encoding: 'utf8' })).toBe(tricky);
    expect(curlCommand({ url: 'http://h/x', headers: { A: "b'c" }, body: '{"n":"O\'Neil"}' })).toBe(
      `curl -sS -w '\\n' -X POST 'http://h/x' -H 'A: b'\\''c' --data-binary '{"n":"O'\\''Neil"}'`,
    );
  });

  it('names where each tool carries the secret', () => {
    const guide = webhookSetupGuide('http://h', 'ppcu');
    expect(Object.fromEntries(guide.map((g) => [g.source, g.secretCarrier.split(' (')[0]]))).toEqual({
      manychat: 'header X-Webhook-Secret',
      ghl: 'header X-Webhook-Secret',
      stripe: 'header Stripe-Signature',
      denefits: 'header X-Webhook-Secret',
      perspective: 'URL parameter ?secret=',
    });
  });

  it("lists the Stripe events to send, disputes and basil's invoice_payment.paid among them", () => {
    const stripe = webhookSetupGuide('http://h', 'ppcu').find((g) => g.source === 'stripe');
    const events = stripe?.steps.find((s) => s.startsWith('Events: '));
    expect(events?.slice('Events: '.length).split(', ')).toEqual([...stripeWebhookEvents]);
    expect(events).toContain('charge.dispute.closed');
    expect(events).toContain('invoice_payment.paid');
  });

  it("shows Stripe's example checkout in the tenant's reporting currency; the other bodies (and the example itself) as they are", () => {
    const stripe = exampleBodies.stripe as { data: { object: Record<string, unknown> } };
    const gbp = exampleBody('stripe', 'GBP') as typeof stripe;
    expect(gbp.data.object).toEqual({ ...stripe.data.object, currency: 'gbp' });
    expect(stripe.data.object.currency).toBe('usd');
    expect((exampleBody('stripe') as typeof stripe).data.object.currency).toBe('usd');
    expect(JSON.parse(buildExampleRequest('http://h', 'ppcu', 'stripe', 'whsec_x', { currency: 'jpy' }).body).data.object.currency).toBe(
      'jpy',
    );
    for (const source of ['manychat', 'ghl', 'denefits', 'perspective'] as const)
      expect(exampleBody(source, 'gbp')).toBe(exampleBodies[source]);
  });
});
