import { randomUUID } from 'node:crypto';
import { testEnv } from '@mcb/testing';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from './client';
import { tenantTableNames } from './schema/index';
import { withTenantSql } from './tenant-scope';

// Row-level security, proven table by table (SPEC §9, ADR 0002). The tables come from the
// database catalog, not from a list in this file: a new table with tenant_id and no policy fails.

const { databaseUrl } = testEnv();
const owner = postgres(databaseUrl, { max: 1, onnotice: () => {} });
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
// max 1: every query reuses one session, so a leaked tenant setting would show.
const app = createDatabase({ url: databaseUrl, role: 'app', max: 1 });
afterAll(async () => {
  await Promise.all([owner.end(), admin.close(), app.close()]);
});

interface Column {
  name: string;
  udt: string;
  nullable: boolean;
  hasDefault: boolean;
}
interface ForeignKey {
  columns: string[];
  refTable: string;
  refColumns: string[];
}
interface TableInfo {
  name: string;
  /** The column the policy compares with the current tenant: `id` on tenants, else `tenant_id`. */
  tenantColumn: string;
  columns: Column[];
  foreignKeys: ForeignKey[];
}

/** Values the generic generator cannot guess (CHECK constraints). Add one here for a new CHECK. */
const overrides: Record<string, string> = { 'tenant_integrations.provider': 'stripe', 'contact_identities.kind': 'email' };

const catalogTables = (
  await owner<{ name: string }[]>`
    select c.relname as name from pg_class c
    join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
    where c.relkind in ('r', 'p') order by c.relname`
).map((r) => r.name);
const everyTable = ['tenants', ...catalogTables];

async function describeTable(name: string): Promise<TableInfo> {
  const columns = await owner<Column[]>`
    select column_name as name, udt_name as udt, is_nullable = 'YES' as nullable,
      (column_default is not null or is_identity = 'YES' or is_generated = 'ALWAYS') as "hasDefault"
    from information_schema.columns where table_schema = 'public' and table_name = ${name} order by ordinal_position`;
  const foreignKeys = await owner<ForeignKey[]>`
    select confrelid::regclass::text as "refTable",
      array(select attname::text from unnest(con.conkey) with ordinality k(n, i) join pg_attribute on attrelid = con.conrelid and attnum = k.n order by k.i) as columns,
      array(select attname::text from unnest(con.confkey) with ordinality k(n, i) join pg_attribute on attrelid = con.confrelid and attnum = k.n order by k.i) as "refColumns"
    from pg_constraint con where con.contype = 'f' and con.conrelid = ${name}::regclass`;
  return { name, tenantColumn: name === 'tenants' ? 'id' : 'tenant_id', columns, foreignKeys };
}

let counter = 0;
function generate(table: string, column: Column): string {
  const override = overrides[`${table}.${column.name}`];
  if (override !== undefined) return override;
  counter += 1;
  switch (column.udt) {
    case 'uuid':
      return randomUUID();
    case 'text':
    case 'varchar':
      return `rls-${table}-${column.name}-${counter}`;
    case 'int2':
    case 'int4':
    case 'int8':
    case 'numeric':
      return String(counter);
    case 'bool':
      return 'false';
    case 'timestamptz':
    case 'timestamp':
      return new Date().toISOString();
    case 'date':
      return `2026-01-${String((counter % 28) + 1).padStart(2, '0')}`;
    case 'jsonb':
    case 'json':
      return '{}';
    default:
      throw new Error(`rls test: cannot generate ${table}.${column.name} (${column.udt}); add an override`);
  }
}

type Row = Record<string, unknown>;
const infos = new Map<string, TableInfo>();
/** Rows seeded per table and tenant id (through the admin role, which bypasses RLS). */
const seeded = new Map<string, Map<string, Row[]>>();
const tenantA = { id: '', slug: `rls-a-${Date.now().toString(36)}` };
const tenantB = { id: '', slug: `rls-b-${Date.now().toString(36)}` };

/** A new row of `table` for `tenantId`: NOT NULL columns filled, foreign keys pointing at that tenant's rows. */
function buildRow(info: TableInfo, tenantId: string): Row {
  const row: Row = { [info.tenantColumn]: tenantId };
  for (const fk of info.foreignKeys) {
    const required = fk.columns.some((c) => info.columns.find((col) => col.name === c && !col.nullable && !col.hasDefault));
    if (!required || fk.refTable === info.name) continue;
    const target = seeded.get(fk.refTable)?.get(tenantId)?.[0];
    if (!target) throw new Error(`rls test: ${info.name} needs a ${fk.refTable} row first`);
    fk.columns.forEach((c, i) => {
      row[c] = target[fk.refColumns[i] as string];
    });
  }
  for (const column of info.columns) {
    if (column.name in row || column.nullable || column.hasDefault) continue;
    row[column.name] = generate(info.name, column);
  }
  return row;
}

function insertSql(info: TableInfo, row: Row): [string, string[]] {
  const names = Object.keys(row);
  const types = names.map((n) => info.columns.find((c) => c.name === n)?.udt ?? 'text');
  const values = names.map((n) => (row[n] instanceof Date ? (row[n] as Date).toISOString() : String(row[n])));
  const text = `insert into "${info.name}" (${names.map((n) => `"${n}"`).join(', ')}) values (${names
    .map((_, i) => `$${i + 1}::text::${types[i]}`)
    .join(', ')}) returning *`;
  return [text, values];
}

/** Tables ordered so every foreign key's target is seeded before the table that needs it. */
function dependencyOrder(): TableInfo[] {
  const ordered: TableInfo[] = [];
  const visit = (name: string, path: string[]) => {
    if (ordered.some((t) => t.name === name)) return;
    if (path.includes(name)) return;
    const info = infos.get(name);
    if (!info) return;
    for (const fk of info.foreignKeys) if (fk.refTable !== name) visit(fk.refTable, [...path, name]);
    ordered.push(info);
  };
  for (const name of everyTable) visit(name, []);
  return ordered.filter((t) => t.name !== 'tenants');
}

beforeAll(async () => {
  for (const name of everyTable) infos.set(name, await describeTable(name));
  for (const t of [tenantA, tenantB]) {
    const [row] = await admin.sql<Row[]>`insert into tenants (slug, name) values (${t.slug}, ${t.slug}) returning *`;
    t.id = (row as Row).id as string;
    seeded.set('tenants', new Map([...(seeded.get('tenants') ?? new Map()), [t.id, [row as Row]]]));
  }
  for (const info of dependencyOrder()) {
    const perTenant = new Map<string, Row[]>();
    for (const t of [tenantA, tenantB]) {
      const [text, values] = insertSql(info, buildRow(info, t.id));
      const rows = await admin.sql.unsafe<Row[]>(text, values).catch((err: Error) => {
        throw new Error(`rls test: seeding ${info.name} failed (${err.message}); add an override`);
      });
      perTenant.set(t.id, rows);
    }
    seeded.set(info.name, perTenant);
  }
});

describe('row-level security (catalog-driven)', () => {
  it('finds the tenant tables in the catalog, exactly the schema list tenantTableNames', () => {
    expect(catalogTables.length).toBeGreaterThanOrEqual(10);
    expect([...catalogTables].sort()).toEqual([...tenantTableNames].sort());
  });

  it.each(everyTable)('%s: RLS enabled and forced, one policy on app.tenant_id for every command', async (table) => {
    const [cls] = await owner<{ enabled: boolean; forced: boolean }[]>`
      select relrowsecurity as enabled, relforcerowsecurity as forced from pg_class
      where oid = ${table}::regclass`;
    expect(cls).toEqual({ enabled: true, forced: true });
    const policies = await owner<{ cmd: string; qual: string; check: string | null; permissive: string }[]>`
      select cmd, qual, with_check as check, permissive from pg_policies where schemaname = 'public' and tablename = ${table}`;
    const column = table === 'tenants' ? 'id' : 'tenant_id';
    expect(policies.some((p) => p.cmd === 'ALL' && p.qual.includes(`${column} = mcb_current_tenant()`))).toBe(true);
    expect(policies.every((p) => p.check?.includes(`${column} = mcb_current_tenant()`))).toBe(true);
    const [fn] = await owner<{ body: string }[]>`select prosrc as body from pg_proc where proname = 'mcb_current_tenant'`;
    expect(fn?.body).toContain("current_setting('app.tenant_id', true)");
  });

  it.each(everyTable)('%s: seeded for both tenants (the admin role sees both)', async (table) => {
    const column = table === 'tenants' ? 'id' : 'tenant_id';
    const rows = await admin.sql.unsafe<{ tenant: string }[]>(
      `select "${column}"::text as tenant from "${table}" where "${column}" = any($1::uuid[])`,
      [[tenantA.id, tenantB.id]],
    );
    expect(new Set(rows.map((r) => r.tenant))).toEqual(new Set([tenantA.id, tenantB.id]));
  });

  it.each(everyTable)('%s: the app role with no tenant set reads zero rows', async (table) => {
    const [outside] = await app.sql.unsafe<{ n: number }[]>(`select count(*)::int as n from "${table}"`);
    expect(outside?.n).toBe(0);
    const [empty] = await app.sql.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', '', true)`;
      return tx.unsafe<{ n: number }[]>(`select count(*)::int as n from "${table}"`);
    });
    expect(empty?.n).toBe(0);
  });

  it.each(everyTable)('%s: with tenant A set, every row is tenant A and none is tenant B', async (table) => {
    const column = table === 'tenants' ? 'id' : 'tenant_id';
    const tenants = await withTenantSql(app.sql, tenantA.id, (tx) =>
      tx.unsafe<{ tenant: string }[]>(`select "${column}"::text as tenant from "${table}"`),
    );
    expect(tenants.length).toBeGreaterThanOrEqual(1);
    expect(tenants.every((r) => r.tenant === tenantA.id)).toBe(true);
    const targeted = await withTenantSql(app.sql, tenantA.id, (tx) =>
      tx.unsafe<{ n: number }[]>(`select count(*)::int as n from "${table}" where "${column}" = $1`, [tenantB.id]),
    );
    expect(targeted[0]?.n).toBe(0);
  });

  it.each(everyTable)("%s: with tenant A set, inserting tenant B's row is refused", async (table) => {
    const info = infos.get(table) as TableInfo;
    const row =
      table === 'tenants' ? { id: randomUUID(), slug: `rls-x-${Date.now().toString(36)}`, name: 'x' } : buildRow(info, tenantB.id);
    const [text, values] = insertSql(info, row);
    await expect(withTenantSql(app.sql, tenantA.id, (tx) => tx.unsafe(text, values))).rejects.toThrow(/row-level security/);
    await expect(app.sql.unsafe(text, values)).rejects.toThrow(/row-level security/);
  });

  it.each(everyTable)("%s: with tenant A set, tenant B's rows cannot be updated, moved into or deleted", async (table) => {
    const column = table === 'tenants' ? 'id' : 'tenant_id';
    const touched = await withTenantSql(app.sql, tenantA.id, async (tx) => {
      const updated = await tx.unsafe(`update "${table}" set "${column}" = "${column}" where "${column}" = $1`, [tenantB.id]);
      const deleted = await tx.unsafe(`delete from "${table}" where "${column}" = $1`, [tenantB.id]);
      return updated.count + deleted.count;
    });
    expect(touched).toBe(0);
    if (table !== 'tenants') {
      // Moving one of A's rows to B must fail the policy's WITH CHECK, not silently leak it.
      await expect(
        withTenantSql(app.sql, tenantA.id, (tx) => tx.unsafe(`update "${table}" set tenant_id = $1`, [tenantB.id])),
      ).rejects.toThrow(/row-level security|violates foreign key/);
    }
    const [left] = await admin.sql.unsafe<{ n: number }[]>(`select count(*)::int as n from "${table}" where "${column}" = $1`, [
      tenantB.id,
    ]);
    expect(left?.n).toBeGreaterThanOrEqual(1);
  });

  it('the tenant setting ends with its transaction (SET LOCAL), so a pooled session starts clean', async () => {
    const inside = await withTenantSql(
      app.sql,
      tenantA.id,
      (tx) => tx<{ t: string }[]>`select current_setting('app.tenant_id', true) as t`,
    );
    expect(inside[0]?.t).toBe(tenantA.id);
    const [after] = await app.sql<{ t: string | null; n: number }[]>`
      select current_setting('app.tenant_id', true) as t, (select count(*)::int from contacts) as n`;
    expect(after?.t ?? '').toBe('');
    expect(after?.n).toBe(0);
  });

  it('the app session runs as mcb_app, which cannot bypass RLS', async () => {
    const [me] = await app.sql<{ role: string; bypass: boolean }[]>`
      select current_user as role, rolbypassrls as bypass from pg_roles where rolname = current_user`;
    expect(me).toEqual({ role: 'mcb_app', bypass: false });
  });
});
