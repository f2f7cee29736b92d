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
      select c.table_name, c.is_nullable from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
      where c.table_schema = 'public' and c.column_name = 'tenant_id'`;
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

  // SPEC §2 scale-out rule, driven by the catalogue so a new table cannot escape it: on Citus each
  // tenant table is distributed by tenant_id, which only works when every key carries it.
  it('puts tenant_id in every unique constraint and unique index of every tenant table', async () => {
    const missing = await sql<{ table: string; index: string }[]>`
      select c.relname as table, pg_get_indexdef(i.indexrelid) as index from pg_index i
      join pg_class c on c.oid = i.indrelid and c.relnamespace = 'public'::regnamespace
      where i.indisunique
        and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id')
        and not exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attnum = any(i.indkey) and a.attname = 'tenant_id')`;
    expect(missing).toEqual([]);
  });

  it('makes every foreign key between tenant tables carry tenant_id on both sides, at the same position', async () => {
    const fks = await sql<{ name: string; from: string; to: string; cols: string[]; refs: string[] }[]>`
      select con.conname as name, con.conrelid::regclass::text as from, con.confrelid::regclass::text as to,
        array(select a.attname::text from unnest(con.conkey) with ordinality k(n, o)
          join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n order by k.o) as cols,
        array(select a.attname::text from unnest(con.confkey) with ordinality k(n, o)
          join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n order by k.o) as refs
      from pg_constraint con where con.contype = 'f' and con.connamespace = 'public'::regnamespace`;
    expect(fks.length).toBeGreaterThan(5);
    for (const fk of fks) {
      // tenants is the one reference table (copied to every node): its key is the tenant id itself.
      if (fk.to === 'tenants') expect(fk.cols, fk.name).toEqual(['tenant_id']);
      else expect(fk.cols.indexOf('tenant_id'), fk.name).toBe(fk.refs.indexOf('tenant_id'));
      expect(fk.cols, fk.name).toContain('tenant_id');
    }
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

  it('compresses webhook bodies and headers with lz4 (drizzle/0019), and a stored body reads back exact', async () => {
    const cols = await sql<{ attname: string; attcompression: string }[]>`
      select attname::text, attcompression::text from pg_attribute
      where attrelid = 'webhook_logs'::regclass and attname in ('payload', 'headers', 'raw_body') order by attname`;
    expect(cols).toEqual([
      { attname: 'headers', attcompression: 'l' },
      { attname: 'payload', attcompression: 'l' },
      { attname: 'raw_body', attcompression: 'l' },
    ]);
    // A payload past the TOAST threshold is compressed on insert, with lz4, and comes back as sent.
    const [t] = await sql<{ id: string }[]>`insert into tenants (slug, name) values (${`lz-${Date.now()}`}, 'Lz4') returning id`;
    const payload = { id: 'evt_lz4', items: Array.from({ length: 200 }, (_, i) => ({ n: i, description: `Package item ${i}` })) };
    await sql`insert into webhook_logs (tenant_id, source, dedupe_key, payload) values (${t!.id}, 'stripe', 'evt_lz4', ${sql.json(payload)})`;
    const [row] = await sql<{ method: string | null; payload: typeof payload }[]>`
      select pg_column_compression(payload) as method, payload from webhook_logs where tenant_id = ${t!.id}`;
    expect(row?.method).toBe('lz4');
    expect(row?.payload).toEqual(payload);
  });
});
