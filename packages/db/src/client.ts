import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres, { type Sql } from 'postgres';
import * as schema from './schema/index';

export type Schema = typeof schema;
export type Db = PostgresJsDatabase<Schema>;

/**
 * Which database role a connection runs as:
 * - `app`: subject to row-level security; every tenant query goes through `withTenant`.
 * - `admin`: bypasses RLS; only for the named admin paths (tenant management, intake tenant
 *   resolution, cross-tenant stats, the outbox sweeper).
 * - `owner`: the connecting user itself; only migrations use it.
 */
export type DbRole = 'app' | 'admin' | 'owner';

export interface DatabaseOptions {
  url: string;
  role: DbRole;
  max?: number;
  applicationName?: string;
  /** Seconds to wait for a new connection (postgres.js default 30; request paths want ~2). */
  connectTimeoutSeconds?: number;
  /** Server-side `statement_timeout` for every statement of this pool (ms; 0 = none). */
  statementTimeoutMs?: number;
}

export interface Database {
  sql: Sql;
  db: Db;
  role: DbRole;
  close: () => Promise<void>;
}

const roleNames: Record<Exclude<DbRole, 'owner'>, string> = { app: 'mcb_app', admin: 'mcb_admin' };

/** Opens a postgres.js pool whose sessions run as the given role (set at connection start). */
export function createDatabase({
  url,
  role,
  max = 10,
  applicationName = 'mcb',
  connectTimeoutSeconds = 30,
  statementTimeoutMs = 0,
}: DatabaseOptions): Database {
  const connection: Record<string, string> = { application_name: applicationName };
  if (role !== 'owner') connection.role = roleNames[role];
  if (statementTimeoutMs > 0) connection.statement_timeout = String(statementTimeoutMs);
  const options = {
    max,
    connection,
    connect_timeout: connectTimeoutSeconds,
    // postgres.js waits up to 20 s (growing with every failed attempt) before reconnecting: after an
    // outage that held intake at 503 for ~11 s after Postgres was back. Cap it at 1 s.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    transform: { undefined: null },
  } as const;
  // bigint ids and cents come back as JS numbers (safe up to 2^53).
  const sql = postgres(url, {
    ...options,
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number | bigint) => x.toString(), parse: (x: string) => Number(x) },
    },
  });
  // drizzle rewrites its client's date and json serializers, which would break `sql.json()` and
  // Date parameters in raw queries: it gets its own pool (postgres.js connects lazily).
  const db = drizzle(postgres(url, options), { schema });
  return {
    sql,
    db,
    role,
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), db.$client.end({ timeout: 5 })]);
    },
  };
}
