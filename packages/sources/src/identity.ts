import { readText } from './payload';

/**
 * Phone to E.164 (SPEC §6.1): keep the digits; 10 digits → `+1…` (NANP); 11 digits starting with 1 →
 * `+…`; any other 8–15 digits are taken as already carrying their country code → `+…`. A number
 * written with a leading `+` already carries its country code, whatever its length (`+45 12 34 56 78`
 * is Danish, not `+1 451…`). Fewer than 8 or more than 15 digits (E.164's limit), or no phone at all →
 * `undefined`.
 */
export function normalizePhone(value: unknown): string | undefined {
  const text = readText(value);
  if (!text) return undefined;
  const digits = text.replace(/\D/g, '');
  if (text.startsWith('+') && digits.length >= 8 && digits.length <= 15) return `+${digits}`;
  if (digits.length === 10) return `+1${digits}`;
  if (digits.length === 11 && digits.startsWith('1')) return `+${digits}`;
  if (digits.length >= 8 && digits.length <= 15) return `+${digits}`;
  return undefined;
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
