/** Deterministic ad data of one fake ad account (no randomness: tests can recompute every figure). */

export const fakeAdStatuses = ['ACTIVE', 'PAUSED', 'ACTIVE', 'ARCHIVED', 'ACTIVE', 'CAMPAIGN_PAUSED', 'DELETED', 'ADSET_PAUSED'] as const;

export interface FakeAd {
  id: string;
  name: string;
  status: string;
  effectiveStatus: string;
  adsetId: string;
  campaignId: string;
  creativeId: string;
  index: number;
}

/** Bare numeric id of `act_123` / `123`. */
export function bareAccountId(id: string): string {
  return id.replace(/^act_/, '');
}

/** The `count` ads of an account; ids are unique across accounts. */
export function generateAds(accountId: string, count: number): FakeAd[] {
  const acct = bareAccountId(accountId);
  return Array.from({ length: count }, (_, i) => {
    const effectiveStatus = fakeAdStatuses[i % fakeAdStatuses.length] as string;
    const status = ['ACTIVE', 'PAUSED', 'ARCHIVED', 'DELETED'].includes(effectiveStatus) ? effectiveStatus : 'ACTIVE';
    const campaign = Math.floor(i / 50);
    const adset = Math.floor(i / 10);
    return {
      id: `${acct}${String(i).padStart(6, '0')}`,
      name: `Ad ${i}`,
      status,
      effectiveStatus,
      adsetId: `${acct}8${String(adset).padStart(5, '0')}`,
      campaignId: `${acct}7${String(campaign).padStart(5, '0')}`,
      creativeId: `${acct}9${String(i).padStart(6, '0')}`,
      index: i,
    };
  });
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Generated daily figures of one ad on one date (spend in cents). */
export function generatedDay(adId: string, date: string) {
  const h = hash(`${adId}|${date}`);
  const spendCents = h % 50_000;
  const impressions = 100 + (h % 9_000);
  const clicks = h % 200;
  return {
    spendCents,
    impressions,
    clicks,
    reach: Math.floor(impressions * 0.8),
    linkClicks: Math.floor(clicks / 2),
    landingPageViews: Math.floor(clicks / 3),
    leads: h % 7,
  };
}

/** Minor units as Meta writes `spend`, with the account currency's decimals: 123456 → "1234.56"; 5000 with 0 → "5000". */
export function minorUnitsToDecimal(minor: number, decimals: 0 | 2 | 3 = 2): string {
  const sign = minor < 0 ? '-' : '';
  const digits = String(Math.abs(minor)).padStart(decimals + 1, '0');
  return decimals ? `${sign}${digits.slice(0, -decimals)}.${digits.slice(-decimals)}` : `${sign}${digits}`;
}

/** Every date from `since` to `until` inclusive. */
export function datesBetween(since: string, until: string): string[] {
  const out: string[] = [];
  const d = new Date(`${since}T00:00:00Z`);
  const end = new Date(`${until}T00:00:00Z`);
  while (d <= end) {
    out.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}
