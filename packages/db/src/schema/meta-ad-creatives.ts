import { bigint, foreignKey, pgTable, primaryKey, text, unique } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, tenantId, updatedAt } from './columns';
import { tenants } from './tenants';

/** The creative of each ad (one per ad), expanded in the same paged ads request. */
export const metaAdCreatives = pgTable(
  'meta_ad_creatives',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    tenantId: tenantId(),
    adId: text('ad_id').notNull(),
    creativeId: text('creative_id'),
    title: text('title'),
    body: text('body'),
    thumbnailUrl: text('thumbnail_url'),
    previewUrl: text('preview_url'),
    videoId: text('video_id'),
    mediaType: text('media_type'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('meta_ad_creatives_tenant_ad_unique').on(t.tenantId, t.adId),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
  ],
);

export type MetaAdCreative = typeof metaAdCreatives.$inferSelect;
/** A `meta_ad_creatives` row as SQL returns it (snake_case column names, schema types). */
export type MetaAdCreativeRow = RowOf<typeof metaAdCreatives>;
/** `meta_ad_creatives` row (whole or some columns) → `MetaAdCreative` fields: the table's one mapper (ADR 0018). */
export const toMetaAdCreative = rowMapper(metaAdCreatives);
