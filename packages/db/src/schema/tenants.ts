import { sql } from 'drizzle-orm';
import { boolean, check, index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, updatedAt } from './columns';

/** One row per agency client. `slug` is the URL segment of every webhook. */
export const tenants = pgTable(
  'tenants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    slug: text('slug').notNull().unique('tenants_slug_unique'),
    name: text('name').notNull(),
    ownerName: text('owner_name'),
    reportEmail: text('report_email'),
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    isActive: boolean('is_active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('tenants_slug_format', sql`${t.slug} ~ '^[a-z0-9-]{2,40}$'`),
    // "Which other tenant names one of these GHL locations" (`?|`) on every tenant-context load (SPEC §3.1).
    index('tenants_ghl_location_ids_idx').using('gin', sql`(${t.config}->'ghl'->'location_ids')`),
  ],
);

export type Tenant = typeof tenants.$inferSelect;
/** A `tenants` row as SQL returns it (snake_case column names, schema types). */
export type TenantRow = RowOf<typeof tenants>;
/** `tenants` row (whole or some columns) → `Tenant` fields: the table's one mapper (ADR 0018). */
export const toTenant = rowMapper(tenants);

export type NewTenant = typeof tenants.$inferInsert;
