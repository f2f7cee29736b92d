import { describe, expect, it } from 'vitest';
import { insightFields, normalizeGraphTime, parseAd, parseInsight, spendToMinorUnits } from './parse';

describe('spendToMinorUnits in USD (cents)', () => {
  const dollarsToCents = (value: string | null) => spendToMinorUnits(value, 'usd');
  it.each([
    ['12.34', 1234],
    ['0.5', 50],
    ['7', 700],
    ['0.07', 7],
    ['1234567.89', 123456789],
    ['0.105', 11],
    ['0.104', 10],
    ['19.99', 1999],
    ['', 0],
    [null, 0],
  ])('%s → %s cents exactly', (input, cents) => {
    expect(dollarsToCents(input)).toBe(cents);
  });
  it('rejects anything that is not a plain decimal', () => {
    expect(dollarsToCents('1e3')).toBeNull();
    expect(dollarsToCents('12,34')).toBeNull();
    expect(dollarsToCents('abc')).toBeNull();
  });
  it('has no float drift over many values', () => {
    for (let c = 0; c < 20_000; c += 7) expect(dollarsToCents(`${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`)).toBe(c);
  });
});

// A JPY ad account's ¥5,000 day was stored as 500000 (×100 whatever the currency).
describe('spendToMinorUnits', () => {
  it.each([
    ['5000', 'JPY', 5000],
    ['5000', 'jpy', 5000],
    ['12.34', 'USD', 1234],
    ['1.234', 'KWD', 1234],
    ['0.5', 'KWD', 500],
    ['1234.56', 'GBP', 123456],
    ['1234.56', 'EUR', 123456],
    ['4999.5', 'JPY', 5000],
    ['', 'JPY', 0],
    [null, 'KWD', 0],
    [7, 'JPY', 7],
  ] as const)('%s %s → %s minor units exactly', (input, currency, minor) => {
    expect(spendToMinorUnits(input, currency)).toBe(minor);
  });
  it('rejects anything that is not a plain decimal', () => {
    expect(spendToMinorUnits('1e3', 'JPY')).toBeNull();
    expect(spendToMinorUnits('5,000', 'JPY')).toBeNull();
  });
});

describe('parseInsight', () => {
  const base = {
    ad_id: '1',
    date_start: '2026-03-01',
    date_stop: '2026-03-01',
    spend: '10.01',
    impressions: '100',
    clicks: '5',
    reach: '80',
  };
  it('takes leads, link clicks and landing-page views from actions', () => {
    const r = parseInsight({
      ...base,
      actions: [
        { action_type: 'link_click', value: '4' },
        { action_type: 'landing_page_view', value: '3' },
        { action_type: 'lead', value: '2' },
        { action_type: 'onsite_conversion.lead_grouped', value: '2' },
      ],
    });
    expect(r).toEqual({
      ok: true,
      value: expect.objectContaining({
        spendCents: 1001,
        impressions: 100,
        clicks: 5,
        reach: 80,
        linkClicks: 4,
        landingPageViews: 3,
        leads: 2,
      }),
    });
  });
  it('asks for the account currency and stores spend in its minor units, with the currency (lowercase)', () => {
    expect(insightFields.split(',')).toContain('account_currency');
    const yen = parseInsight({ ...base, spend: '5000', account_currency: 'JPY' });
    expect(yen.ok && [yen.value.spendCents, yen.value.currency]).toEqual([5000, 'jpy']);
    const dinar = parseInsight({ ...base, spend: '1.234', account_currency: 'KWD' });
    expect(dinar.ok && [dinar.value.spendCents, dinar.value.currency]).toEqual([1234, 'kwd']);
    const dollars = parseInsight({ ...base, spend: '12.34', account_currency: 'USD' });
    expect(dollars.ok && [dollars.value.spendCents, dollars.value.currency]).toEqual([1234, 'usd']);
    // Without it (Meta sends it when asked): two decimals, as before, and no currency.
    const unknown = parseInsight({ ...base, spend: '12.34' });
    expect(unknown.ok && [unknown.value.spendCents, unknown.value.currency]).toEqual([1234, null]);
    expect(parseInsight({ ...base, account_currency: 'yen!' })).toEqual({ ok: false, error: expect.stringContaining('ad 1') });
  });
  it('sums on-Facebook and pixel leads only when the `lead` total is absent', () => {
    const r = parseInsight({
      ...base,
      actions: [
        { action_type: 'onsite_conversion.lead_grouped', value: '2' },
        { action_type: 'offsite_conversion.fb_pixel_lead', value: '3' },
      ],
    });
    expect(r.ok && r.value.leads).toBe(5);
  });
  it('no actions → zeros; bad spend → an error naming ad and date, never a throw', () => {
    const r = parseInsight(base);
    expect(r.ok && [r.value.leads, r.value.linkClicks, r.value.actions]).toEqual([0, 0, []]);
    expect(parseInsight({ ...base, spend: 'N/A' })).toEqual({ ok: false, error: expect.stringContaining('ad 1 on 2026-03-01') });
    expect(parseInsight({ nope: true }).ok).toBe(false);
    expect(parseInsight(null).ok).toBe(false);
  });
});

describe('parseAd', () => {
  it('maps the expanded ad set, campaign and creative', () => {
    const r = parseAd({
      id: '9',
      name: 'A',
      status: 'ACTIVE',
      effective_status: 'CAMPAIGN_PAUSED',
      created_time: '2026-01-05T09:30:00-0800',
      adset: { id: '8', name: 'S' },
      campaign: { id: '7', name: 'C' },
      creative: { id: '6', title: 'T', body: 'B', thumbnail_url: 'https://t', image_url: 'https://i', object_type: 'SHARE' },
    });
    expect(r).toEqual({
      ok: true,
      value: {
        ad: expect.objectContaining({
          adId: '9',
          adsetName: 'S',
          campaignId: '7',
          effectiveStatus: 'CAMPAIGN_PAUSED',
          createdTime: '2026-01-05T17:30:00.000Z',
        }),
        creative: expect.objectContaining({ creativeId: '6', previewUrl: 'https://i', mediaType: 'share' }),
      },
    });
  });
  it('an ad without creative has no creative row', () => {
    expect(parseAd({ id: '1' })).toEqual({ ok: true, value: { ad: expect.objectContaining({ adId: '1' }), creative: null } });
  });
});

describe('normalizeGraphTime', () => {
  it('accepts Meta offsets without a colon', () => {
    expect(normalizeGraphTime('2026-07-01T00:00:00+0000')).toBe('2026-07-01T00:00:00.000Z');
    expect(normalizeGraphTime('garbage')).toBeNull();
  });
});
