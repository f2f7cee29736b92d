import { describe, expect, it } from 'vitest';
import {
  adSpendNote,
  formatCents,
  formatChange,
  formatCount,
  formatOptionalCents,
  formatPercent,
  formatRoas,
  formatWeekRange,
  formatWeekRangeWithYear,
  leadSourcesForReport,
  oneLine,
  otherCurrenciesLine,
  plural,
} from './format';

describe('email formatting', () => {
  it('formats integer cents exactly, with separators and a leading minus', () => {
    expect(formatCents(0)).toBe('$0.00');
    expect(formatCents(5)).toBe('$0.05');
    expect(formatCents(497500)).toBe('$4,975.00');
    expect(formatCents(123456789)).toBe('$1,234,567.89');
    expect(formatCents(-50000)).toBe('-$500.00');
    expect(formatCents(900719925474099)).toBe('$9,007,199,254,740.99');
  });

  // Every amount read as US dollars: a GBP tenant's "£" was "$", a JPY tenant's ¥5,000 was "$50.00".
  it("formats minor units in the report's currency: its symbol and decimals, exactly", () => {
    expect(formatCents(123456, 'usd')).toBe('$1,234.56');
    expect(formatCents(123456, 'gbp')).toBe('£1,234.56');
    expect(formatCents(123456, 'eur')).toBe('€1,234.56');
    expect(formatCents(5000, 'jpy')).toBe('¥5,000');
    expect(formatCents(1234, 'kwd')).toBe('KWD\u00a01.234');
    expect(formatCents(-50000, 'gbp')).toBe('-£500.00');
    expect(formatCents(-5000, 'jpy')).toBe('-¥5,000');
    expect(formatCents(-1234, 'kwd')).toBe('-KWD\u00a01.234');
    expect(formatCents(123456789, 'eur')).toBe('€1,234,567.89');
    expect(formatCents(1234567890, 'jpy')).toBe('¥1,234,567,890');
    expect(formatCents(1234567890, 'KWD')).toBe('KWD\u00a01,234,567.890');
    expect(formatOptionalCents(null, 'jpy')).toBe('—');
    expect(formatOptionalCents(700, 'jpy')).toBe('¥700');
  });

  it('notes spend in another currency (left out of the figures), else a week pair with no spend, in the report currency', () => {
    const labels = { week: 'last week', previous: 'the week before' };
    const none = { cost_per_lead_cents: null, cost_per_purchase_cents: null };
    const yen = { spend_cents: 0, ...none, other_currencies: { jpy: { spend_cents: 500000 } } };
    expect(adSpendNote(yen, { spend_cents: 0, ...none }, 'gbp', labels)).toBe(
      "Ad spend in another currency than this report's (GBP) is left out of spend, costs and ROAS: ¥500,000 last week.",
    );
    expect(adSpendNote(yen, { ...yen, other_currencies: { eur: { spend_cents: 100 }, jpy: { spend_cents: 7 } } }, 'gbp', labels)).toBe(
      "Ad spend in another currency than this report's (GBP) is left out of spend, costs and ROAS: ¥500,000 last week; €1.00 + ¥7 the week before.",
    );
    const free = { spend_cents: 0, cost_per_lead_cents: 0, cost_per_purchase_cents: 0 };
    expect(adSpendNote(free, free, 'jpy', labels)).toContain('costs per lead and per purchase read ¥0 and');
    expect(adSpendNote(free, free, 'usd', labels)).toContain('read $0.00 and ROAS has no value.');
    expect(adSpendNote({ ...free, spend_cents: 1 }, free, 'usd', labels)).toBeNull();
  });

  // A new operator's first day: with no spend and no leads the cells read "—", the note "£0.00".
  it('the no-spend note says what the cost cells show: $0.00 with leads or purchases, no value without', () => {
    const labels = { week: 'last week', previous: 'the week before' };
    const none = { spend_cents: 0, cost_per_lead_cents: null, cost_per_purchase_cents: null };
    const free = { spend_cents: 0, cost_per_lead_cents: 0, cost_per_purchase_cents: 0 };
    const start = 'No ad spend recorded for either week (Meta Ads not connected, or no ads running), so ';
    expect(adSpendNote(none, none, 'gbp', labels)).toBe(`${start}costs per lead and per purchase and ROAS have no value.`);
    expect(adSpendNote(free, free, 'gbp', labels)).toBe(`${start}costs per lead and per purchase read £0.00 and ROAS has no value.`);
    // Leads but no purchase (or one week of each): each cell as it is shown.
    expect(adSpendNote({ ...free, cost_per_purchase_cents: null }, none, 'gbp', labels)).toBe(
      `${start}costs per lead and per purchase read £0.00 (— without leads or purchases) and ROAS has no value.`,
    );
    for (const note of [adSpendNote(none, none, 'gbp', labels), adSpendNote({ ...free, cost_per_lead_cents: null }, free, 'gbp', labels)])
      expect(note).not.toMatch(/read £0\.00 and/);
  });

  it('lists payments in other currencies on one line, by code; none → null', () => {
    expect(
      otherCurrenciesLine({ usd: { cash_collected_cents: 1200, payments: 2 }, jpy: { cash_collected_cents: 5000, payments: 1 } }),
    ).toBe('Also collected, not in these totals: ¥5,000 (1 payment) · $12.00 (2 payments).');
    // A financing plan in another currency: its projected money is named, not only counted.
    expect(otherCurrenciesLine({ usd: { cash_collected_cents: 20000, projected_cents: 110000, payments: 3 } })).toBe(
      'Also collected, not in these totals: $200.00 collected, $1,100.00 projected (3 payments).',
    );
    expect(otherCurrenciesLine({ usd: { cash_collected_cents: 2500, projected_cents: 2500, payments: 1 } })).toBe(
      'Also collected, not in these totals: $25.00 (1 payment).',
    );
    expect(otherCurrenciesLine(undefined)).toBeNull();
    expect(otherCurrenciesLine({})).toBeNull();
  });

  it('formats changes, percentages, ROAS and counts; null is a dash', () => {
    expect(formatChange(0.25)).toBe('+25%');
    expect(formatChange(-0.1)).toBe('-10%');
    expect(formatChange(0)).toBe('±0%');
    expect(formatChange(1.4875)).toBe('+148.8%');
    expect(formatChange(null)).toBe('—');
    expect(formatPercent(0.3333)).toBe('33.3%');
    expect(formatPercent(null)).toBe('—');
    expect(formatRoas(9.5)).toBe('9.50×');
    expect(formatRoas(null)).toBe('—');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(plural(1, 'purchase')).toBe('1 purchase');
    expect(plural(1200, 'new lead')).toBe('1,200 new leads');
  });

  it('formats week ranges (across months and years)', () => {
    expect(formatWeekRange('2026-10-26', '2026-11-01')).toBe('Oct 26 – Nov 1');
    expect(formatWeekRangeWithYear('2026-10-26', '2026-11-01')).toBe('Oct 26 – Nov 1, 2026');
    expect(formatWeekRangeWithYear('2026-12-28', '2027-01-03')).toBe('Dec 28, 2026 – Jan 3, 2027');
  });

  it('oneLine: controls and separators become one space, trimmed, cut to max with an ellipsis', () => {
    expect(oneLine('  a\r\n\tb\u0000c\u009bd\u202ee\u2066f  ')).toBe('a b c d e f');
    expect(oneLine('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(oneLine('😀'.repeat(5), 3)).toBe('😀😀…');
    expect(oneLine('Ad 1 — Spring')).toBe('Ad 1 — Spring');
  });

  it('leadSourcesForReport: most first, at most max named, the rest summed', () => {
    expect(leadSourcesForReport({ a: 1, b: 5, c: 5 }, 8)).toEqual([
      ['b', 5],
      ['c', 5],
      ['a', 1],
    ]);
    expect(leadSourcesForReport({ a: 1, b: 5, c: 3, d: 2 }, 2)).toEqual([
      ['b', 5],
      ['c', 3],
      ['2 others', 3],
    ]);
  });
});
