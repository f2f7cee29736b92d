import { type WebhookSource, webhookSources } from '@mcb/db';

/** One source's endpoint and what to paste into the sending tool (no secret values, placeholders only). */
export interface WebhookSetup {
  source: WebhookSource;
  tool: string;
  url: string;
  steps: string[];
}

/** The receiver URL of one tenant's source: `<base>/api/webhooks/<slug>/<source>`. */
export function webhookUrl(baseUrl: string, slug: string, source: WebhookSource): string {
  return `${baseUrl.replace(/\/+$/, '')}/api/webhooks/${encodeURIComponent(slug)}/${source}`;
}

/**
 * Per-source setup instructions for `mcb urls <slug>` (SPEC §3.1 verification). Secrets appear
 * as `<SECRET>`: the operator has the value from `integration set … --webhook-secret`.
 */
export function webhookSetupGuide(baseUrl: string, slug: string, options: { ghlLocationIds?: readonly string[] } = {}): WebhookSetup[] {
  const url = (source: WebhookSource) => webhookUrl(baseUrl, slug, source);
  const locations = options.ghlLocationIds ?? [];
  const guides: Record<WebhookSource, Omit<WebhookSetup, 'source' | 'url'>> = {
    manychat: {
      tool: 'ManyChat (flow action "External Request")',
      steps: [
        `Request type POST, Request URL ${url('manychat')}`,
        'Headers: X-Webhook-Secret: <SECRET>   (the manychat secret)',
        'Body: application/json with "Add Full Contact Data", plus "event_type": contact_created | contact_update | dm_qualified | link_sent | link_clicked',
      ],
    },
    ghl: {
      tool: 'GoHighLevel (workflow "Custom Webhook" action, or a Marketplace app webhook)',
      steps: [
        `Method POST, URL ${url('ghl')}`,
        'Custom Webhook: header X-Webhook-Secret: <SECRET>   (the ghl secret)',
        locations.length
          ? `Marketplace (HighLevel-signed) deliveries: accepted only for location ${locations.join(', ')}; any other location gets 401`
          : `Marketplace (HighLevel-signed) deliveries: refused until a location is set: mcb integration set ${slug} ghl --location-id <locationId>`,
        `Plain "Webhook" action (no headers): URL ${url('ghl')}?secret=<SECRET>`,
        'Custom Data: event_type (form_submitted, meeting_booked, meeting_attended, package_sent), MC_ID, AD_ID, source',
      ],
    },
    stripe: {
      tool: 'Stripe (Dashboard → Developers → Webhooks → Add endpoint)',
      steps: [
        `Endpoint URL ${url('stripe')}`,
        'Events: checkout.session.completed, checkout.session.async_payment_succeeded, checkout.session.expired, charge.refunded, invoice.paid',
        `Copy the endpoint's signing secret, then: mcb integration set ${slug} stripe --webhook-secret whsec_…`,
      ],
    },
    denefits: {
      tool: 'Make.com scenario relaying Denefits (HTTP module "Make a request")',
      steps: [
        `Method POST, URL ${url('denefits')}, body type JSON (the Denefits webhook body unchanged)`,
        'Headers: X-Webhook-Secret: <SECRET>   (the denefits secret), or a body field "secret_key": "<SECRET>"',
      ],
    },
    perspective: {
      tool: 'Perspective (funnel settings → Integrations → Webhook)',
      steps: [`URL ${url('perspective')}?secret=<SECRET>   (the perspective secret; Perspective takes only a URL)`],
    },
  };
  return webhookSources.map((source) => ({ source, url: url(source), ...guides[source] }));
}
