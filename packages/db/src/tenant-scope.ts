import type { ISql, Sql, TransactionSql } from 'postgres';

/** What a query function runs on: a pool (`database.sql`), a transaction (`withTenantSql`) or a reserved connection. */
export type Queryable = ISql;

/**
 * Runs `fn` in one transaction with `app.tenant_id` set (SET LOCAL semantics), so every row-level
 * security policy restricts it to `tenantId`: the unit of work of every tenant read and write on an
 * `app` pool (workers, reports, the receiver's log insert, operator reads of one tenant).
 * `withTenantRoundTrip` (pipeline.ts) is the one-round-trip form for hot paths.
 */
export async function withTenantSql<T>(sql: Sql, tenantId: string, fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${tenantId}, true)`;
    return fn(tx);
  }) as Promise<T>;
}
