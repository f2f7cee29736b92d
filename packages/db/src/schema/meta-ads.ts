import { bigint, foreignKey, pgTable, primaryKey, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, tenantId, updatedAt } from './columns';
import { tenants } from './tenants';

/** One row per Meta ad (all statuses), with its ad set and campaign names. */
export const metaAds = pgTable(
  'meta_ads',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    tenantId: tenantId(),
    adId: text('ad_id').notNull(),
    adName: text('ad_name'),
    adsetId: text('adset_id'),
    adsetName: text('adset_name'),
    campaignId: text('campaign_id'),
    campaignName: text('campaign_name'),
    status: text('status'),
    effectiveStatus: text('effective_status'),
    createdTime: timestamp('created_time', { withTimezone: true }),
    updatedTime: timestamp('updated_time', { withTimezone: true }),
    lastSyncedAt: timestamp('last_synced_at', { withTimezone: true }).notNull().defaultNow(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('meta_ads_tenant_ad_unique').on(t.tenantId, t.adId),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
  ],
);

export type MetaAd = typeof metaAds.$inferSelect;
/** A `meta_ads` row as SQL returns it (snake_case column names, schema types). */
export type MetaAdRow = RowOf<typeof metaAds>;
/** `meta_ads` row (whole or some columns) → `MetaAd` fields: the table's one mapper (ADR 0018). */
export const toMetaAd = rowMapper(metaAds);
