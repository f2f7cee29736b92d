import { testEnv } from '@mcb/testing';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';

const { databaseUrl } = testEnv();
const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
afterAll(() => sql.end());

/** Unique constraints (or unique indexes) SPEC §2 names, as sorted column lists. */
const expectedUnique: Record<string, string[][]> = {
  tenants: [['slug']],
  tenant_integrations: [['provider', 'tenant_id']],
  contacts: [
    ['mc_id', 'tenant_id'],
    ['ghl_id', 'tenant_id'],
  ],
  funnel_events: [['source', 'source_event_id', 'tenant_id']],
  payments: [['payment_event_id', 'tenant_id']],
  webhook_logs: [['dedupe_key', 'source', 'tenant_id']],
  meta_ads: [['ad_id', 'tenant_id']],
  meta_ad_creatives: [['ad_id', 'tenant_id']],
  meta_ad_insights: [['ad_id', 'date', 'tenant_id']],
  report_runs: [['kind', 'period_start', 'tenant_id']],
};

describe('schema (applied by the real migrations)', () => {
  it('has every SPEC §2 table', async () => {
    const rows = await sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public'`;
    const names = rows.map((r) => r.table_name);
    for (const t of Object.keys(expectedUnique)) expect(names).toContain(t);
  });

  it.each(Object.entries(expectedUnique))('%s has its unique keys', async (table, keys) => {
    const rows = await sql<{ cols: string[] }[]>`
      select array_agg(a.attname::text order by a.attname) as cols
      from pg_index i
      join pg_class c on c.oid = i.indrelid
      join pg_attribute a on a.attrelid = c.oid and a.attnum = any(i.indkey)
      where c.relname = ${table} and i.indisunique and not i.indisprimary
      group by i.indexrelid`;
    const found = rows.map((r) => r.cols.join(','));
    for (const key of keys) expect(found).toContain(key.join(','));
  });

  it('puts tenant_id NOT NULL on every data table and in every primary key', async () => {
    const rows = await sql<{ table_name: string; is_nullable: string }[]>`
      select table_name, is_nullable from information_schema.columns
      where table_schema = 'public' and column_name = 'tenant_id'`;
    const tables = rows.map((r) => r.table_name);
    for (const t of Object.keys(expectedUnique).filter((t) => t !== 'tenants')) expect(tables).toContain(t);
    for (const r of rows) expect(r.is_nullable, r.table_name).toBe('NO');
    const pks = await sql<{ relname: string; cols: string[] }[]>`
      select c.relname, array_agg(a.attname::text) as cols from pg_index i
      join pg_class c on c.oid = i.indrelid
      join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      join pg_attribute a on a.attrelid = c.oid and a.attnum = any(i.indkey)
      where i.indisprimary and c.relname = any(${tables}) group by c.relname`;
    for (const pk of pks) expect(pk.cols, pk.relname).toContain('tenant_id');
  });

  it('keeps rejected webhook rows out of dedupe', async () => {
    const [t] = await sql<{ id: string }[]>`insert into tenants (slug, name) values (${`dd-${Date.now()}`}, 'Dedupe') returning id`;
    const insert = (status: string) =>
      sql`insert into webhook_logs (tenant_id, source, dedupe_key, status) values (${t!.id}, 'stripe', 'evt_1', ${status})`;
    await insert('rejected');
    await insert('rejected');
    await insert('received');
    await expect(insert('received')).rejects.toThrow(/webhook_logs_dedupe_unique/);
  });
});
