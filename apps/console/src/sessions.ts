import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Database } from '@mcb/db';

/** Server-side console sessions (table `console_sessions`): each one can be ended on its own. */
export interface SessionStore {
  /** Opens a session for `client` and returns its id (the cookie value; only its hash is stored). */
  open(client: string): Promise<string>;
  /** True while the session exists, has not expired, and was opened under the current `ADMIN_TOKEN`. */
  isValid(id: string): Promise<boolean>;
  /** Ends one session (logout). */
  end(id: string): Promise<void>;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('base64url');

/**
 * Sessions in Postgres (admin role), so every console process sees a logout at once. Sessions last
 * `ttlMs` at most; rotating `ADMIN_TOKEN` ends them all (the fingerprint no longer matches, and they
 * are deleted on the next sign-in).
 */
export function createSessionStore(database: Database, adminToken: string, ttlMs: number): SessionStore {
  const fingerprint = createHmac('sha256', adminToken).update('mcb-console-session-fingerprint').digest('base64url');
  const sql = database.sql;
  return {
    async open(client) {
      const id = randomBytes(32).toString('base64url');
      await sql`delete from console_sessions where expires_at <= now() or token_fingerprint <> ${fingerprint}`;
      await sql`
        insert into console_sessions (id_hash, token_fingerprint, client, expires_at)
        values (${hashId(id)}, ${fingerprint}, ${client}, now() + ${`${Math.round(ttlMs)} milliseconds`}::interval)`;
      return id;
    },
    async isValid(id) {
      const rows = await sql`
        select 1 from console_sessions
        where id_hash = ${hashId(id)} and token_fingerprint = ${fingerprint} and expires_at > now()`;
      return rows.length > 0;
    },
    async end(id) {
      await sql`delete from console_sessions where id_hash = ${hashId(id)}`;
    },
  };
}
