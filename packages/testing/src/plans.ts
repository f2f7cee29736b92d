import type { Sql } from 'postgres';

/** A statement as postgres.js sent it (the `onQuery` hook of `createDatabase` records these). */
export interface SentStatement {
  text: string;
  params: unknown[];
}

type Explained = { 'QUERY PLAN': Array<{ Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }> };

/**
 * Pages (shared buffers hit or read) the statement reads when run again by `sql` — a pool of role
 * `app` — with `app.tenant_id` set, as the application runs it under RLS: an index probe reads a
 * handful, a scan of the tenant's rows hundreds. The statement runs for real (EXPLAIN ANALYZE).
 * `settings` are set for the transaction first, as the application set them for that statement
 * (e.g. `enable_sort: 'off'`).
 */
export async function pagesReadUnderTenant(
  sql: Sql,
  tenantId: string,
  statement: SentStatement,
  settings: Record<string, string> = {},
): Promise<number> {
  return sql.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${tenantId}, true)`;
    for (const [name, value] of Object.entries(settings)) await tx`select set_config(${name}, ${value}, true)`;
    const [row] = await tx.unsafe<Explained[]>(`explain (analyze, buffers, format json) ${statement.text}`, statement.params as never[]);
    const plan = row!['QUERY PLAN'][0]!.Plan;
    return plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
  });
}
