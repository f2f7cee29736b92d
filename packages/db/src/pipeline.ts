import type { ReservedSql, Sql } from 'postgres';

/**
 * Starts a postgres.js query now. Queries are sent when first awaited and in that order on the
 * connection, so statements started back to back on a reserved connection are pipelined: one round
 * trip for all of them.
 */
export function send<T>(query: PromiseLike<T>): Promise<T> {
  return Promise.resolve(query.then((x) => x));
}

/** Waits for every pipelined statement; throws the first error (Postgres answers the later ones "transaction aborted"). */
export async function settle(statements: Array<Promise<unknown>>): Promise<void> {
  const settled = await Promise.allSettled(statements);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/**
 * One transaction under `tenantId` (RLS, as `withTenantSql`) in ONE round trip: BEGIN, the tenant,
 * the statements `build` starts and COMMIT are pipelined on a reserved connection. After a failed
 * statement Postgres turns the COMMIT into a rollback; the first error is thrown. For short
 * set-based statements whose results the caller reads after (they resolve once committed).
 */
export async function withTenantRoundTrip<T>(sql: Sql, tenantId: string, build: (tx: ReservedSql) => Promise<T>): Promise<T> {
  const tx = await sql.reserve();
  try {
    const begin = send(tx`begin`);
    const tenant = send(tx`select set_config('app.tenant_id', ${tenantId}, true)`);
    const result = send(build(tx));
    const commit = send(tx`commit`);
    await settle([begin, tenant, result, commit]);
    return await result;
  } finally {
    tx.release();
  }
}
