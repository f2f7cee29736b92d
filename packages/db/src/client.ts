import postgres, { type Sql } from 'postgres';

/**
 * Which database role a connection runs as:
 * - `app`: subject to row-level security; every tenant query runs inside `withTenantSql` (or
 *   `withTenantRoundTrip`), which sets the tenant for one transaction.
 * - `admin`: bypasses RLS; only for the named admin paths of ADR 0002 (tenant resolution and
 *   management, cross-tenant lists and stats, the reconciler).
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
  /**
   * Seconds a connection lives before it is closed (once idle) and replaced. Every plan a backend
   * caches — the foreign-key checks' and the prepared statements' generic plans — lives no longer:
   * a plan made while a table was empty cannot outlive it, even on a server whose statistics never
   * change (autovacuum off: the soak bench measured workers falling to ~32 events/s on such plans).
   * postgres.js' default is 30–60 min.
   */
  maxLifetimeSeconds?: number;
  /** Called with every statement sent and its parameters (the benches read what a function sent). */
  onQuery?: (text: string, params: unknown[]) => void;
}

/**
 * One postgres.js pool and the role its sessions run as. Queries are raw SQL through `sql`; row types
 * come from the drizzle schema (`XRow`, `toX`), which is not a runtime client (ADR 0018).
 */
export interface Database {
  sql: Sql;
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
  maxLifetimeSeconds = 300,
  onQuery,
}: DatabaseOptions): Database {
  const connection: Record<string, string> = { application_name: applicationName };
  if (role !== 'owner') connection.role = roleNames[role];
  if (statementTimeoutMs > 0) connection.statement_timeout = String(statementTimeoutMs);
  // bigint ids and cents come back as JS numbers (safe up to 2^53); a `date` stays the calendar day
  // it is ('YYYY-MM-DD', as the schema's `date(…, { mode: 'string' })` says), not a UTC-midnight Date.
  const sql = postgres(url, {
    max,
    connection,
    connect_timeout: connectTimeoutSeconds,
    max_lifetime: maxLifetimeSeconds,
    // postgres.js waits up to 20 s (growing with every failed attempt) before reconnecting: after an
    // outage that held intake at 503 for ~11 s after Postgres was back. Cap it at 1 s.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    ...(onQuery ? { debug: (_connection: number, text: string, params: unknown[]) => onQuery(text, params) } : {}),
    transform: { undefined: null },
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number | bigint) => x.toString(), parse: (x: string) => Number(x) },
      calendarDate: {
        to: 1082,
        from: [1082],
        serialize: (x: string | Date) => (x instanceof Date ? x.toISOString() : x),
        parse: (x: string) => x,
      },
    },
  });
  return { sql, role, close: () => sql.end({ timeout: 5 }) };
}
