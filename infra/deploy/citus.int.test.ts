import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testEnv } from '@mcb/testing';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from './build';

// infra/citus/distribute.sql against the schema the real migrations build. No Citus runs here: the
// checks are that it distributes exactly the tenant tables, by tenant_id, in foreign-key order, and
// that each statement parses and names real tables (run with recording stand-ins of Citus's two
// functions, inside a transaction that is rolled back).
const file = readFileSync(join(root, 'infra/citus/distribute.sql'), 'utf8');
const sql = postgres(testEnv().databaseUrl, { max: 1, onnotice: () => {} });
afterAll(() => sql.end());

const reference = [...file.matchAll(/create_reference_table\('(\w+)'\)/g)].map((m) => m[1]!);
const local = [...file.matchAll(/^-- local: (\w+)$/gm)].map((m) => m[1]!);
const distributed = [...file.matchAll(/create_distributed_table\('(\w+)', '(\w+)'/g)].map((m) => ({ table: m[1]!, column: m[2]! }));

describe('infra/citus/distribute.sql', () => {
  it('makes tenants the reference table and distributes every tenant table by tenant_id; the rest stay local, by name', async () => {
    const tables = await sql<{ name: string; tenant: boolean }[]>`
      select c.relname as name, exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id') as tenant
      from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition`;
    expect(reference).toEqual(['tenants']);
    expect(
      tables
        .filter((t) => !t.tenant)
        .map((t) => t.name)
        .sort(),
    ).toEqual(['tenants', ...local].sort());
    expect(distributed.map((d) => d.table).sort()).toEqual(
      tables
        .filter((t) => t.tenant)
        .map((t) => t.name)
        .sort(),
    );
    expect(new Set(distributed.map((d) => d.column))).toEqual(new Set(['tenant_id']));
  });

  it('distributes a table before any table whose foreign key references it', async () => {
    const fks = await sql<{ from: string; to: string }[]>`
      select conrelid::regclass::text as from, confrelid::regclass::text as to
      from pg_constraint where contype = 'f' and connamespace = 'public'::regnamespace`;
    const order = [...reference, ...distributed.map((d) => d.table)];
    for (const fk of fks) expect(order.indexOf(fk.to), `${fk.from} → ${fk.to}`).toBeLessThanOrEqual(order.indexOf(fk.from));
  });

  it('parses, and names only real tables and columns', async () => {
    const statements = file
      .replace(/^--.*$/gm, '')
      .split(';')
      .map((s) => s.trim())
      .filter((s) => s && !/^(BEGIN|COMMIT|CREATE EXTENSION)/i.test(s));
    const calls = await sql
      .begin(async (tx) => {
        await tx`create schema citus_check`;
        await tx`create table citus_check.calls (fn text, tbl regclass, col text, colocate regclass)`;
        await tx.unsafe(`create function citus_check.create_reference_table(t regclass) returns void
        language sql as $$ insert into citus_check.calls values ('reference', t, null, null) $$`);
        await tx.unsafe(`create function citus_check.create_distributed_table(t regclass, col text, colocate_with text default 'default')
        returns void language plpgsql as $$ begin
          perform 1 from pg_attribute where attrelid = t and attname = col;
          if not found then raise exception 'no column % on %', col, t; end if;
          insert into citus_check.calls values ('distributed', t, col,
            case when colocate_with in ('default', 'none') then null else colocate_with::regclass end);
        end $$`);
        await tx`set local search_path = citus_check, public`;
        for (const statement of statements) await tx.unsafe(statement);
        const rows = await tx<{ fn: string; tbl: string }[]>`select fn, tbl::text from citus_check.calls`;
        // Roll back: the check leaves nothing behind.
        throw Object.assign(new Error('rollback'), { rows });
      })
      .catch((err: Error & { rows?: Array<{ fn: string; tbl: string }> }) => {
        if (!err.rows) throw err;
        return err.rows;
      });
    expect(calls).toHaveLength(reference.length + distributed.length);
    const [schema] = await sql`select 1 from pg_namespace where nspname = 'citus_check'`;
    expect(schema).toBeUndefined();
  });
});
