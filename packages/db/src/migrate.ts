import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';

/** The repository's `drizzle/` folder: generated SQL migrations and their journal. */
export const migrationsFolder = fileURLToPath(new URL('../../../drizzle', import.meta.url));

/**
 * Applies every pending migration as the connecting (owner) user. Idempotent; concurrent callers
 * are serialized with an advisory lock. This is the explicit migration step (`mcb db migrate`).
 */
export async function runMigrations(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(727274)`;
    await migrate(drizzle(sql), { migrationsFolder }).catch((err: unknown) => {
      throw migrationError(err);
    });
    await sql`select pg_advisory_unlock(727274)`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * True for an error saying the database is not migrated: a table of ours missing, or the row-level
 * security roles the migrations create not there yet. On a new server the second comes first: every
 * app connection sets its role at start (review, stop 33: /readyz said "down", not "not_migrated").
 */
export function isNotMigrated(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e?.code === '42P01') return true;
  return (e?.code === '22023' || e?.code === '42704') && /role "mcb_(app|admin)" does not exist/.test(String(e.message));
}

/**
 * What a failed migration says: Postgres's own reason and the statement's first line of SQL. drizzle's error is
 * "Failed query: <the whole migration>" with the reason only in its `cause` (prod walk, stop 32: a screenful
 * of SQL, and no reason at all, for a user that could not grant the roles).
 */
export function migrationError(err: unknown): Error {
  const e = err as { message?: string; query?: string; cause?: { message?: string; code?: string } };
  const reason = e.cause?.message;
  if (!reason) return err instanceof Error ? err : new Error(String(err));
  const statement =
    (e.query ?? e.message ?? '')
      .replace(/^Failed query: /, '')
      .split('\n')
      .map((line) => line.trim())
      // Its first line of SQL: a migration file opens with comments (review, stop 33: it named one).
      .find((line) => line && !line.startsWith('--'))
      ?.slice(0, 120) ?? '';
  // 42501 insufficient_privilege: creating or granting the row-level-security roles.
  const hint =
    e.cause?.code === '42501' && /role/.test(reason)
      ? '; the migrating user needs CREATEROLE, or the roles mcb_app and mcb_admin granted to it WITH ADMIN OPTION (README "Database roles")'
      : '';
  return new Error(`migration failed: ${reason}${hint} (statement: ${statement})`, { cause: err });
}
