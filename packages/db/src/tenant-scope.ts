import { sql as dsql } from 'drizzle-orm';
import type { Sql, TransactionSql } from 'postgres';
import type { Database, Db } from './client';

export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Runs `fn` in one transaction with `app.tenant_id` set (SET LOCAL semantics), so every
 * row-level-security policy restricts it to `tenantId`. The unit of work for workers and the API.
 */
export async function withTenant<T>(database: Database, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return database.db.transaction(async (tx) => {
    await tx.execute(dsql`select set_config('app.tenant_id', ${tenantId}, true)`);
    return fn(tx);
  });
}

/** Same as `withTenant` for raw postgres.js callers (hot paths that build their own SQL). */
export async function withTenantSql<T>(sql: Sql, tenantId: string, fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${tenantId}, true)`;
    return fn(tx);
  }) as Promise<T>;
}
