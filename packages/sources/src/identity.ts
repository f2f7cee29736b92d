import { type CountryCode, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { readText } from './payload';

/**
 * Whether `code` can be a tenant's `phone_country`: an ISO 3166-1 alpha-2 country code (any case) that
 * has a telephone numbering plan (libphonenumber's metadata: `GB`, `US`, `DE`, `JP`; not `UK` or `EU`).
 */
export function isPhoneCountry(code: string): boolean {
  // ASCII letters first: 'ı'.toUpperCase() is 'I', so an upper-cased look-up alone would take 'ın' for IN.
  return /^[A-Za-z]{2}$/.test(code) && isSupportedCountry(code.toUpperCase());
}

/** The tenant's `phone_country` as libphonenumber's code; undefined when unset or not a country (read defensively). */
function phoneCountryOf(country: unknown): CountryCode | undefined {
  if (typeof country !== 'string' || !isPhoneCountry(country)) return undefined;
  return country.toUpperCase() as CountryCode;
}

// "+44 (0)7700 900456": the bracketed 0 is the national trunk prefix, shown for callers at home, not dialled from abroad.
const bracketedTrunkZero = /^\+(\D*\d{1,3})\s*\(0\)/;

/** `+digits` when the digits can be an E.164 number (8–15 of them, no country code starts with 0). */
function e164(digits: string): string | undefined {
  return digits.length >= 8 && digits.length <= 15 && !digits.startsWith('0') ? `+${digits}` : undefined;
}

/**
 * Phone to E.164 (SPEC §6.1); `country` is the tenant's `phone_country` (ISO 3166-1 alpha-2, config §5).
 * - Written with a leading `+`, the number already carries its country code, whatever its length
 *   (`+45 12 34 56 78` is Danish, not `+1 451…`): its digits are kept (a bracketed trunk `(0)` after the
 *   country code dropped: `+44 (0)7700 900456` → `+447700900456`).
 * - Otherwise, with a country, it is read as written there (libphonenumber, min metadata): national form
 *   with its trunk prefix (GB `07700 900456` → `+447700900456`, DE `0151…`, FR `06…`, JP `090…`), without
 *   it (GB `7700900456`; US/CA 10 digits → `+1…`), or dialled abroad from there (GB `0044…`, US `011…`),
 *   when it has a length that country's numbers can have ("possible", not "valid": reserved and fictional
 *   ranges count).
 * - Otherwise (no country, or not a number of that country): 10 digits → `+1…` (NANP); 11 starting with 1
 *   and any other 8–15 digits are taken as carrying their country code → `+…`; `00` + a number → `+…`
 *   (the international prefix outside North America). A national number (a leading 0) is `undefined`:
 *   without a country there is no E.164 form for it, and `+0…` is none (no country code starts with 0).
 *   The delivery keeps it, and its log's message says so (`readPhone`): set the tenant's `phone_country`
 *   and replay to recover it.
 * Fewer than 8 or more than 15 digits (E.164's limit), or no phone at all → `undefined`. Pure, never throws.
 */
export function normalizePhone(value: unknown, country?: string | null): string | undefined {
  const text = readText(value);
  if (!text) return undefined;
  if (text.startsWith('+')) return e164(text.replace(bracketedTrunkZero, '+$1').replace(/\D/g, ''));
  const region = phoneCountryOf(country);
  if (region) {
    const parsed = parsePhoneNumberFromString(text, { defaultCountry: region });
    // A national number that keeps a leading 0 is one whose trunk 0 could not be dropped (GB `07700 9004`,
    // too short without it), unless the country's numbers do start with 0 (Italy's `06…`): then only a valid one.
    if (parsed?.isPossible() && (!parsed.nationalNumber.startsWith('0') || parsed.isValid())) return e164(parsed.number.slice(1));
  }
  const digits = text.replace(/\D/g, '');
  if (digits.startsWith('00')) return e164(digits.slice(2));
  if (digits.length === 10 && !digits.startsWith('0')) return `+1${digits}`;
  return e164(digits);
}

/** A phone the normalizers read, and what the processed log says when one was sent but none kept. */
export interface PhoneReading {
  phone?: string;
  /** Set when a value was sent and no E.164 form was made of any (the number is never repeated here). */
  note?: string;
}

/**
 * The first of `values` that `normalizePhone` reads, in order (`body.phone`, then `customData.phone`…).
 * When values were sent but none could be read, `note` says why, for the log's message: without it a
 * delivery's phone was dropped without a word, and a tenant whose people write national numbers
 * (`07700 900456`) but that has no `phone_country` matched nobody by phone while every log read
 * `processed`. Pure, never throws.
 */
export function readPhone(country: string | null | undefined, ...values: unknown[]): PhoneReading {
  let sent: string | undefined;
  for (const value of values) {
    const phone = normalizePhone(value, country);
    if (phone) return { phone };
    sent ??= readText(value);
  }
  if (sent === undefined) return {};
  const digits = sent.replace(/\D/g, '');
  const region = phoneCountryOf(country);
  if (!region && !sent.startsWith('+') && digits.startsWith('0') && !digits.startsWith('00'))
    return {
      note:
        "phone not kept: a national number (leading 0) has no E.164 form without the tenant's phone_country " +
        '(mcb tenant update <tenant> --phone-country <code>, then replay this log)',
    };
  return {
    note: region
      ? `phone not kept: not a number of ${region} nor one with its country code (8-15 digits)`
      : 'phone not kept: not a number with its country code (8-15 digits)',
  };
}

/** Whether `text` is a Meta ad id: its digits (Meta's ids are numeric strings, e.g. `120210987654320001`). */
export function isMetaAdId(text: string): boolean {
  return /^\d{1,30}$/.test(text);
}

/**
 * The first of `values` that is a Meta ad id (digits only), in order (`values.ad_id`, then
 * `meta.utm_content`…). `ad_id` is first-touch (SPEC §6.4) and goes to Meta's Conversions API as custom
 * data: free text a form visitor typed (an email, an unrendered `{{ad.id}}`) took the field for good and
 * would have left the system unhashed (red team, stop 37). When values were sent but none is an ad id,
 * `note` says so (the value is never repeated). Pure, never throws.
 */
export function readAdId(...values: unknown[]): { adId?: string; note?: string } {
  let sent = false;
  for (const value of values) {
    const text = readText(value);
    if (text === undefined) continue;
    if (isMetaAdId(text)) return { adId: text };
    sent = true;
  }
  return sent ? { note: 'ad id not kept: not a Meta ad id (digits only)' } : {};
}

// Deliberately loose (one @, a dot in the domain, no spaces): it filters unrendered templates like
// "{{email}}" and junk, not unusual but valid addresses.
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Email as given, trimmed; `undefined` when absent or not shaped like an address. Compare with `emailKey`. */
export function normalizeEmail(value: unknown): string | undefined {
  const text = readText(value);
  if (!text || text.length > 320 || !emailPattern.test(text)) return undefined;
  return text;
}

/** The comparison form of an email: lowercased (matching is case-insensitive, SPEC §6.1). */
export function emailKey(email: string): string {
  return email.toLowerCase();
}

/** Distinct emails (case-insensitive), first spelling kept, in order; `undefined` entries skipped. */
export function distinctEmails(...emails: Array<string | undefined>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const email of emails) {
    if (!email || seen.has(emailKey(email))) continue;
    seen.add(emailKey(email));
    out.push(email);
  }
  return out;
}
