import { describe, expect, it } from 'vitest';
import { currencyDecimals, decimalToMinorUnits, formatMinorUnits, formatMoney, isCurrencyCode, minorUnitsToAmount } from './currency';

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

  // The weekly report wrote every tenant's money as US dollars: ¥5,000 read "$50.00", £ read "$".
  it('writes money the way Intl does in en-US (symbol, placement), with exact digits in the currency’s decimals', () => {
    expect(formatMoney(123_456, 'usd')).toBe('$1,234.56');
    expect(formatMoney(123_456, 'GBP')).toBe('£1,234.56');
    expect(formatMoney(123_456, 'eur')).toBe('€1,234.56');
    expect(formatMoney(5_000, 'jpy')).toBe('¥5,000');
    expect(formatMoney(1_234, 'kwd')).toBe('KWD\u00a01.234');
    expect(formatMoney(0, 'usd')).toBe('$0.00');
    expect(formatMoney(0, 'jpy')).toBe('¥0');
    expect(formatMoney(5, 'kwd')).toBe('KWD\u00a00.005');
    expect(formatMoney(-5_000, 'usd')).toBe('-$50.00');
    expect(formatMoney(-1_234_567, 'jpy')).toBe('-¥1,234,567');
    expect(formatMoney(-1_234, 'kwd')).toBe('-KWD\u00a01.234');
    expect(formatMoney(123_456_789, 'gbp')).toBe('£1,234,567.89');
    expect(formatMoney(900_719_925_474_099, 'usd')).toBe('$9,007,199,254,740.99');
    expect(formatMoney(900_719_925_474_099, 'jpy')).toBe('¥900,719,925,474,099');
    // Past 10^21 String() writes an exponent ("-€1.0,008e+.21", red team, stop 32): digits still.
    expect(formatMoney(-1.0008e21, 'eur')).toBe('-€10,008,000,000,000,000,000.00');
    expect(formatMinorUnits(1e21, 'usd')).toBe('USD 10,000,000,000,000,000,000.00');
  });

  it('falls back to the code for a currency Intl refuses', () => {
    expect(formatMoney(1_205, 'not-a-code')).toBe('NOT-A-CODE 12.05');
  });

  it('knows ISO 4217 codes, any case', () => {
    expect(['usd', 'GBP', 'eur', 'jpy', 'kwd', 'chf'].every(isCurrencyCode)).toBe(true);
    expect(['us', 'dollars', 'xyz', 'btc', ''].some(isCurrencyCode)).toBe(false);
  });

  // Review: 'uſd' (long s) and 'ınr' (dotless i) upper-case to USD and INR, so they passed, and the tenant's
  // currency was stored as 'uſd' — matching none of its 'usd' payments, and no code Intl or Stripe knows.
  it('takes only the three ASCII letters of a code, not letters that upper-case to them', () => {
    expect(['u\u017fd', '\u0131nr', 'U\u017fD', ' usd', 'usd ', 'u sd'].some(isCurrencyCode)).toBe(false);
  });

  it('turns a decimal amount into minor units exactly, with the currency’s exponent', () => {
    expect(decimalToMinorUnits('12.34', 'usd')).toBe(1_234);
    expect(decimalToMinorUnits('5000', 'jpy')).toBe(5_000);
    expect(decimalToMinorUnits('5000', 'JPY')).toBe(5_000);
    expect(decimalToMinorUnits('1.234', 'kwd')).toBe(1_234);
    expect(decimalToMinorUnits('7', 'kwd')).toBe(7_000);
    expect(decimalToMinorUnits('0.105', 'usd')).toBe(11);
    expect(decimalToMinorUnits('0.104', 'usd')).toBe(10);
    expect(decimalToMinorUnits('4999.5', 'jpy')).toBe(5_000);
    expect(decimalToMinorUnits('1.2345', 'kwd')).toBe(1_235);
    expect(decimalToMinorUnits('-12.34', 'eur')).toBe(-1_234);
    expect(decimalToMinorUnits('-0.001', 'usd')).toBe(0);
    expect(decimalToMinorUnits(' 19.99 ', 'gbp')).toBe(1_999);
    for (const bad of ['1e3', '12,34', 'abc', '', '.5', '99999999999999999999']) expect(decimalToMinorUnits(bad, 'usd')).toBeNull();
  });

  it('has no float drift: every cent and yen of a range round-trips', () => {
    for (let c = 0; c < 20_000; c += 7) {
      expect(decimalToMinorUnits(`${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`, 'usd')).toBe(c);
      expect(decimalToMinorUnits(String(c), 'jpy')).toBe(c);
    }
  });
});
