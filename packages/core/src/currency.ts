/**
 * Stripe's zero-decimal currencies: an amount in them is in whole units (`amount: 5000` in `jpy` is
 * ¥5,000), where every other currency counts hundredths. Stripe's list (docs "Supported currencies",
 * "Zero-decimal currencies"); ISK, HUF and TWD are sent with two decimals by Stripe, so they are not here.
 */
const zeroDecimal = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);
/** Stripe's three-decimal currencies: amounts in thousandths. */
const threeDecimal = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/**
 * Decimal places of an amount in `currency` as providers send it (and `payments.amount_cents` stores it:
 * the currency's minor unit): 0, 2 (the default) or 3. Case-insensitive.
 */
export function currencyDecimals(currency: string): 0 | 2 | 3 {
  const c = currency.toLowerCase();
  return zeroDecimal.has(c) ? 0 : threeDecimal.has(c) ? 3 : 2;
}

/** An amount in minor units as a decimal number of whole units: 250000 usd → 2500, 5000 jpy → 5000, 1500 kwd → 1.5. */
export function minorUnitsToAmount(minor: number, currency: string): number {
  const decimals = currencyDecimals(currency);
  return Math.round(minor) / 10 ** decimals;
}

/** An amount in minor units as text, e.g. `USD 2,500.00`, `JPY 5,000`, `KWD 1.500`, `-USD 12.00`. Exact (no float). */
export function formatMinorUnits(minor: number, currency: string): string {
  const decimals = currencyDecimals(currency);
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(Math.round(minor));
  const scale = 10 ** decimals;
  const whole = Math.floor(abs / scale).toLocaleString('en-US');
  return `${sign}${currency.toUpperCase()} ${whole}${decimals ? `.${String(abs % scale).padStart(decimals, '0')}` : ''}`;
}
