import type { TenantStats } from '@mcb/db';
import { describe, expect, it } from 'vitest';
import {
  describeCashCollected,
  describeCashCollectedTotal,
  describeStatsPeriod,
  describeStatsTotals,
  describeTenantStats,
  parseStatsQuery,
  resolveStatsPeriod,
  statsCellText,
  statsColumns,
} from './stats';

const now = new Date('2026-11-28T12:00:00.000Z');

/** A tenant's stats with every figure 0 unless given. */
function stats(over: Partial<TenantStats> = {}): TenantStats {
  return {
    tenantId: '00000000-0000-4000-8000-000000000001',
    slug: 'acme',
    name: 'Acme',
    isActive: true,
    logs: { received: 0, pending: 0, processed: 0, failed: 0, ignored: 0, rejected: 0 },
    failedWillRetry: 0,
    waiting: 0,
    lastEventAt: null,
    contacts: { new: 0, total: 0 },
    funnelEvents: { count: 0, contacts: 0 },
    currency: 'usd',
    revenueCents: 0,
    revenueOtherCurrencies: {},
    disputedCents: 0,
    disputedOtherCurrencies: {},
    capi: { sent: 0, skipped: 0, failed: 0, pending: 0 },
    ...over,
  };
}

const text = (cells: ReturnType<typeof describeTenantStats>) => statsColumns.map(([key]) => statsCellText(cells[key]));

describe('resolveStatsPeriod', () => {
  it('covers the last 7 days unless since is given; until defaults to now', () => {
    expect(resolveStatsPeriod({}, now)).toEqual({ since: new Date('2026-11-21T12:00:00.000Z'), until: now });
    expect(resolveStatsPeriod({ since: '24h', until: '2026-11-28' }, now)).toEqual({
      since: new Date('2026-11-27T12:00:00.000Z'),
      until: new Date('2026-11-28T00:00:00.000Z'),
    });
  });

  it('refuses an unreadable time and a window that ends before it starts, naming them as typed', () => {
    expect(() => resolveStatsPeriod({ since: 'soon' }, now)).toThrow('Invalid time "soon"');
    expect(() => resolveStatsPeriod({ since: '1d', until: '7d' }, now)).toThrow('Invalid time window: since 1d is not before until 7d');
    expect(() => resolveStatsPeriod({ until: 'later' }, now)).toThrow(expect.objectContaining({ code: 'bad_request' }));
  });

  it('refuses an empty period or one starting in the future, until now included', () => {
    expect(() => resolveStatsPeriod({ since: '0d' }, now)).toThrow('Invalid time window: since 0d is not before until now');
    expect(() => resolveStatsPeriod({ since: '2026-12-01' }, now)).toThrow('Invalid time window: since 2026-12-01 is not before until now');
  });

  it('with until alone, covers the 7 days before it (not from now)', () => {
    expect(resolveStatsPeriod({ until: '2026-11-01' }, now)).toEqual({
      since: new Date('2026-10-25T00:00:00.000Z'),
      until: new Date('2026-11-01T00:00:00.000Z'),
    });
    expect(resolveStatsPeriod({ until: '3d' }, now)).toEqual({
      since: new Date('2026-11-18T12:00:00.000Z'),
      until: new Date('2026-11-25T12:00:00.000Z'),
    });
  });
});

describe('parseStatsQuery', () => {
  it('takes tenant, since and until, and refuses anything else by name', () => {
    expect(parseStatsQuery({ tenant: 'acme', since: '7d' })).toEqual({ tenant: 'acme', since: '7d' });
    // A blank value is no value, whichever the parameter (a form sent with empty fields).
    expect(parseStatsQuery({ tenant: '', since: ' ', until: '' })).toEqual({});
    expect(() => parseStatsQuery({ tenat: 'acme', statsu: 'x' })).toThrow(
      expect.objectContaining({ code: 'bad_request', message: 'Unknown parameter tenat, statsu: the stats take tenant, since, until' }),
    );
  });
});

describe('the stats as operators read them (mcb stats, the console)', () => {
  const pounds = stats({
    slug: 'pounds',
    logs: { received: 8, pending: 2, processed: 3, failed: 2, ignored: 1, rejected: 1 },
    failedWillRetry: 1,
    waiting: 1,
    lastEventAt: new Date('2026-11-20T14:30:45.123Z'),
    contacts: { new: 2, total: 3 },
    funnelEvents: { count: 3, contacts: 2 },
    currency: 'gbp',
    revenueCents: 57_200,
    revenueOtherCurrencies: { usd: 2_500, jpy: 5_000 },
    disputedCents: 49_700,
    capi: { sent: 2, skipped: 0, failed: 1, pending: 1 },
  });
  const dollars = stats({
    slug: 'dollars',
    isActive: false,
    logs: { received: 4, pending: 0, processed: 3, failed: 1, ignored: 0, rejected: 2 },
    revenueCents: 280_000,
    revenueOtherCurrencies: { gbp: 1_000 },
    disputedOtherCurrencies: { gbp: 1_000 },
  });

  it('a row: counts, the failed that will retry, money in the tenant currency with other currencies and disputes as notes', () => {
    expect(text(describeTenantStats(pounds))).toEqual([
      'pounds',
      'yes',
      '8',
      '3',
      '2 (1 will retry)',
      '1',
      '1',
      '2',
      '1',
      '2026-11-20 14:30Z',
      '2 (3 total)',
      '3',
      '£572.00 (+ ¥5,000 + $25.00) (includes £497.00 in disputed payments)',
      '2 (+1 pending)',
      '1',
    ]);
    expect(describeCashCollected(pounds)).toEqual({
      value: '£572.00',
      notes: ['(+ ¥5,000 + $25.00)', '(includes £497.00 in disputed payments)'],
    });
    expect(text(describeTenantStats(dollars))).toEqual([
      'dollars',
      'no',
      '4',
      '3',
      '1',
      '0',
      '2',
      '0',
      '0',
      '-',
      '0 (0 total)',
      '0',
      '$2,800.00 (+ £10.00) (includes £10.00 in disputed payments)',
      '0',
      '0',
    ]);
  });

  it('the ALL row: counts summed with the notes of a row, the newest last event, cash summed per currency with the disputed part of all', () => {
    expect(text(describeStatsTotals([pounds, dollars]))).toEqual([
      'ALL',
      '',
      '12',
      '6',
      '3 (1 will retry)',
      '1',
      '3',
      '2',
      '1',
      '2026-11-20 14:30Z',
      '2 (3 total)',
      '3',
      '£582.00 + ¥5,000 + $2,825.00 (includes £507.00 in disputed payments)',
      '2 (+1 pending)',
      '1',
    ]);
  });

  it('nothing collected: 0 in the one currency every tenant reports in, else a bare 0', () => {
    expect(statsCellText(describeCashCollected(stats({ currency: 'jpy' })))).toBe('¥0');
    expect(statsCellText(describeCashCollectedTotal([stats(), stats({ slug: 'b' })]))).toBe('$0.00');
    expect(statsCellText(describeCashCollectedTotal([stats(), stats({ currency: 'gbp' })]))).toBe('0');
    // A refund that cancels a sale shows as nothing collected, with no disputed note.
    expect(statsCellText(describeCashCollectedTotal([stats({ revenueCents: 0, disputedCents: 0 })]))).toBe('$0.00');
  });

  it('the period line', () => {
    expect(describeStatsPeriod({ since: new Date('2026-11-21T12:00:00.000Z'), until: now })).toBe(
      'Period 2026-11-21T12:00:00.000Z – 2026-11-28T12:00:00.000Z',
    );
  });
});
