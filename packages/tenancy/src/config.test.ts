import { InvalidConfig } from '@mcb/core';
import { describe, expect, it } from 'vitest';
import { cronProblem, mergeTenantConfig, parseTenantConfig, validateTenantConfig } from './config';

const refusal = (config: unknown) => {
  try {
    validateTenantConfig(config);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfig);
    return (err as Error).message;
  }
  throw new Error('config was accepted');
};

describe('tenant config on write (issue 16, SPEC §5)', () => {
  it('refuses a report cron that does not parse, with one line naming the field', () => {
    for (const schedule of ['61 99 * * *', 'every-monday', '* * *', '0 8 * * 1 2026', '0 8 31 2 *', '']) {
      const message = refusal({ report: { schedule } });
      expect(message).toMatch(/^Invalid tenant config: report\.schedule: /);
      expect(message).toContain(JSON.stringify(schedule));
      expect(message).not.toContain('\n');
    }
    expect(refusal({ report: { schedule: '61 99 * * *' } })).toContain('expected range 0-59');
  });

  it('accepts real crons and aliases', () => {
    for (const schedule of ['0 8 * * 1', '30 7 * * MON', '0 9 * * 1-5', '@weekly']) {
      expect(() => validateTenantConfig({ report: { schedule } })).not.toThrow();
      expect(cronProblem(schedule)).toBeNull();
    }
    expect(() => validateTenantConfig({})).not.toThrow();
  });

  it('checks every field and refuses unknown ones', () => {
    expect(refusal({ timezone: 'Mars/Olympus' })).toBe('Invalid tenant config: timezone: must be an IANA time zone, e.g. America/New_York');
    expect(refusal({ timezone: 'XYZ' })).toBe('Invalid tenant config: timezone: must be an IANA time zone, e.g. America/New_York');
    // Walk of the README, stop 34: `--timezone EST` was stored as America/Panama, UTC−5 all year, for a New
    // York client (report weeks an hour off from March to November). Abbreviations name no region: refused.
    expect(refusal({ timezone: 'EST' })).toBe(
      'Invalid tenant config: timezone: "EST" is an abbreviation, not a region\'s zone (it would be read as America/Panama, GMT-05:00 in January): name the region, e.g. America/New_York for US Eastern with daylight saving',
    );
    for (const tz of ['MST', 'CET', 'PST', 'EST5EDT']) expect(refusal({ timezone: tz })).toMatch(/is an abbreviation, not a region's zone/);
    // UTC and GMT are what they say; regions are accepted in any case and stored canonical.
    for (const tz of ['UTC', 'utc', 'GMT', 'Etc/GMT+5', 'US/Eastern', 'europe/london'])
      expect(() => validateTenantConfig({ timezone: tz }), tz).not.toThrow();
    expect(parseTenantConfig({ timezone: 'GMT' }).timezone).toBe('UTC');
    expect(refusal({ report: { recipients: ['not-an-email'] } })).toMatch(/^Invalid tenant config: report\.recipients\.0: /);
    expect(refusal({ deposit_amount_cents: 99.5 })).toMatch(/^Invalid tenant config: deposit_amount_cents: /);
    expect(refusal({ meta: { sync_every: '0h' } })).toBe('Invalid tenant config: meta.sync_every: must look like 30m, 6h or 1d');
    expect(refusal({ meta: { lookback_days: 365 } })).toMatch(/^Invalid tenant config: meta\.lookback_days: /);
    expect(refusal({ ghl: { stage_map: { 'DC BOOKED': 'booked-ish' } } })).toMatch(
      /^Invalid tenant config: ghl\.stage_map\.DC BOOKED: must be a funnel event type \(contact_subscribed, .*, ignored\)$/,
    );
    expect(refusal({ ghl: { location_ids: [''] } })).toMatch(/^Invalid tenant config: ghl\.location_ids\.0: /);
    expect(refusal({ reprot: { schedule: '0 8 * * 1' } })).toBe('Invalid tenant config: unknown field reprot');
    expect(refusal({ report: { schedul: '0 8 * * 1' } })).toBe('Invalid tenant config: unknown field report.schedul');
    expect(() =>
      validateTenantConfig({
        timezone: 'America/New_York',
        report: { schedule: '0 8 * * 1', recipients: ['owner@example.com'] },
        deposit_amount_cents: 5000,
        ghl: { stage_map: { 'DC BOOKED': 'appointment_scheduled', 'NO SHOW': 'ignored', Forms: 'form_filled' }, location_ids: ['loc1'] },
        perspective: { ignore_funnels: ['test'] },
        meta: { sync_every: '12h', lookback_days: 14 },
      }),
    ).not.toThrow();
  });

  it('takes a reporting currency (ISO 4217, any case; usd by default) and refuses a code that is not one', () => {
    expect(refusal({ currency: 'dollars' })).toBe(
      'Invalid tenant config: currency: must be an ISO 4217 currency code, e.g. usd, eur, gbp or jpy',
    );
    expect(refusal({ currency: 'xyz' })).toMatch(/^Invalid tenant config: currency: /);
    expect(refusal({ currency: 826 })).toMatch(/^Invalid tenant config: currency: /);
    // Review: 'uſd' upper-cases to USD but was stored as 'uſd', matching none of the tenant's 'usd' payments.
    for (const currency of ['u\u017fd', '\u0131nr', ' usd']) expect(refusal({ currency })).toMatch(/^Invalid tenant config: currency: /);
    for (const currency of ['gbp', 'EUR', 'jpy', 'KWD']) expect(() => validateTenantConfig({ currency })).not.toThrow();
    expect(parseTenantConfig({}).currency).toBe('usd');
    expect(parseTenantConfig({ currency: 'GBP' }).currency).toBe('gbp');
  });

  it('takes the country phones in national form are in (ISO 3166-1 alpha-2, any case; none by default) and refuses one that is not', () => {
    const rule =
      'Invalid tenant config: phone_country: must be an ISO 3166-1 alpha-2 country code, e.g. GB (the United Kingdom), US, DE or JP';
    for (const phone_country of ['UK', 'GBR', 'England', 'XX', '44', '', ' GB', '\u0131n'])
      expect(refusal({ phone_country }), phone_country).toBe(rule);
    expect(refusal({ phone_country: 44 })).toBe('Invalid tenant config: phone_country: must be text, not 44');
    for (const phone_country of ['GB', 'gb', 'US', 'CA', 'DE', 'FR', 'JP', null]) {
      expect(() => validateTenantConfig({ phone_country }), String(phone_country)).not.toThrow();
    }
    expect(parseTenantConfig({}).phone_country).toBeNull();
    expect(parseTenantConfig({ phone_country: 'gb' }).phone_country).toBe('GB');
    expect(parseTenantConfig({ phone_country: null }).phone_country).toBeNull();
    // Lenient on read: a value stored by hand loads (normalizePhone reads it as no country).
    expect(parseTenantConfig({ phone_country: 'UK' }).phone_country).toBe('UK');
  });

  it('stays lenient on read: a config stored before a rule existed still loads', () => {
    expect(parseTenantConfig({ report: { schedule: 'every-monday' }, legacy: true }).report.schedule).toBe('every-monday');
  });
});

describe('mergeTenantConfig (tenant update --config)', () => {
  it('merges nested objects key by key, so setting report.schedule keeps the recipients', () => {
    const stored = { timezone: 'UTC', report: { schedule: '0 8 * * 1', recipients: ['a@example.com'] } };
    expect(mergeTenantConfig(stored, { report: { schedule: '0 9 * * 1' } })).toEqual({
      timezone: 'UTC',
      report: { schedule: '0 9 * * 1', recipients: ['a@example.com'] },
    });
    expect(mergeTenantConfig(stored, { report: { recipients: [] } }).report).toEqual({ schedule: '0 8 * * 1', recipients: [] });
  });

  it('keeps a "__proto__" key as a plain field (refused on write), never a prototype', () => {
    const merged = mergeTenantConfig({}, JSON.parse('{"__proto__": {"polluted": true}}'));
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(refusal(merged)).toBe('Invalid tenant config: unknown field __proto__');
  });
});
