import { McbError, UnknownTenant } from '@mcb/core';
import { type Database, type Provider, type Tenant, type TenantRow, toTenant } from '@mcb/db';
import { z } from 'zod';
import { mergeTenantConfig, validateTenantConfig } from './config';
import { assertValidSlug } from './slug';

/**
 * Tenant management: an admin path (ADR 0002). Every function here takes the admin-role
 * `Database`, because managing tenants means seeing all of them; nothing else should.
 */

/** A tenant as stored (config as written, without defaults), any status: the `tenants` row, camelCase. */
export type TenantRecord = Tenant;

export interface TenantSummary extends TenantRecord {
  /** Providers with an active integration, sorted. */
  providers: Provider[];
}

export interface AddTenantInput {
  slug: string;
  name: string;
  ownerName?: string | null;
  reportEmail?: string | null;
  /** Shorthand for `config.timezone`. */
  timezone?: string;
  config?: Record<string, unknown>;
  /** Default true; false creates a pending tenant (the receiver answers 404 until activated). */
  isActive?: boolean;
}

export type UpdateTenantInput = Partial<Omit<AddTenantInput, 'slug' | 'isActive'>>;

const emailSchema = z.email();

/** Refuses a non-admin connection: a forgotten admin path must fail loudly, not see nothing. */
export function assertAdmin(database: Database): void {
  if (database.role !== 'admin') throw new Error(`Tenant management needs the admin database role (got ${database.role})`);
}

function checkedName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw new McbError('bad_request', 'Invalid name: must not be empty');
  return trimmed;
}

function checkedEmail(email: string | null | undefined): string | null {
  if (!email) return null;
  if (!emailSchema.safeParse(email).success) throw new McbError('bad_request', `Invalid email: ${email}`);
  return email;
}

/** Validates a config as it will be stored (defaults are applied on read, not written). */
function checkedConfig(config: Record<string, unknown>): Record<string, unknown> {
  validateTenantConfig(config);
  return config;
}

/** Creates a tenant. Refuses a bad slug, email or config (naming the field) and an existing slug. */
export async function addTenant(admin: Database, input: AddTenantInput): Promise<TenantRecord> {
  assertAdmin(admin);
  assertValidSlug(input.slug);
  const config = checkedConfig(mergeTenantConfig(input.config ?? {}, input.timezone ? { timezone: input.timezone } : {}));
  const rows = await admin.sql<TenantRow[]>`
    insert into tenants (slug, name, owner_name, report_email, is_active, config)
    values (${input.slug}, ${checkedName(input.name)}, ${input.ownerName || null}, ${checkedEmail(input.reportEmail)},
            ${input.isActive ?? true}, ${admin.sql.json(config as never)})
    on conflict (slug) do nothing
    returning *`;
  if (!rows[0]) throw new McbError('bad_request', `Tenant already exists: ${input.slug}`);
  return toTenant(rows[0]);
}

/** Every tenant, active or not, by slug, with the providers it has active integrations for. */
export async function listTenants(admin: Database): Promise<TenantSummary[]> {
  assertAdmin(admin);
  const rows = await admin.sql<(TenantRow & { providers: Provider[] })[]>`
    select t.*, coalesce(array_agg(i.provider order by i.provider) filter (where i.id is not null), '{}') as providers
    from tenants t left join tenant_integrations i on i.tenant_id = t.id and i.is_active
    group by t.id order by t.slug`;
  return rows.map((r) => ({ ...toTenant(r), providers: r.providers }));
}

/** One tenant by slug, whatever its status. Throws `UnknownTenant`. */
export async function getTenantBySlug(admin: Database, slug: string): Promise<TenantRecord> {
  assertAdmin(admin);
  const rows = await admin.sql<TenantRow[]>`select * from tenants where slug = ${slug}`;
  if (!rows[0]) throw new UnknownTenant(slug);
  return toTenant(rows[0]);
}

/** Activates or deactivates a tenant; every process's cached context follows within ~1 s (NOTIFY). */
export async function setTenantActive(admin: Database, slug: string, isActive: boolean): Promise<TenantRecord> {
  assertAdmin(admin);
  const rows = await admin.sql<TenantRow[]>`
    update tenants set is_active = ${isActive}, updated_at = now() where slug = ${slug} returning *`;
  if (!rows[0]) throw new UnknownTenant(slug);
  return toTenant(rows[0]);
}

/**
 * Sets the GHL location ids a tenant's HighLevel-signed deliveries must name (`config.ghl.location_ids`,
 * SPEC §3.1), replacing the list and keeping the rest of `config.ghl`. Ids are trimmed and deduplicated;
 * every receiver follows within ~1 s (NOTIFY). A location belongs to one tenant: an id already bound to
 * another tenant is refused (it would make that tenant's deliveries acceptable here too). Throws
 * `UnknownTenant`, or `bad_request` for an empty or taken id.
 */
export async function setGhlLocationIds(admin: Database, slug: string, locationIds: readonly string[]): Promise<TenantRecord> {
  assertAdmin(admin);
  const ids = [...new Set(locationIds.map((id) => id.trim()))];
  if (ids.some((id) => !id)) throw new McbError('bad_request', 'Invalid location id: must not be empty');
  return admin.sql.begin(async (tx) => {
    const [current] = await tx<TenantRow[]>`select * from tenants where slug = ${slug} for update`;
    if (!current) throw new UnknownTenant(slug);
    // One writer at a time, so two tenants cannot claim the same location concurrently.
    await tx`select pg_advisory_xact_lock(hashtext('mcb_ghl_location_ids'))`;
    const taken = await tx<{ slug: string; id: string }[]>`
      select t.slug, l.id from tenants t, jsonb_array_elements_text(coalesce(t.config->'ghl'->'location_ids', '[]')) l(id)
      where t.id <> ${current.id} and jsonb_typeof(coalesce(t.config->'ghl'->'location_ids', '[]')) = 'array' and l.id = any(${ids}::text[])`;
    if (taken[0]) throw new McbError('bad_request', `GHL location ${taken[0].id} is already bound to tenant ${taken[0].slug}`);
    const ghl = { ...(current.config.ghl as Record<string, unknown> | undefined), location_ids: ids };
    const config = checkedConfig({ ...current.config, ghl });
    const [row] = await tx<TenantRow[]>`
      update tenants set config = ${tx.json(config as never)}, updated_at = now() where id = ${current.id} returning *`;
    return toTenant(row as TenantRow);
  }) as Promise<TenantRecord>;
}

/** Updates name, owner, email and/or config (`config` is merged over the stored one, nested objects key by key; then validated). */
export async function updateTenant(admin: Database, slug: string, patch: UpdateTenantInput): Promise<TenantRecord> {
  assertAdmin(admin);
  return admin.sql.begin(async (tx) => {
    const [current] = await tx<TenantRow[]>`select * from tenants where slug = ${slug} for update`;
    if (!current) throw new UnknownTenant(slug);
    const config = checkedConfig(
      mergeTenantConfig(current.config, { ...patch.config, ...(patch.timezone ? { timezone: patch.timezone } : {}) }),
    );
    const [row] = await tx<TenantRow[]>`
      update tenants set
        name = ${patch.name === undefined ? current.name : checkedName(patch.name)},
        owner_name = ${patch.ownerName === undefined ? current.owner_name : patch.ownerName || null},
        report_email = ${patch.reportEmail === undefined ? current.report_email : checkedEmail(patch.reportEmail)},
        config = ${tx.json(config as never)},
        updated_at = now()
      where id = ${current.id} returning *`;
    return toTenant(row as TenantRow);
  }) as Promise<TenantRecord>;
}
