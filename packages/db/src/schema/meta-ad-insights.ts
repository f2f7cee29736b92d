import { bigint, date, foreignKey, index, jsonb, pgTable, primaryKey, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { tenantId } from './columns';
import { tenants } from './tenants';

/**
 * One row per ad per day (never snapshots); re-pulled days overwrite in place. Spend in minor units
 * of `currency`, the ad account's (lowercase ISO 4217; null on rows synced before it was stored:
 * read as the tenant's reporting currency).
 */
export const metaAdInsights = pgTable(
  'meta_ad_insights',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    tenantId: tenantId(),
    adId: text('ad_id').notNull(),
    date: date('date', { mode: 'string' }).notNull(),
    spendCents: bigint('spend_cents', { mode: 'number' }).notNull().default(0),
    currency: text('currency'),
    impressions: bigint('impressions', { mode: 'number' }).notNull().default(0),
    clicks: bigint('clicks', { mode: 'number' }).notNull().default(0),
    reach: bigint('reach', { mode: 'number' }).notNull().default(0),
    linkClicks: bigint('link_clicks', { mode: 'number' }).notNull().default(0),
    landingPageViews: bigint('landing_page_views', { mode: 'number' }).notNull().default(0),
    leads: bigint('leads', { mode: 'number' }).notNull().default(0),
    actions: jsonb('actions').$type<unknown[]>().notNull().default([]),
    syncedAt: timestamp('synced_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('meta_ad_insights_tenant_ad_date_unique').on(t.tenantId, t.adId, t.date),
    // Spend of a date range (weekly report) for all of a tenant's ads.
    index('meta_ad_insights_date_idx').on(t.tenantId, t.date),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
  ],
);

export type MetaAdInsight = typeof metaAdInsights.$inferSelect;
/** A `meta_ad_insights` row as SQL returns it (snake_case column names, schema types). */
export type MetaAdInsightRow = RowOf<typeof metaAdInsights>;
/** `meta_ad_insights` row (whole or some columns) → `MetaAdInsight` fields: the table's one mapper (ADR 0018). */
export const toMetaAdInsight = rowMapper(metaAdInsights);
