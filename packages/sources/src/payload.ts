import { z } from 'zod';

/**
 * Lenient readers shared by the normalizers' zod schemas. Each one accepts any JSON value and never
 * fails: a value of the wrong shape reads as `undefined` ("no information"), so a provider adding,
 * dropping or retyping a field can never crash a normalizer.
 */

// Every field reader ends in `.optional()`: zod 4 rejects an `undefined` output for a key it sees as
// required, and "absent" is exactly what a lenient reader must be able to say.

/** Longest text value kept; anything longer is treated as garbage, not data. */
export const maxTextLength = 2048;

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** SPEC §3: a body that is a JSON array (ManyChat, Make.com) is one event, its first element. */
export function unwrapBody(payload: unknown): unknown {
  return Array.isArray(payload) ? payload[0] : payload;
}

/** Trimmed, non-empty string; finite numbers become their decimal text; anything else `undefined`. */
export function readText(value: unknown): string | undefined {
  let text: string | undefined;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else if (typeof value === 'bigint') text = value.toString();
  if (!text || text.length > maxTextLength) return undefined;
  return text;
}

/**
 * An id or key as the provider sends it, for dedupe keys: a trimmed non-empty string or a finite
 * number as text, else `undefined`. No length limit (unlike `readText`): a stored key must not change.
 */
export function readKey(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** The first `readKey` among `keys` on any of `records` (records in order, then keys in order). */
export function pickKey(records: Array<unknown>, keys: readonly string[]): string | undefined {
  for (const record of records) {
    if (!isRecord(record)) continue;
    for (const key of keys) {
      const value = readKey(record[key]);
      if (value) return value;
    }
  }
  return undefined;
}

/** A flag the way ManyChat custom fields carry one: `true`, a non-zero number or a non-empty word that is not a "no". */
export function readFlag(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) && value !== 0;
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase();
    return word !== '' && !['false', '0', 'no', 'null', 'off', 'n'].includes(word);
  }
  return false;
}

/** A safe, non-negative integer (Stripe amounts are integer cents); anything else `undefined`. */
export function readCount(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

const minTime = Date.UTC(1970, 0, 1);
const maxTime = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * A point in time as an ISO-8601 UTC string. Accepts ISO/RFC text (no zone = UTC), or a number of epoch seconds
 * (Stripe's `created`) or milliseconds (values above 1e11). Out-of-range or unparseable → `undefined`.
 */
export function readTime(value: unknown): string | undefined {
  let ms: number | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) {
    ms = Math.abs(value) < 1e11 ? value * 1000 : value;
  } else if (typeof value === 'string') {
    const text = value.trim();
    if (text === '' || text.length > 64) return undefined;
    if (/^\d{9,13}$/.test(text)) return readTime(Number(text));
    // A date-time with no zone is read as UTC, not as the worker's local time (results must not depend on TZ).
    const zoneless = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)$/.exec(text);
    ms = Date.parse(zoneless ? `${zoneless[1]}T${zoneless[2]}Z` : text);
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < minTime || ms > maxTime) return undefined;
  return new Date(Math.trunc(ms)).toISOString();
}

/**
 * Dollars to integer cents with decimal string arithmetic (no float multiplication): accepts numbers
 * or text like `"1,234.56"`, `"$1234.5"`, `"1234"`. More than two decimals round half up on the third.
 * Negative, non-numeric or out-of-range values → `undefined`.
 */
export function dollarsToCents(value: unknown): number | undefined {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    // Shortest round-trip decimal text, e.g. 1497.1 → "1497.1"; exponent forms are rejected below.
    text = String(value);
  } else if (typeof value === 'string') {
    text = value
      .trim()
      .replace(/^\$\s*/, '')
      .replace(/,/g, '');
  } else {
    return undefined;
  }
  const match = /^(\d{1,13})(?:\.(\d*))?$/.exec(text) ?? /^()\.(\d+)$/.exec(text);
  if (!match) return undefined;
  const whole = match[1] || '0';
  const fraction = (match[2] ?? '').padEnd(3, '0');
  let cents = Number(whole) * 100 + Number(fraction.slice(0, 2));
  if (Number(fraction[2]) >= 5) cents += 1;
  return Number.isSafeInteger(cents) ? cents : undefined;
}

/** zod field: `readText`. */
export const textField = z.unknown().transform(readText).optional();
/** zod field: `readTime`. */
export const timeField = z.unknown().transform(readTime).optional();
/** zod field: `readCount`. */
export const countField = z.unknown().transform(readCount).optional();
/** zod field: `dollarsToCents`. */
export const dollarsField = z.unknown().transform(dollarsToCents).optional();
/** zod field: any JSON object, else `undefined`. */
export const recordField = z
  .unknown()
  .transform((value) => (isRecord(value) ? value : undefined))
  .optional();

/** zod field: a nested object read with `schema`; a non-object reads as `undefined`. */
export function objectField<T extends z.ZodType>(schema: T) {
  return z
    .unknown()
    .transform((value): z.output<T> | undefined => {
      if (!isRecord(value)) return undefined;
      const parsed = schema.safeParse(value);
      return parsed.success ? parsed.data : undefined;
    })
    .optional();
}

/**
 * zod field: an array whose object elements are read with `schema` (other elements dropped). With
 * `maxItems`, only the array's first `maxItems` elements are read: a provider's embedded list is a page
 * (Stripe: 10 by default, 100 at most), so one signed body of 20,000 entries costs no more than a page.
 */
export function listField<T extends z.ZodType>(schema: T, maxItems = Number.POSITIVE_INFINITY) {
  return z
    .unknown()
    .transform((value): z.output<T>[] | undefined => {
      if (!Array.isArray(value)) return undefined;
      const items: z.output<T>[] = [];
      for (const item of value.length > maxItems ? value.slice(0, maxItems) : value) {
        if (!isRecord(item)) continue;
        const parsed = schema.safeParse(item);
        if (parsed.success) items.push(parsed.data);
      }
      return items;
    })
    .optional();
}

/** The id of a Stripe-style reference that is either an id string or an expanded object with `id`. */
export function readRef(value: unknown): string | undefined {
  return isRecord(value) ? readText(value.id) : readText(value);
}
