import { randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '@mcb/db';
import { addTenant, generateKey, type Keyring, parseKeyring, setIntegration } from '@mcb/tenancy';

export function testKeyring(): Keyring {
  return parseKeyring(generateKey());
}

export interface CapiTenant {
  id: string;
  slug: string;
  datasetId: string;
  token: string;
}

let counter = 0;

/** An active tenant with an active `meta_capi` integration (unique slug, dataset id and token). */
export async function createCapiTenant(admin: Database, keyring: Keyring, credentials: Record<string, unknown> = {}): Promise<CapiTenant> {
  counter++;
  const suffix = `${Date.now().toString(36)}${counter}${randomBytes(2).toString('hex')}`;
  const slug = `capi-${suffix}`.slice(0, 40);
  const token = `EAAcapi${randomBytes(24).toString('hex')}`;
  const datasetId = `${Date.now() % 1_000_000_000}${counter}${Math.floor(Math.random() * 1000)}`;
  const tenant = await addTenant(admin, { slug, name: `CAPI ${suffix}` });
  await setIntegration(admin, keyring, {
    slug,
    provider: 'meta_capi',
    credentials: { dataset_id: datasetId, access_token: token, ...credentials },
  });
  return { id: tenant.id, slug, datasetId, token };
}

export interface SeedPerson {
  email: string;
  phone: string;
  firstName: string;
  lastName: string;
}

/** A recognisable plaintext person for index `i` (tests check none of it leaves unhashed). */
export function person(i: number, tag = 'p'): SeedPerson {
  return {
    email: `${tag}.person${i}@example.com`,
    phone: `+1555${String(1_000_000 + i).slice(-7)}`,
    firstName: `First${tag}${i}`,
    lastName: `Last${tag}${i}`,
  };
}

export interface SeedEvent {
  contactId: string;
  funnelEventId: string;
  sourceEventId: string;
}

/**
 * `n` contacts with one funnel event each (inserted as the applier would, via the admin role):
 * `eventType` at `occurredAt`, source `source`, recorded at `createdAt(i)` (default now). Returns the
 * ids in insertion order.
 */
export async function seedEvents(
  admin: Database,
  tenantId: string,
  n: number,
  opts: { eventType?: string; source?: string; occurredAt?: Date; tag?: string; adId?: string; createdAt?: (i: number) => Date } = {},
): Promise<SeedEvent[]> {
  const rows = Array.from({ length: n }, (_, i) => ({ ...person(i, opts.tag), contactId: randomUUID(), funnelEventId: randomUUID() }));
  const tag = opts.tag ?? randomBytes(3).toString('hex');
  await admin.sql`
    insert into contacts (tenant_id, id, email_primary, phone, first_name, last_name, ad_id)
    select ${tenantId}::uuid, u.id, u.e, u.p, u.f, u.l, ${opts.adId ?? null}
    from unnest(${rows.map((r) => r.contactId)}::uuid[], ${rows.map((r) => r.email)}::text[], ${rows.map((r) => r.phone)}::text[],
                ${rows.map((r) => r.firstName)}::text[], ${rows.map((r) => r.lastName)}::text[]) as u(id, e, p, f, l)`;
  await admin.sql`
    insert into funnel_events (tenant_id, id, contact_id, event_type, occurred_at, source, source_event_id, created_at)
    select ${tenantId}::uuid, u.id, u.c, ${opts.eventType ?? 'contact_subscribed'}, ${opts.occurredAt ?? new Date(Date.now() - 3_600_000)},
           ${opts.source ?? 'manychat'}, u.k, coalesce(u.at, now())
    from unnest(${rows.map((r) => r.funnelEventId)}::uuid[], ${rows.map((r) => r.contactId)}::uuid[],
                ${rows.map((_, i) => `${tag}-evt-${i}`)}::text[],
                ${rows.map((_, i) => (opts.createdAt ? opts.createdAt(i).toISOString() : null))}::timestamptz[]) as u(id, c, k, at)`;
  return rows.map((r, i) => ({ contactId: r.contactId, funnelEventId: r.funnelEventId, sourceEventId: `${tag}-evt-${i}` }));
}
