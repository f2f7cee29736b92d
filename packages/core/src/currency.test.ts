import { describe, expect, it } from 'vitest';
import { currencyDecimals, formatMinorUnits, minorUnitsToAmount } from './currency';

describe('currency minor units', () => {
  it("knows Stripe's zero- and three-decimal currencies, any case; two decimals otherwise", () => {
    expect(['jpy', 'KRW', 'vnd', 'clp', 'xof'].map(currencyDecimals)).toEqual([0, 0, 0, 0, 0]);
    expect(['kwd', 'BHD', 'tnd'].map(currencyDecimals)).toEqual([3, 3, 3]);
    expect(['usd', 'EUR', 'gbp', 'isk', 'huf'].map(currencyDecimals)).toEqual([2, 2, 2, 2, 2]);
  });

  // A reviewer (stop 28): a ¥5,000 Stripe purchase went to Meta as value 50.
  it('turns minor units into the amount each currency means', () => {
    expect(minorUnitsToAmount(250_000, 'usd')).toBe(2_500);
    expect(minorUnitsToAmount(5_000, 'jpy')).toBe(5_000);
    expect(minorUnitsToAmount(1_500, 'kwd')).toBe(1.5);
    expect(minorUnitsToAmount(123_456_789, 'eur')).toBe(1_234_567.89);
  });

  it('writes them exactly, with the currency code', () => {
    expect(formatMinorUnits(250_000, 'usd')).toBe('USD 2,500.00');
    expect(formatMinorUnits(5_000, 'jpy')).toBe('JPY 5,000');
    expect(formatMinorUnits(1_500, 'kwd')).toBe('KWD 1.500');
    expect(formatMinorUnits(-1_205, 'usd')).toBe('-USD 12.05');
  });
});
