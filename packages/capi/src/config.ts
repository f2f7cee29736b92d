import { InvalidConfig, MissingCredentials } from '@mcb/core';
import { type FunnelEventType, funnelEventTypes } from '@mcb/sources';
import type { TenantContext } from '@mcb/tenancy';
import { z } from 'zod';

/** Meta's standard events (Conversions API "Standard Events"); anything else is sent as a custom event. */
export const standardEventNames = [
  'AddPaymentInfo',
  'AddToCart',
  'AddToWishlist',
  'CompleteRegistration',
  'Contact',
  'CustomizeProduct',
  'Donate',
  'FindLocation',
  'InitiateCheckout',
  'Lead',
  'Purchase',
  'Schedule',
  'Search',
  'StartTrial',
  'SubmitApplication',
  'Subscribe',
  'ViewContent',
] as const;

/** Funnel events sent by default, and as what (issue 17): a sale is a Purchase. */
export const defaultEventMap: Partial<Record<FunnelEventType, string>> = {
  purchase_completed: 'Purchase',
  payment_plan_created: 'Purchase',
};

/** The Meta event sent once per person, for their first funnel event. */
export const leadEventName = 'Lead';

const eventName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_ -]{0,49}$/, 'must be a standard event name or a custom name of letters, digits, _ - and spaces')
  .refine((n) => n !== leadEventName, 'Lead is sent on the first funnel event of each person (see "lead"); map this event to another name');

/**
 * The `meta_capi` integration's credentials JSON (stored encrypted like every credential, §9):
 * `mcb integration set <slug> meta_capi --credentials '{"dataset_id":"…","access_token":"…"}'`.
 * `events` maps funnel event types to Meta event names over the defaults (`null` turns one off);
 * `lead: false` stops the Lead on each person's first funnel event.
 */
export const capiCredentialsSchema = z
  .object({
    dataset_id: z
      .union([z.string(), z.number()])
      .transform(String)
      .refine((v) => /^\d{1,30}$/.test(v), 'dataset_id must be the numeric dataset (pixel) id'),
    access_token: z.string().min(1, 'access_token is required'),
    test_event_code: z.string().min(1).max(100).optional(),
    lead: z.boolean().default(true),
    events: z.partialRecord(z.enum(funnelEventTypes), eventName.nullable()).default({}),
  })
  .strip();

/** What one tenant's sends need. `accessToken` is a secret: never log it, never put it in job data. */
export interface CapiTarget {
  tenantId: string;
  slug: string;
  datasetId: string;
  accessToken: string;
  testEventCode: string | null;
  /** Send `Lead` for each person's first funnel event. */
  lead: boolean;
  /** Funnel event type → Meta event name (defaults merged with the tenant's mapping). */
  events: Partial<Record<FunnelEventType, string>>;
}

/** Parses the integration's credentials. Throws `InvalidConfig` naming the first bad field. */
export function parseCapiCredentials(tenant: { id: string; slug: string }, credentials: unknown): CapiTarget {
  const result = capiCredentialsSchema.safeParse(credentials ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    // A key not given at all is named missing (zod says "Invalid input": operator walk, stop 38).
    const given = issue?.path.reduce<unknown>(
      (at, key) => (at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined),
      credentials ?? {},
    );
    const why = issue?.path.length && given === undefined ? 'missing' : issue?.message;
    throw new InvalidConfig(`Invalid meta_capi credentials for ${tenant.slug}: ${issue?.path.join('.') || 'credentials'}: ${why}`);
  }
  const c = result.data;
  const events: Partial<Record<FunnelEventType, string>> = { ...defaultEventMap };
  for (const [type, name] of Object.entries(c.events) as Array<[FunnelEventType, string | null]>) {
    if (name === null) delete events[type];
    else events[type] = name;
  }
  return {
    tenantId: tenant.id,
    slug: tenant.slug,
    datasetId: c.dataset_id,
    accessToken: c.access_token,
    testEventCode: c.test_event_code ?? null,
    lead: c.lead,
    events,
  };
}

/** The target of a loaded tenant context. Throws `MissingCredentials` without an active `meta_capi` integration. */
export function capiTargetOf(ctx: TenantContext): CapiTarget {
  const integration = ctx.credentials.meta_capi;
  if (!integration)
    throw new MissingCredentials(
      ctx.slug,
      'meta_capi',
      `add them with: mcb integration set ${ctx.slug} meta_capi --credentials '{"dataset_id":"…","access_token":"…"}'`,
    );
  return parseCapiCredentials({ id: ctx.id, slug: ctx.slug }, integration.credentials);
}
