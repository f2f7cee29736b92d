import { timestamp, uuid } from 'drizzle-orm/pg-core';

/** `tenant_id uuid NOT NULL` — on every data table (SPEC §2). */
export const tenantId = () => uuid('tenant_id').notNull();
export const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
export const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
