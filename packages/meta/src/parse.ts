import { decimalToMinorUnits } from '@mcb/core';
import { z } from 'zod';

/** `fields=` of the ads request: ad set, campaign and creative expanded in the same call (no request per ad). */
export const adFields = [
  'id',
  'name',
  'status',
  'effective_status',
  'created_time',
  'updated_time',
  'preview_shareable_link',
  'adset{id,name}',
  'campaign{id,name}',
  'creative{id,title,body,thumbnail_url,image_url,video_id,object_type}',
].join(',');

/**
 * `fields=` of the ad-level daily insights request. `account_currency` is the currency `spend` is in
 * (an ad account has one): without it a ¥5,000 day cannot be told from $5,000.
 */
export const insightFields = [
  'ad_id',
  'date_start',
  'date_stop',
  'account_currency',
  'spend',
  'impressions',
  'clicks',
  'reach',
  'actions',
].join(',');

/**
 * Every ad effective status, so paused, archived and deleted ads are returned too: Meta omits
 * ARCHIVED (and DELETED) from edges unless they are asked for explicitly.
 */
export const allAdEffectiveStatuses = [
  'ACTIVE',
  'PAUSED',
  'DELETED',
  'PENDING_REVIEW',
  'DISAPPROVED',
  'PREAPPROVED',
  'PENDING_BILLING_INFO',
  'CAMPAIGN_PAUSED',
  'ARCHIVED',
  'ADSET_PAUSED',
  'IN_PROCESS',
  'WITH_ISSUES',
] as const;

const ref = z.object({ id: z.string(), name: z.string().nullish() }).partial({ name: true });

export const rawAdSchema = z.object({
  id: z.string().min(1),
  name: z.string().nullish(),
  status: z.string().nullish(),
  effective_status: z.string().nullish(),
  created_time: z.string().nullish(),
  updated_time: z.string().nullish(),
  preview_shareable_link: z.string().nullish(),
  adset: ref.nullish(),
  campaign: ref.nullish(),
  adset_id: z.string().nullish(),
  campaign_id: z.string().nullish(),
  creative: z
    .object({
      id: z.string(),
      title: z.string().nullish(),
      body: z.string().nullish(),
      thumbnail_url: z.string().nullish(),
      image_url: z.string().nullish(),
      video_id: z.string().nullish(),
      object_type: z.string().nullish(),
    })
    .nullish(),
});
export type RawAd = z.infer<typeof rawAdSchema>;

/** One element of the ad-level daily insights edge, as `readInsight` accepts it. */
export interface RawInsight {
  ad_id: string;
  date_start: string;
  /** ISO 4217, as Meta writes it (`USD`, `JPY`). */
  account_currency?: string | null;
  spend?: string | number | null;
  impressions?: string | number | null;
  clicks?: string | number | null;
  reach?: string | number | null;
  actions?: Array<{ action_type: string; value: string | number }> | null;
}

/** A `meta_ads` row. */
export interface AdRow {
  adId: string;
  adName: string | null;
  adsetId: string | null;
  adsetName: string | null;
  campaignId: string | null;
  campaignName: string | null;
  status: string | null;
  effectiveStatus: string | null;
  createdTime: string | null;
  updatedTime: string | null;
}

/** A `meta_ad_creatives` row (one per ad). */
export interface CreativeRow {
  adId: string;
  creativeId: string;
  title: string | null;
  body: string | null;
  thumbnailUrl: string | null;
  previewUrl: string | null;
  videoId: string | null;
  mediaType: string | null;
}

/** A `meta_ad_insights` row: one ad, one day (the ad account's time zone). */
export interface InsightRow {
  adId: string;
  date: string;
  /** Spend in integer minor units of `currency` (cents, yen, fils). */
  spendCents: number;
  /** The ad account's currency, lowercase; null when Meta did not say (spend then read with two decimals). */
  currency: string | null;
  impressions: number;
  clicks: number;
  reach: number;
  linkClicks: number;
  landingPageViews: number;
  leads: number;
  actions: Array<{ action_type: string; value: string }>;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Meta's `spend` (a decimal amount in the ad account's currency: "12.34" USD, "5000" JPY, "1.234" KWD)
 * → integer minor units of that currency (1234, 5000, 1234), exactly (no float math), with the
 * currency's exponent (`currencyDecimals`). A digit beyond it rounds half up. Empty is 0; anything
 * that is not a plain decimal is null.
 */
export function spendToMinorUnits(value: string | number | null | undefined, currency: string): number | null {
  if (value == null || value === '') return 0;
  return decimalToMinorUnits(typeof value === 'number' ? String(value) : value, currency);
}

function count(value: string | number | null | undefined): number | null {
  if (value == null || value === '') return 0;
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** Meta's ISO times come as `2026-01-15T10:20:30-0800`; make the offset `-08:00` so every parser accepts it. */
export function normalizeGraphTime(value: string | null | undefined): string | null {
  if (!value) return null;
  const iso = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  return Number.isNaN(Date.parse(iso)) ? null : new Date(iso).toISOString();
}

function mediaTypeOf(c: NonNullable<RawAd['creative']>): string | null {
  if (c.video_id) return 'video';
  if (c.object_type) return c.object_type.toLowerCase();
  return c.image_url ? 'image' : null;
}

/** One element of the ads edge → its `meta_ads` row and, when it has one, its creative row. */
export function parseAd(input: unknown): ParseResult<{ ad: AdRow; creative: CreativeRow | null }> {
  const r = rawAdSchema.safeParse(input);
  if (!r.success) return { ok: false, error: r.error.issues[0]?.message ?? 'invalid ad' };
  const a = r.data;
  const ad: AdRow = {
    adId: a.id,
    adName: a.name ?? null,
    adsetId: a.adset?.id ?? a.adset_id ?? null,
    adsetName: a.adset?.name ?? null,
    campaignId: a.campaign?.id ?? a.campaign_id ?? null,
    campaignName: a.campaign?.name ?? null,
    status: a.status ?? null,
    effectiveStatus: a.effective_status ?? null,
    createdTime: normalizeGraphTime(a.created_time),
    updatedTime: normalizeGraphTime(a.updated_time),
  };
  const c = a.creative;
  const creative: CreativeRow | null = c
    ? {
        adId: a.id,
        creativeId: c.id,
        title: c.title ?? null,
        body: c.body ?? null,
        thumbnailUrl: c.thumbnail_url ?? null,
        previewUrl: a.preview_shareable_link ?? c.image_url ?? null,
        videoId: c.video_id ?? null,
        mediaType: mediaTypeOf(c),
      }
    : null;
  return { ok: true, value: { ad, creative } };
}

// `lead` is Meta's total of on-Facebook and pixel leads; the two parts are only summed when it is absent.
const leadParts = ['onsite_conversion.lead_grouped', 'offsite_conversion.fb_pixel_lead'];

const datePattern = /^\d{4}-\d{2}-\d{2}$/;
const currencyPattern = /^[A-Za-z]{3}$/;
const isCount = (v: unknown) => v == null || typeof v === 'string' || typeof v === 'number';

/** Hand-written validation (no zod on this hot path: ~100k rows per sync). */
function readInsight(input: unknown): RawInsight | string {
  if (typeof input !== 'object' || input === null) return 'insight is not an object';
  const i = input as Record<string, unknown>;
  if (typeof i.ad_id !== 'string' || !i.ad_id) return 'insight has no ad_id';
  if (typeof i.date_start !== 'string' || !datePattern.test(i.date_start)) return 'insight has no date_start';
  if (!isCount(i.spend) || !isCount(i.impressions) || !isCount(i.clicks) || !isCount(i.reach)) return `bad figures for ad ${i.ad_id}`;
  if (i.account_currency != null && (typeof i.account_currency !== 'string' || !currencyPattern.test(i.account_currency)))
    return `account_currency is not a currency code for ad ${i.ad_id}`;
  if (i.actions != null) {
    if (!Array.isArray(i.actions)) return `actions is not a list for ad ${i.ad_id}`;
    for (const a of i.actions as Array<Record<string, unknown> | null>)
      if (!a || typeof a.action_type !== 'string' || (typeof a.value !== 'string' && typeof a.value !== 'number'))
        return `bad action for ad ${i.ad_id}`;
  }
  return i as unknown as RawInsight;
}

/** One element of the ad-level daily insights edge → its `meta_ad_insights` row. */
export function parseInsight(input: unknown): ParseResult<InsightRow> {
  const i = readInsight(input);
  if (typeof i === 'string') return { ok: false, error: i };
  const currency = i.account_currency ? i.account_currency.toLowerCase() : null;
  // Without a currency (Meta always sends it when asked), two decimals: what this sync stored before.
  const spendCents = spendToMinorUnits(i.spend, currency ?? 'usd');
  const impressions = count(i.impressions);
  const clicks = count(i.clicks);
  const reach = count(i.reach);
  if (spendCents === null) return { ok: false, error: `spend is not a decimal amount for ad ${i.ad_id} on ${i.date_start}` };
  if (impressions === null || clicks === null || reach === null)
    return { ok: false, error: `a count is not a whole number for ad ${i.ad_id} on ${i.date_start}` };
  const actions = (i.actions ?? []).map((a) => ({ action_type: a.action_type, value: String(a.value) }));
  const byType = new Map<string, number>();
  for (const a of actions) byType.set(a.action_type, (byType.get(a.action_type) ?? 0) + (count(a.value) ?? 0));
  const leads = byType.has('lead') ? (byType.get('lead') ?? 0) : leadParts.reduce((s, t) => s + (byType.get(t) ?? 0), 0);
  return {
    ok: true,
    value: {
      adId: i.ad_id,
      date: i.date_start,
      spendCents,
      currency,
      impressions,
      clicks,
      reach,
      linkClicks: byType.get('link_click') ?? 0,
      landingPageViews: byType.get('landing_page_view') ?? 0,
      leads,
      actions,
    },
  };
}
