import type { TransactionSql } from 'postgres';
import type { AdRow, CreativeRow, InsightRow } from './parse';

// One statement per batch, and one bind parameter for all its rows: the batch travels as a JSON
// array (JSON.stringify is native and fast; per-element array escaping in the driver was the
// sync's hottest path) and Postgres unpacks it with jsonb_to_recordset, whose column list names
// the rows' own camelCase keys. `::text::jsonb` so the driver cannot store it as a JSON string.

/**
 * Keeps the last row per key (one INSERT … ON CONFLICT may not touch the same row twice), sorted
 * by key so concurrent batches always lock rows in the same order (no deadlocks).
 */
function lastPerKey<T>(rows: T[], key: (row: T) => string): T[] {
  const map = new Map<string, T>();
  for (const row of rows) map.set(key(row), row);
  return [...map.keys()].sort().map((k) => map.get(k) as T);
}

/** Upserts `meta_ads` rows of the transaction's tenant (call inside `withTenantSql`). Returns rows written. */
export async function upsertAds(tx: TransactionSql, tenantId: string, input: AdRow[]): Promise<number> {
  const rows = lastPerKey(input, (r) => r.adId);
  if (rows.length === 0) return 0;
  await tx`
    insert into meta_ads (tenant_id, ad_id, ad_name, adset_id, adset_name, campaign_id, campaign_name,
                          status, effective_status, created_time, updated_time, last_synced_at, updated_at)
    select ${tenantId}::uuid, t.*, now(), now()
    from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as t(
      "adId" text, "adName" text, "adsetId" text, "adsetName" text, "campaignId" text, "campaignName" text,
      "status" text, "effectiveStatus" text, "createdTime" timestamptz, "updatedTime" timestamptz)
    on conflict (tenant_id, ad_id) do update set
      ad_name = excluded.ad_name, adset_id = excluded.adset_id, adset_name = excluded.adset_name,
      campaign_id = excluded.campaign_id, campaign_name = excluded.campaign_name, status = excluded.status,
      effective_status = excluded.effective_status, created_time = excluded.created_time,
      updated_time = excluded.updated_time, last_synced_at = excluded.last_synced_at, updated_at = now()`;
  return rows.length;
}

/** Upserts `meta_ad_creatives` (one per ad) of the transaction's tenant. Returns rows written. */
export async function upsertCreatives(tx: TransactionSql, tenantId: string, input: CreativeRow[]): Promise<number> {
  const rows = lastPerKey(input, (r) => r.adId);
  if (rows.length === 0) return 0;
  await tx`
    insert into meta_ad_creatives (tenant_id, ad_id, creative_id, title, body, thumbnail_url, preview_url,
                                   video_id, media_type, updated_at)
    select ${tenantId}::uuid, t.*, now()
    from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as t(
      "adId" text, "creativeId" text, "title" text, "body" text, "thumbnailUrl" text, "previewUrl" text,
      "videoId" text, "mediaType" text)
    on conflict (tenant_id, ad_id) do update set
      creative_id = excluded.creative_id, title = excluded.title, body = excluded.body,
      thumbnail_url = excluded.thumbnail_url, preview_url = excluded.preview_url, video_id = excluded.video_id,
      media_type = excluded.media_type, updated_at = now()`;
  return rows.length;
}

/**
 * Upserts daily insights, one row per (ad, date): a re-pulled day whose figures changed (Meta
 * restates recent days) overwrites its row in place, never adds one; an unchanged day is left
 * alone, so re-pulling the whole lookback window every run writes only what changed and
 * `synced_at` is when the row's figures last changed. Spend is stored in minor units of the row's
 * `currency` (the ad account's). Returns rows received (after de-duplication).
 */
export async function upsertInsights(tx: TransactionSql, tenantId: string, input: InsightRow[]): Promise<number> {
  const rows = lastPerKey(input, (r) => `${r.adId}|${r.date}`);
  if (rows.length === 0) return 0;
  await tx`
    insert into meta_ad_insights (tenant_id, ad_id, date, spend_cents, currency, impressions, clicks, reach,
                                  link_clicks, landing_page_views, leads, actions, synced_at)
    select ${tenantId}::uuid, t.*, now()
    from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as t(
      "adId" text, "date" date, "spendCents" int8, "currency" text, "impressions" int8, "clicks" int8, "reach" int8,
      "linkClicks" int8, "landingPageViews" int8, "leads" int8, "actions" jsonb)
    on conflict (tenant_id, ad_id, date) do update set
      spend_cents = excluded.spend_cents, currency = excluded.currency, impressions = excluded.impressions,
      clicks = excluded.clicks, reach = excluded.reach, link_clicks = excluded.link_clicks,
      landing_page_views = excluded.landing_page_views, leads = excluded.leads, actions = excluded.actions,
      synced_at = excluded.synced_at
    where (meta_ad_insights.spend_cents, meta_ad_insights.currency, meta_ad_insights.impressions, meta_ad_insights.clicks,
           meta_ad_insights.reach, meta_ad_insights.link_clicks, meta_ad_insights.landing_page_views, meta_ad_insights.leads,
           meta_ad_insights.actions)
      is distinct from
          (excluded.spend_cents, excluded.currency, excluded.impressions, excluded.clicks, excluded.reach,
           excluded.link_clicks, excluded.landing_page_views, excluded.leads, excluded.actions)`;
  return rows.length;
}
