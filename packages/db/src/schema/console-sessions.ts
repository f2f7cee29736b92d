import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt } from './columns';

/**
 * Console sign-in sessions, server-side so they can be ended: logout deletes the row, and a session
 * made under another `ADMIN_TOKEN` (token rotation) no longer matches its fingerprint. Operator data,
 * not tenant data: no `tenant_id`, readable by the admin role only. Stores a hash of the session id,
 * never the id itself.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    /** HMAC of the `ADMIN_TOKEN` the session was opened with. */
    tokenFingerprint: text('token_fingerprint').notNull(),
    /** Client address at sign-in (for operators reading the table). */
    client: text('client'),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('console_sessions_expires_idx').on(t.expiresAt)],
);

export type ConsoleSession = typeof consoleSessions.$inferSelect;
/** A `console_sessions` row as SQL returns it (snake_case column names, schema types). */
export type ConsoleSessionRow = RowOf<typeof consoleSessions>;
/** `console_sessions` row (whole or some columns) → `ConsoleSession` fields: the table's one mapper (ADR 0018). */
export const toConsoleSession = rowMapper(consoleSessions);
