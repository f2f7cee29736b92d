import { isDeepStrictEqual } from 'node:util';
import { McbError, UnknownTenant } from '@mcb/core';
import { type Database, type Provider, type Queryable, type Tenant, type TenantRow, toTenant } from '@mcb/db';
import { z } from 'zod';
import { canonicalTimeZone, mergeTenantConfig, parseTenantConfig, validateTenantConfig } from './config';
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
  /** Shorthand for `config.currency` (ISO 4217, any case; stored lowercase). */
  currency?: string;
  /** Shorthand for `config.phone_country` (ISO 3166-1 alpha-2, any case; stored uppercase). */
  phoneCountry?: string;
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
  // It is the weekly report's subject and greeting: no line breaks or other control characters.
  const controls = [...trimmed].some((c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
  });
  if (controls) throw new McbError('bad_request', 'Invalid name: it must be one line, without control characters');
  return trimmed;
}

function checkedEmail(email: string | null | undefined): string | null {
  if (!email) return null;
  if (!emailSchema.safeParse(email).success) throw new McbError('bad_request', `Invalid email: ${email}`);
  return email;
}

/**
 * Validates a config as it will be stored (defaults are applied on read, not written). Its GHL
 * location ids are stored like `setGhlLocationIds` stores them: trimmed and deduplicated; its
 * currency lowercase, as payments carry theirs; its phone country uppercase, as ISO 3166 writes it.
 */
function checkedConfig(input: Record<string, unknown>): Record<string, unknown> {
  validateTenantConfig(input);
  const config: Record<string, unknown> = {
    ...input,
    ...(typeof input.currency === 'string' ? { currency: input.currency.toLowerCase() } : {}),
    ...(typeof input.phone_country === 'string' ? { phone_country: input.phone_country.toUpperCase() } : {}),
    // Its canonical IANA name (`europe/london` → `Europe/London`), as the report's footer shows it.
    ...(typeof input.timezone === 'string' ? { timezone: canonicalTimeZone(input.timezone) } : {}),
  };
  const ids = storedGhlLocationIds(config);
  if (ids === undefined) return config;
  return { ...config, ghl: { ...(config.ghl as Record<string, unknown>), location_ids: checkedLocationIds(ids) } };
}

/** A config as it is read (defaults filled in); as stored when it does not parse. */
function effectiveConfig(config: Record<string, unknown>): unknown {
  try {
    return parseTenantConfig(config);
  } catch {
    return config;
  }
}

/**
 * The config fields `AddTenantInput` has shorthands for, as a config patch. An empty value is a value
 * (refused by validation), not an absent one: `--currency ''` must not quietly keep the default.
 */
function shorthandConfig(input: Pick<AddTenantInput, 'timezone' | 'currency' | 'phoneCountry'>): Record<string, unknown> {
  return {
    ...(input.timezone !== undefined ? { timezone: input.timezone } : {}),
    ...(input.currency !== undefined ? { currency: input.currency } : {}),
    ...(input.phoneCountry !== undefined ? { phone_country: input.phoneCountry } : {}),
  };
}

/** `config.ghl.location_ids` when it is a list of strings (it is, once validated), else undefined. */
function storedGhlLocationIds(config: Record<string, unknown>): string[] | undefined {
  const ghl = config.ghl;
  if (typeof ghl !== 'object' || ghl === null || Array.isArray(ghl)) return undefined;
  const ids = (ghl as Record<string, unknown>).location_ids;
  return Array.isArray(ids) && ids.every((id) => typeof id === 'string') ? ids : undefined;
}

/** Whether a config patch names `ghl.location_ids` (so the write binds those locations). */
function writesGhlLocationIds(patch: Record<string, unknown> | undefined): boolean {
  const ghl = patch?.ghl;
  return typeof ghl === 'object' && ghl !== null && Object.hasOwn(ghl, 'location_ids');
}

/** Location ids trimmed and deduplicated, in order; an empty one is refused. */
function checkedLocationIds(locationIds: readonly string[]): string[] {
  const ids = [...new Set(locationIds.map((id) => id.trim()))];
  if (ids.some((id) => !id)) throw new McbError('bad_request', 'Invalid location id: must not be empty');
  return ids;
}

/** The location ids a tenant row (`alias`) names: `config.ghl.location_ids`, none when it is not a list. */
const locationIdsOf = (sql: Queryable, alias: 't' | 'o') => sql`jsonb_array_elements_text(case
  when jsonb_typeof(${sql(alias)}.config->'ghl'->'location_ids') = 'array' then ${sql(alias)}.config->'ghl'->'location_ids'
  else '[]'::jsonb end)`;

/**
 * Claims GHL locations for a tenant (`tenantId`, or null for one not inserted yet) inside the
 * writing transaction. HighLevel's signing key is shared by every location (SPEC §3.1), so a signed
 * delivery is accepted only when its `locationId` is one of the tenant's configured GHL locations; a
 * location bound to two tenants would make one tenant's deliveries acceptable at the other. So a
 * location belongs to one tenant (active or not): one already bound to another tenant is refused
 * (`bad_request`, naming it and that tenant). Every writer of `config.ghl.location_ids` calls this
 * before writing, and all of them take the same transaction-scoped lock first, so two concurrent
 * writers cannot both bind a location (the second one's check, a new statement under READ
 * COMMITTED, sees the first one's commit).
 */
async function claimGhlLocations(tx: Queryable, tenantId: string | null, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx`select pg_advisory_xact_lock(hashtext('mcb_ghl_location_ids'))`;
  const [taken] = await tx<{ slug: string; id: string }[]>`
    select t.slug, l.id
    from tenants t
    cross join lateral ${locationIdsOf(tx, 't')} l(id)
    where ${tenantId === null ? tx`true` : tx`t.id <> ${tenantId}`} and l.id = any(${ids as string[]}::text[])
    order by array_position(${ids as string[]}::text[], l.id), t.slug
    limit 1`;
  if (taken)
    throw new McbError(
      'bad_request',
      `GHL location ${taken.id} is already bound to tenant ${taken.slug}; to move it, first take it out of that tenant's list: mcb tenant update ${taken.slug} --config '{"ghl":{"location_ids":[<its other ids>]}}'`,
    );
}

/**
 * SQL for a tenant row aliased `t` (for the context query): the ids of its GHL locations that another
 * ACTIVE tenant also names, as `text[]`. Only rows written before `claimGhlLocations` existed can share
 * a location; a signed delivery for one cannot be bound to one tenant, so it is refused (SPEC §3.1).
 */
export function sharedGhlLocationIdsOf(admin: Database) {
  const ids = admin.sql`array(select ${locationIdsOf(admin.sql, 't')})`;
  // `?|` over the whole list first, so the GIN index (drizzle/0020) finds the few other tenants to look at.
  return admin.sql`coalesce((
    select array_agg(distinct l.id order by l.id)
    from tenants o
    cross join lateral ${locationIdsOf(admin.sql, 'o')} l(id)
    where o.config->'ghl'->'location_ids' ?| ${ids} and o.id <> t.id and o.is_active and l.id = any(${ids})
  ), '{}')`;
}

/** A GHL location named by more than one tenant, with those tenants (slugs; `active` per slug). */
export interface SharedGhlLocation {
  locationId: string;
  tenants: Array<{ slug: string; active: boolean }>;
}

/** Every GHL location more than one tenant names (written before the one-tenant rule), for operators. */
export async function sharedGhlLocations(admin: Database): Promise<SharedGhlLocation[]> {
  assertAdmin(admin);
  const rows = await admin.sql<{ id: string; tenants: Array<{ slug: string; active: boolean }> }[]>`
    select l.id, json_agg(json_build_object('slug', l.slug, 'active', l.is_active) order by l.slug) as tenants
    from (select distinct t.slug, t.is_active, l.id from tenants t cross join lateral ${locationIdsOf(admin.sql, 't')} l(id)) l
    group by l.id having count(*) > 1 order by l.id`;
  return rows.map((r) => ({ locationId: r.id, tenants: r.tenants }));
}

/** Creates a tenant. Refuses a bad slug, email or config (naming the field) and an existing slug. */
export async function addTenant(admin: Database, input: AddTenantInput): Promise<TenantRecord> {
  assertAdmin(admin);
  assertValidSlug(input.slug);
  const name = checkedName(input.name);
  const reportEmail = checkedEmail(input.reportEmail);
  const config = checkedConfig(mergeTenantConfig(input.config ?? {}, shorthandConfig(input)));
  return admin.sql.begin(async (tx) => {
    await claimGhlLocations(tx, null, storedGhlLocationIds(config) ?? []);
    const rows = await tx<TenantRow[]>`
      insert into tenants (slug, name, owner_name, report_email, is_active, config)
      values (${input.slug}, ${name}, ${input.ownerName || null}, ${reportEmail},
              ${input.isActive ?? true}, ${tx.json(config as never)})
      on conflict (slug) do nothing
      returning *`;
    if (!rows[0]) throw new McbError('bad_request', `Tenant already exists: ${input.slug}`);
    return toTenant(rows[0]);
  }) as Promise<TenantRecord>;
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

/** What deleting a tenant removes (SPEC §9: a client who leaves, or asks for its data to be erased). */
export interface TenantDeletion {
  tenant: TenantRecord;
  /** Rows of the tenant, by table, counted in the deleting transaction (before it). */
  rows: { webhookLogs: number; contacts: number; payments: number; funnelEvents: number; integrations: number };
}

/**
 * The tenant and its rows that `deleteTenant` would remove; nothing is deleted. Throws `UnknownTenant`.
 */
export async function tenantDeletionPlan(admin: Database, slug: string): Promise<TenantDeletion> {
  assertAdmin(admin);
  return countTenantRows(admin.sql, slug, false);
}

/**
 * Deletes a tenant and everything it owns, in one transaction: its logs, contacts, identities,
 * events, payments (orphans too), Meta data, report runs, CAPI sends and its sealed integrations. Only an inactive tenant (`mcb tenant
 * deactivate` first: every receiver then answers its deliveries 404, so none is written meanwhile).
 * Its queue in Redis is the caller's: `mcb tenant delete` removes it first, and again after (no worker
 * serves the queue of a tenant that is gone). Throws `UnknownTenant`, or `bad_request` for an active tenant.
 */
export async function deleteTenant(admin: Database, slug: string): Promise<TenantDeletion> {
  assertAdmin(admin);
  return admin.sql.begin(async (tx) => {
    const plan = await countTenantRows(tx, slug, true);
    assertDeletable(plan.tenant);
    // Every tenant table cascades from `tenants` (payments since drizzle/0033: an orphan payment has no
    // contact to cascade from). A worker still applying one of its logs holds key-share locks on the
    // tenant row: this waits for it, then deletes what it wrote too.
    await tx`delete from tenants where id = ${plan.tenant.id}`;
    return plan;
  }) as Promise<TenantDeletion>;
}

/** Refuses (`bad_request`) to delete an active tenant: deactivated first, no delivery is stored while it goes. */
export function assertDeletable(tenant: TenantRecord): void {
  if (tenant.isActive)
    throw new McbError(
      'bad_request',
      `Tenant ${tenant.slug} is active: deactivate it first (mcb tenant deactivate ${tenant.slug}), so that no delivery is stored while it is deleted`,
    );
}

async function countTenantRows(sql: Queryable, slug: string, lock: boolean): Promise<TenantDeletion> {
  const rows = lock
    ? await sql<TenantRow[]>`select * from tenants where slug = ${slug} for update`
    : await sql<TenantRow[]>`select * from tenants where slug = ${slug}`;
  if (!rows[0]) throw new UnknownTenant(slug);
  const tenant = toTenant(rows[0]);
  const [counts] = await sql<TenantDeletion['rows'][]>`
    select
      (select count(*)::int from webhook_logs where tenant_id = ${tenant.id}) as "webhookLogs",
      (select count(*)::int from contacts where tenant_id = ${tenant.id}) as contacts,
      (select count(*)::int from payments where tenant_id = ${tenant.id}) as payments,
      (select count(*)::int from funnel_events where tenant_id = ${tenant.id}) as "funnelEvents",
      (select count(*)::int from tenant_integrations where tenant_id = ${tenant.id}) as integrations`;
  return { tenant, rows: counts as TenantDeletion['rows'] };
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
  checkedLocationIds(locationIds);
  return admin.sql.begin(async (tx) => {
    const [before] = await tx<{ config: Record<string, unknown> }[]>`select config from tenants where slug = ${slug} for update`;
    const tenant = await writeGhlLocationIds(tx, slug, locationIds);
    await assertGhlStillVerifies(tx, tenant.id, slug, storedGhlLocationIds(before?.config ?? {}) ?? [], checkedLocationIds(locationIds));
    return tenant;
  }) as Promise<TenantRecord>;
}

/**
 * Refuses a change that leaves the tenant's active GHL integration unable to verify any delivery: no
 * location id left (HighLevel-signed deliveries are bound to the tenant by them) and no webhook secret
 * (for unsigned workflow webhooks). The same rule `setIntegration` holds when an integration is set.
 */
async function assertGhlStillVerifies(
  tx: Queryable,
  tenantId: string,
  slug: string,
  before: readonly string[],
  after: readonly string[],
): Promise<void> {
  // Only a removal of the last one: a tenant already without locations may still change anything else.
  if (after.length > 0 || before.length === 0) return;
  const [ghl] = await tx<{ n: number }[]>`
    select count(*)::int as n from tenant_integrations
    where tenant_id = ${tenantId} and provider = 'ghl' and is_active and webhook_secret is null`;
  if (ghl?.n)
    throw new McbError(
      'bad_request',
      `Refused: with no GHL location id left, ${slug}'s GHL integration (which has no webhook secret) could verify no delivery, and every one would get 401. Give it a secret first (mcb integration set ${slug} ghl --webhook-secret), keep a location id, or remove the integration if the tenant no longer uses GHL (mcb integration remove ${slug} ghl)`,
    );
}

/**
 * `setGhlLocationIds` inside a caller's transaction, for a write that must stand or fall with it
 * (`setIntegration` with `ghlLocationIds`).
 */
export async function writeGhlLocationIds(tx: Queryable, slug: string, locationIds: readonly string[]): Promise<TenantRecord> {
  const ids = checkedLocationIds(locationIds);
  const [current] = await tx<TenantRow[]>`select * from tenants where slug = ${slug} for update`;
  if (!current) throw new UnknownTenant(slug);
  await claimGhlLocations(tx, current.id, ids);
  const ghl = { ...(current.config.ghl as Record<string, unknown> | undefined), location_ids: ids };
  const config = checkedConfig({ ...current.config, ghl });
  const [row] = await tx<TenantRow[]>`
    update tenants set config = ${tx.json(config as never)}, updated_at = now() where id = ${current.id} returning *`;
  return toTenant(row as TenantRow);
}

/**
 * Updates name, owner, email and/or config (`config` is merged over the stored one, nested objects key
 * by key; then validated). A config that writes `ghl.location_ids` (or changes it) is held to the
 * one-tenant-per-location rule of `setGhlLocationIds`: a location bound to another tenant is refused
 * and nothing is written. An update that leaves the list alone does not check it. `changed` is false,
 * and nothing is written, when the tenant would read the same afterwards.
 */
export async function updateTenant(admin: Database, slug: string, patch: UpdateTenantInput): Promise<TenantRecord & { changed: boolean }> {
  assertAdmin(admin);
  return admin.sql.begin(async (tx) => {
    const [current] = await tx<TenantRow[]>`select * from tenants where slug = ${slug} for update`;
    if (!current) throw new UnknownTenant(slug);
    const config = checkedConfig(mergeTenantConfig(current.config, { ...patch.config, ...shorthandConfig(patch) }));
    const ids = storedGhlLocationIds(config) ?? [];
    const before = storedGhlLocationIds(current.config) ?? [];
    if (writesGhlLocationIds(patch.config) || ids.join('\n') !== before.join('\n')) {
      await claimGhlLocations(tx, current.id, ids);
      await assertGhlStillVerifies(tx, current.id, slug, before, ids);
    }
    const name = patch.name === undefined ? current.name : checkedName(patch.name);
    const ownerName = patch.ownerName === undefined ? current.owner_name : patch.ownerName || null;
    const reportEmail = patch.reportEmail === undefined ? current.report_email : checkedEmail(patch.reportEmail);
    // Nothing to write when the tenant would read the same (config compared with its defaults filled in,
    // so `--timezone UTC` over the default changes nothing): no write, no change notice to the receivers.
    const same =
      name === current.name &&
      ownerName === current.owner_name &&
      reportEmail === current.report_email &&
      isDeepStrictEqual(effectiveConfig(config), effectiveConfig(current.config));
    if (same) return { ...toTenant(current), changed: false };
    const [row] = await tx<TenantRow[]>`
      update tenants set name = ${name}, owner_name = ${ownerName}, report_email = ${reportEmail},
        config = ${tx.json(config as never)}, updated_at = now()
      where id = ${current.id} returning *`;
    return { ...toTenant(row as TenantRow), changed: true };
  }) as Promise<TenantRecord & { changed: boolean }>;
}
