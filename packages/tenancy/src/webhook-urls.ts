import { type Source, sources, stripeWebhookEvents } from '@mcb/sources';
import { defaultCurrency } from './config';

/** One source's endpoint and what to paste into the sending tool (no secret values, placeholders only). */
export interface WebhookSetup {
  source: Source;
  tool: string;
  url: string;
  /** Where the secret travels, in the tool's words (`header X-Webhook-Secret`, `URL parameter ?secret=`, …). */
  secretCarrier: string;
  steps: string[];
}

/** The receiver URL of one tenant's source: `<base>/api/webhooks/<slug>/<source>`. */
export function webhookUrl(baseUrl: string, slug: string, source: Source): string {
  return `${baseUrl.replace(/\/+$/, '')}/api/webhooks/${encodeURIComponent(slug)}/${source}`;
}

/** How a source's webhook secret appears where it is not shown: `<manychat-secret>`, `<ghl-secret>`, … (no space: it may stand in a URL) */
export const secretPlaceholder = (source: Source): string => `<${source}-secret>`;

/**
 * A setup step with the source's real secret in place of its placeholder: URL-encoded where it stands in
 * a URL (`?secret=`: a `+`, `&` or `#` of a secret would otherwise change what the tool sends), as is in a header.
 */
export function withSecret(step: string, source: Source, secret: string): string {
  const placeholder = secretPlaceholder(source);
  return step.replaceAll(`?secret=${placeholder}`, `?secret=${encodeURIComponent(secret)}`).replaceAll(placeholder, secret);
}

/**
 * Per-source setup instructions for `mcb urls <slug>` (SPEC §3.1 verification). Secrets appear as
 * `secretPlaceholder(source)`: the operator has the value from `integration set … --webhook-secret`.
 */
export function webhookSetupGuide(
  baseUrl: string,
  slug: string,
  options: { ghlLocationIds?: readonly string[]; stripeSecretStored?: boolean } = {},
): WebhookSetup[] {
  const url = (source: Source) => webhookUrl(baseUrl, slug, source);
  const secret = secretPlaceholder;
  const locations = options.ghlLocationIds ?? [];
  const guides: Record<Source, Omit<WebhookSetup, 'source' | 'url'>> = {
    manychat: {
      tool: 'ManyChat (flow action "External Request")',
      secretCarrier: 'header X-Webhook-Secret',
      steps: [
        `Request type POST, Request URL ${url('manychat')}?event=<event>   (or put "event_type" in the body)`,
        `Headers: X-Webhook-Secret: ${secret('manychat')}`,
        'Body: "Add Full Contact Data" (the contact as the whole body, or wrapped as {"subscriber": …}); event: contact_created | contact_update | dm_qualified | link_sent | link_clicked',
      ],
    },
    ghl: {
      tool: 'GoHighLevel (workflow "Custom Webhook" action, or a Marketplace app webhook)',
      secretCarrier: 'header X-Webhook-Secret (Marketplace deliveries: their x-ghl-signature)',
      steps: [
        `Method POST, URL ${url('ghl')}`,
        `Custom Webhook: header X-Webhook-Secret: ${secret('ghl')}`,
        locations.length
          ? `Marketplace (HighLevel-signed) deliveries: accepted only for location ${locations.join(', ')}; any other location gets 401`
          : `Marketplace (HighLevel-signed) deliveries: refused until a location is set: mcb integration set ${slug} ghl --location-id <locationId>`,
        `Plain "Webhook" action (no headers): URL ${url('ghl')}?secret=${secret('ghl')}`,
        'Custom Data: event_type (form_submitted, meeting_booked, meeting_attended, package_sent), MC_ID, AD_ID, source',
      ],
    },
    stripe: {
      tool: 'Stripe (Dashboard → Developers → Webhooks → Add endpoint)',
      secretCarrier: 'header Stripe-Signature (Stripe signs with the endpoint’s signing secret whsec_…)',
      steps: [
        `Endpoint URL ${url('stripe')}`,
        `Events: ${stripeWebhookEvents.join(', ')}`,
        // With one stored, `integration set --webhook-secret` is refused (it would cut the stored one off at once).
        options.stripeSecretStored
          ? `A signing secret is stored; for a new endpoint's: mcb integration rotate-secret ${slug} stripe --webhook-secret whsec_… (the stored one stays valid for the overlap)`
          : `Copy the endpoint's signing secret, then: mcb integration set ${slug} stripe --webhook-secret whsec_…`,
      ],
    },
    denefits: {
      tool: 'Make.com scenario relaying Denefits (HTTP module "Make a request")',
      secretCarrier: 'header X-Webhook-Secret (or body field "secret_key")',
      steps: [
        `Method POST, URL ${url('denefits')}, body type JSON (the Denefits webhook body unchanged)`,
        `Headers: X-Webhook-Secret: ${secret('denefits')}, or a body field "secret_key": "${secret('denefits')}"`,
      ],
    },
    perspective: {
      tool: 'Perspective (funnel settings → Integrations → Webhook)',
      secretCarrier: 'URL parameter ?secret= (Perspective takes only a URL)',
      steps: [`URL ${url('perspective')}?secret=${secret('perspective')}   (Perspective takes only a URL)`],
    },
  };
  return sources.map((source) => ({ source, url: url(source), ...guides[source] }));
}

/** A request a tool would send, to print as `curl` and to check the wiring end to end. */
export interface ExampleRequest {
  url: string;
  headers: Record<string, string>;
  /** The exact JSON body text. */
  body: string;
  /** Stripe: the body still needs a `Stripe-Signature` made with the signing secret at send time. */
  needsStripeSignature: boolean;
}

/** Real-shaped example bodies per source (what each tool sends), for `mcb urls`. */
export const exampleBodies: Record<Source, Record<string, unknown>> = {
  manychat: {
    key: 'user:1000000001',
    id: '1000000001',
    page_id: '100000000000001',
    status: 'active',
    first_name: 'Test',
    last_name: 'Delivery',
    name: 'Test Delivery',
    email: 'test.delivery@example.com',
    phone: '+15555550100',
    ig_username: 'test.delivery',
    custom_fields: { AD_ID: null, source: 'instagram', MCB_LEAD: true },
    event_type: 'contact_created',
  },
  ghl: {
    contact_id: 'test-delivery-contact',
    first_name: 'Test',
    last_name: 'Delivery',
    email: 'test.delivery@example.com',
    phone: '+15555550100',
    pipeline_stage: 'DC BOOKED',
    customData: { event_type: 'meeting_booked', MC_ID: '1000000001', AD_ID: '', source: 'instagram' },
  },
  stripe: {
    id: 'evt_test_delivery',
    object: 'event',
    type: 'checkout.session.completed',
    created: 1767225600,
    livemode: false,
    data: {
      object: {
        id: 'cs_test_delivery',
        object: 'checkout.session',
        amount_total: 10000,
        currency: 'usd',
        customer_details: { email: 'test.delivery@example.com', name: 'Test Delivery' },
        payment_status: 'paid',
        status: 'complete',
      },
    },
  },
  // The customer travels inside the contract (`customer_*`), as Denefits sends it and the normalizer
  // reads it (packages/sources/src/denefits/fixtures): there is no `data.customer`.
  denefits: {
    webhook_type: 'contract.created',
    data: {
      contract: {
        contract_id: 100001,
        contract_code: 'TESTDELIVERY',
        contract_status: 'Active',
        customer_email: 'test.delivery@example.com',
        customer_first_name: 'Test',
        customer_last_name: 'Delivery',
        customer_mobile: '5555550100',
        financed_amount: '2,400.00',
        downpayment_amount: 300,
        recurring_amount: '200.00',
        number_of_payments: 12,
        remaining_payments: 12,
        date_added: '2026-01-01T00:00:00.000Z',
      },
    },
  },
  perspective: {
    id: 'test-delivery',
    funnelName: 'Test funnel',
    funnelId: 'test-funnel',
    profile: { email: { value: 'test.delivery@example.com' }, firstName: { value: 'Test' } },
    meta: { convertedAt: '2026-01-01T00:00:00Z' },
  },
};

/**
 * The example body of `source` as a tenant reporting in `currency` is shown it: Stripe's checkout session
 * in that currency (a usd payment would be left out of a gbp tenant's report). Other bodies carry no currency.
 */
export function exampleBody(source: Source, currency: string = defaultCurrency): Record<string, unknown> {
  const body = exampleBodies[source];
  if (source !== 'stripe') return body;
  const data = body.data as { object: Record<string, unknown> };
  return { ...body, data: { ...data, object: { ...data.object, currency: currency.toLowerCase() } } };
}

/**
 * The example request of one source with `secret` where the tool carries it. The body is marked
 * `"mcb_test": true`: the receiver verifies and stores it like any delivery (200), the worker then
 * ignores it, so a test never counts as a lead or a sale. Stripe's signature is left to the caller.
 */
export function buildExampleRequest(
  baseUrl: string,
  slug: string,
  source: Source,
  secret: string,
  options: { currency?: string } = {},
): ExampleRequest {
  const url = webhookUrl(baseUrl, slug, source);
  const body = JSON.stringify({ ...exampleBody(source, options.currency), mcb_test: true });
  const json = { 'Content-Type': 'application/json' };
  switch (source) {
    case 'stripe':
      return { url, headers: json, body, needsStripeSignature: true };
    case 'perspective':
      // A placeholder stays readable (`?secret=<perspective-secret>`); a real secret is URL-encoded.
      return {
        url: `${url}?secret=${secret === secretPlaceholder(source) ? secret : encodeURIComponent(secret)}`,
        headers: json,
        body,
        needsStripeSignature: false,
      };
    default:
      return { url, headers: { ...json, 'X-Webhook-Secret': secret }, body, needsStripeSignature: false };
  }
}

/** `text` as one POSIX shell word (single quotes; `'` written as `'\''`). */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * A `curl` command line that sends `request` exactly (copy-pasteable in a POSIX shell); the answer is
 * followed by a line break (`-w '\n'`), so several in a row print one answer per line.
 */
export function curlCommand(request: Pick<ExampleRequest, 'url' | 'headers' | 'body'>): string {
  const headers = Object.entries(request.headers).map(([name, value]) => `-H ${shellQuote(`${name}: ${value}`)}`);
  return ['curl -sS -w', shellQuote('\\n'), '-X POST', shellQuote(request.url), ...headers, '--data-binary', shellQuote(request.body)].join(
    ' ',
  );
}
