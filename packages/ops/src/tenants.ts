import { UnknownTenant } from '@mcb/core';
import { type Database, type TenantRow, toTenant } from '@mcb/db';

/** Tenant id of a slug (or of an id itself), active or not. Admin path. Throws `UnknownTenant`. */
export async function resolveTenantId(admin: Database, slugOrId: string): Promise<string> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(slugOrId);
  const rows = isUuid
    ? await admin.sql<{ id: string }[]>`select id from tenants where id = ${slugOrId}`
    : await admin.sql<{ id: string }[]>`select id from tenants where slug = ${slugOrId.toLowerCase()}`;
  const row = rows[0];
  if (!row) throw new UnknownTenant(slugOrId);
  return row.id;
}

/** Every tenant, for queue discovery and pickers: id, slug, name, active flag. Admin path. */
export async function listTenantRefs(admin: Database): Promise<Array<{ id: string; slug: string; name: string; isActive: boolean }>> {
  const rows = await admin.sql<Pick<TenantRow, 'id' | 'slug' | 'name' | 'is_active'>[]>`
    select id, slug, name, is_active from tenants order by slug`;
  return rows.map(toTenant);
}
