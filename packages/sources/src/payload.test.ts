import { describe, expect, it } from 'vitest';
import { dollarsToCents, readFlag, readText, readTime } from './payload';

describe('dollarsToCents (decimal string arithmetic)', () => {
  it.each([
    ['1,234.56', 123_456],
    ['$1,234.5', 123_450],
    ['1234', 123_400],
    ['.5', 50],
    ['12.', 1200],
    ['0.305', 31],
    ['0.3049', 30],
    [1497.1, 149_710],
    [0.1 + 0.2, 30],
    [19.99, 1999],
    [1.005, 101],
    [0, 0],
  ])('%j → %i cents', (input, cents) => {
    expect(dollarsToCents(input)).toBe(cents);
  });

  it.each([['-5'], [-1], ['abc'], ['1.2.3'], [Number.NaN], [Number.POSITIVE_INFINITY], [1e21], ['99999999999999'], [null], [true]])(
    '%j → undefined',
    (input) => {
      expect(dollarsToCents(input)).toBeUndefined();
    },
  );
});

describe('readTime', () => {
  it('reads ISO text, epoch seconds and epoch milliseconds; rejects nonsense', () => {
    expect(readTime('2026-11-02T14:21:07-05:00')).toBe('2026-11-02T19:21:07.000Z');
    expect(readTime(1762790460)).toBe('2025-11-10T16:01:00.000Z');
    expect(readTime(1762790460000)).toBe('2025-11-10T16:01:00.000Z');
    expect(readTime('1762790460')).toBe('2025-11-10T16:01:00.000Z');
    expect(readTime('2026-11-05 20:01:00')).toBe('2026-11-05T20:01:00.000Z');
    expect(readTime('2026-11-05T20:01')).toBe('2026-11-05T20:01:00.000Z');
    expect(readTime('2026-11-05')).toBe('2026-11-05T00:00:00.000Z');
    expect(readTime('yesterday')).toBeUndefined();
    expect(readTime(-5)).toBeUndefined();
    expect(readTime(8.64e15)).toBeUndefined();
  });
});

describe('readText / readFlag', () => {
  it('text: trimmed, numbers as text, blanks and over-long values dropped', () => {
    expect(readText('  a ')).toBe('a');
    expect(readText(6384638)).toBe('6384638');
    expect(readText('   ')).toBeUndefined();
    expect(readText('x'.repeat(5000))).toBeUndefined();
    expect(readText({})).toBeUndefined();
  });

  it('flags: true, non-zero numbers and words that are not "no"', () => {
    expect([true, 1, 'yes', 'B', 'TRUE'].map(readFlag)).toEqual([true, true, true, true, true]);
    expect([false, 0, '', 'false', 'No', null, undefined, {}].map(readFlag)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
