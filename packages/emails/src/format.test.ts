import { describe, expect, it } from 'vitest';
import {
  formatCents,
  formatChange,
  formatCount,
  formatPercent,
  formatRoas,
  formatWeekRange,
  formatWeekRangeWithYear,
  leadSourcesForReport,
  oneLine,
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
