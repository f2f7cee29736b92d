import { randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '@mcb/db';
import type { FunnelEventType, PaymentCategory } from '@mcb/sources';

let counter = 0;

/** A unique, valid slug for one test tenant. */
export function uniqueSlug(prefix = 'rep'): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}${counter}${randomBytes(2).toString('hex')}`.slice(0, 40);
}

export interface TenantInput {
  slug?: string;
  name?: string;
  ownerName?: string | null;
  reportEmail?: string | null;
  config?: Record<string, unknown>;
  isActive?: boolean;
  createdAt?: Date;
}

/** Inserts a tenant (admin role) and returns its id and slug. */
export async function createTenant(admin: Database, input: TenantInput = {}): Promise<{ id: string; slug: string }> {
  const slug = input.slug ?? uniqueSlug();
  const [row] = await admin.sql<{ id: string }[]>`
    insert into tenants (slug, name, owner_name, report_email, config, is_active, created_at)
    values (${slug}, ${input.name ?? `Tenant ${slug}`}, ${input.ownerName ?? null}, ${input.reportEmail ?? null},
            ${admin.sql.json((input.config ?? {}) as Parameters<typeof admin.sql.json>[0])}, ${input.isActive ?? true},
            ${input.createdAt ?? new Date('2020-01-01T00:00:00Z')})
    returning id`;
  return { id: (row as { id: string }).id, slug };
}

export interface ContactInput {
  source?: string | null;
  adId?: string | null;
  mergedIntoId?: string | null;
  email?: string | null;
}

/** Inserts a contact and returns its id. */
export async function createContact(admin: Database, tenantId: string, input: ContactInput = {}): Promise<string> {
  const [row] = await admin.sql<{ id: string }[]>`
    insert into contacts (tenant_id, source, ad_id, merged_into_id, email_primary)
    values (${tenantId}, ${input.source ?? null}, ${input.adId ?? null}, ${input.mergedIntoId ?? null}, ${input.email ?? null})
    returning id`;
  return (row as { id: string }).id;
}

/** Inserts one funnel event at an instant (ISO string). */
export async function addEvent(admin: Database, tenantId: string, contactId: string, type: FunnelEventType, at: string): Promise<void> {
  await admin.sql`
    insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id)
    values (${tenantId}, ${contactId}, ${type}, ${new Date(at)}, 'test', ${randomUUID()})`;
}

export interface PaymentInput {
  contactId: string | null;
  source: 'stripe' | 'denefits';
  category: PaymentCategory;
  amountCents: number;
  paidAt: string;
  status?: string;
  /** Default usd. */
  currency?: string;
}

/** Inserts one payment (payment_type derived from source and category). */
export async function addPayment(admin: Database, tenantId: string, p: PaymentInput): Promise<void> {
  const paymentType = p.category === 'refund' ? 'refund' : p.source === 'denefits' ? 'buy_now_pay_later' : 'buy_in_full';
  await admin.sql`
    insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, currency, status, paid_at)
    values (${tenantId}, ${p.contactId}, ${randomUUID()}, ${p.source}, ${paymentType}, ${p.category}, ${p.amountCents},
            ${p.currency ?? 'usd'}, ${p.status ?? 'paid'}, ${new Date(p.paidAt)})`;
}

/** Inserts a Meta ad with its name. */
export async function addAd(admin: Database, tenantId: string, adId: string, name: string): Promise<void> {
  await admin.sql`insert into meta_ads (tenant_id, ad_id, ad_name, status) values (${tenantId}, ${adId}, ${name}, 'ACTIVE')`;
}

/** Inserts one day of insights for an ad (`date` is `YYYY-MM-DD`; spend in minor units of `currency`, null as synced before it was stored). */
export async function addInsight(
  admin: Database,
  tenantId: string,
  adId: string,
  date: string,
  spendCents: number,
  currency: string | null = null,
): Promise<void> {
  await admin.sql`
    insert into meta_ad_insights (tenant_id, ad_id, date, spend_cents, currency)
    values (${tenantId}, ${adId}, ${date}, ${spendCents}, ${currency})`;
}
