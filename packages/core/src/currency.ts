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

const isoCodes = new Set(Intl.supportedValuesOf('currency'));

/**
 * Whether `code` is an ISO 4217 currency code this runtime knows (`Intl.supportedValuesOf('currency')`), any case.
 * Three ASCII letters: `toUpperCase` also turns 'ſ' into 'S' and 'ı' into 'I', and 'uſd' is no code.
 */
export function isCurrencyCode(code: string): boolean {
  return /^[A-Za-z]{3}$/.test(code) && isoCodes.has(code.toUpperCase());
}

/** Whole units with thousands separators and the fraction, exactly, of a non-negative integer amount of minor units. */
function splitMinorUnits(abs: number, decimals: number): { whole: string; fraction: string } {
  // BigInt: the digits of the number itself past 10^21 too, where String() turns to exponent form ("1e+21").
  const digits = (Number.isFinite(abs) ? BigInt(abs) : 0n).toString().padStart(decimals + 1, '0');
  const cut = digits.length - decimals;
  return { whole: digits.slice(0, cut).replace(/\B(?=(\d{3})+(?!\d))/g, ','), fraction: digits.slice(cut) };
}

/** An amount in minor units as text, e.g. `USD 2,500.00`, `JPY 5,000`, `KWD 1.500`, `-USD 12.00`. Exact (no float). */
export function formatMinorUnits(minor: number, currency: string): string {
  const decimals = currencyDecimals(currency);
  const sign = minor < 0 ? '-' : '';
  const { whole, fraction } = splitMinorUnits(Math.abs(Math.round(minor)), decimals);
  return `${sign}${currency.toUpperCase()} ${whole}${decimals ? `.${fraction}` : ''}`;
}

const moneyTemplates = new Map<string, Intl.NumberFormatPart[] | null>();

/** How en-US writes ±1 in `currency` with its decimals (symbol, placement, sign), or null for a code Intl refuses. */
function moneyTemplate(currency: string, negative: boolean): Intl.NumberFormatPart[] | null {
  const key = `${currency.toLowerCase()}${negative ? '-' : '+'}`;
  let parts = moneyTemplates.get(key);
  if (parts === undefined) {
    const decimals = currencyDecimals(currency);
    try {
      const format = new Intl.NumberFormat('en-US', {
        style: 'currency',
        currency,
        minimumFractionDigits: decimals,
        maximumFractionDigits: decimals,
      });
      parts = format.formatToParts(negative ? -1 : 1);
    } catch {
      parts = null;
    }
    moneyTemplates.set(key, parts);
  }
  return parts;
}

/**
 * An amount in minor units of `currency` as money: symbol and placement as
 * `Intl.NumberFormat('en-US', { style: 'currency' })` writes them, the currency's decimals as
 * `currencyDecimals` counts them, and every digit computed from the integer (exact, no float):
 * 123456 gbp → `£1,234.56`, 5000 jpy → `¥5,000`, 1234 kwd → `KWD 1.234` (a no-break space after the
 * code, as Intl writes it), -5000 usd → `-$50.00`. A code Intl does not accept falls back to
 * `formatMinorUnits`. Case-insensitive.
 */
export function formatMoney(minor: number, currency: string): string {
  const template = moneyTemplate(currency, minor < 0);
  if (!template) return formatMinorUnits(minor, currency);
  const { whole, fraction } = splitMinorUnits(Math.abs(Math.round(minor)), currencyDecimals(currency));
  return template.map((p) => (p.type === 'integer' ? whole : p.type === 'fraction' ? fraction : p.value)).join('');
}

/**
 * A decimal amount as text (`"12.34"`, `"5000"`, `"-0.5"`) → integer minor units of `currency`, exactly
 * (string arithmetic, no float): "12.34" usd → 1234, "5000" jpy → 5000, "1.234" kwd → 1234. A digit
 * beyond the currency's decimals rounds half away from zero ("0.105" usd → 11, "0.5" jpy → 1). Null for
 * anything that is not a plain decimal, or an amount past 2^53.
 */
export function decimalToMinorUnits(text: string, currency: string): number | null {
  const m = /^(-)?(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) return null;
  const decimals = currencyDecimals(currency);
  const fraction = (m[3] ?? '').padEnd(decimals + 1, '0');
  let minor = Number(`${m[2]}${fraction.slice(0, decimals)}`);
  if (Number(fraction[decimals]) >= 5) minor += 1;
  if (!Number.isSafeInteger(minor)) return null;
  return m[1] && minor !== 0 ? -minor : minor;
}
