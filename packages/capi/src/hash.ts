import { createHash } from 'node:crypto';

/**
 * Normalisation and hashing of customer information for Meta's Conversions API (ADR 0011, Meta
 * "Customer Information Parameters"): Meta matches on SHA-256 of the normalised value, so two
 * spellings of one address must normalise to the same bytes. Each function returns null for a value
 * that is empty or cannot be a valid identifier (sending garbage lowers match quality, never helps).
 */

/** Lowercase hex SHA-256 of the UTF-8 bytes. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

const emailShape = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** `em`: trimmed and lowercased. */
export function normalizeEmail(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const email = value.trim().toLowerCase();
  return emailShape.test(email) ? email : null;
}

/**
 * `ph`: digits only, country code included, no leading `+` or international `00` prefix — the
 * E.164 number without its `+`. Contacts already hold E.164 (SPEC §6.1); 7–15 digits or null.
 */
export function normalizePhone(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const digits = value.replace(/\D/g, '').replace(/^0+/, '');
  return digits.length >= 7 && digits.length <= 15 ? digits : null;
}

/** `fn` / `ln`: lowercase, no punctuation, symbols or spaces, Unicode kept (NFC, hashed as UTF-8). */
export function normalizeName(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const name = value
    .normalize('NFC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}\s]/gu, '');
  return name ? name : null;
}

/** `external_id`: our contact id, trimmed and lowercased (Meta recommends hashing it too). */
export function normalizeExternalId(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const id = value.trim().toLowerCase();
  return id ? id : null;
}

/** What we know about the person behind an event (plaintext; never leaves this module unhashed). */
export interface PersonIdentifiers {
  emails: Array<string | null | undefined>;
  phones: Array<string | null | undefined>;
  firstName: string | null | undefined;
  lastName: string | null | undefined;
  externalId: string;
}

/** Meta `user_data` as sent: every value a SHA-256 hex digest. */
export interface HashedUserData {
  em?: string[];
  ph?: string[];
  fn?: string;
  ln?: string;
  external_id: string[];
}

/** Meta accepts several emails / phones per event; a few are plenty for matching. */
const maxPerField = 5;

function hashedList(values: Array<string | null | undefined>, normalize: (v: string | null | undefined) => string | null): string[] {
  const seen = new Set<string>();
  for (const v of values) {
    const n = normalize(v);
    if (n) seen.add(n);
    if (seen.size >= maxPerField) break;
  }
  return [...seen].map(sha256Hex);
}

/** Normalises and hashes a person's identifiers into Meta's `user_data`. Pure. */
export function hashUserData(person: PersonIdentifiers): HashedUserData {
  const em = hashedList(person.emails, normalizeEmail);
  const ph = hashedList(person.phones, normalizePhone);
  const fn = normalizeName(person.firstName);
  const ln = normalizeName(person.lastName);
  const externalId = normalizeExternalId(person.externalId);
  return {
    ...(em.length ? { em } : {}),
    ...(ph.length ? { ph } : {}),
    ...(fn ? { fn: sha256Hex(fn) } : {}),
    ...(ln ? { ln: sha256Hex(ln) } : {}),
    external_id: externalId ? [sha256Hex(externalId)] : [],
  };
}
