import { readText } from './payload';
import type { ContactFields, IdentityKeys, NormalizedContact, NormalizedEvent, NormalizeResult } from './types';

/**
 * The part of a tenant's config (`TenantConfig` from @mcb/tenancy, SPEC §5) the normalizers read.
 * Structural, so a parsed `TenantConfig` is accepted as is; every field is optional and read
 * defensively, so a partial or empty config falls back to the SPEC defaults.
 */
export interface NormalizerConfig {
  /** Stripe amount (cents) that counts as a deposit rather than a full purchase. Default 10000 ($100). */
  deposit_amount_cents?: number;
  /** The tenant's currency (ISO 4217, lower case; default `usd`): `deposit_amount_cents` is in it. */
  currency?: string;
  ghl?: { stage_map?: Record<string, string> };
  perspective?: { ignore_funnels?: string[] };
  /** ISO 3166-1 alpha-2 country a phone written in national form is in (`normalizePhone`); none: no national form. */
  phone_country?: string | null;
}

/**
 * What the delivery said outside its body, kept on the log row. `eventType`: the log's
 * `event_type` — for ManyChat the URL's `?event=` when the body names none (see `intakeEventType`).
 */
export interface NormalizeHints {
  eventType?: string | null;
}

/** Pure `(payload, config, hints?) → result`; never throws (see `guardNormalizer`). */
export type Normalizer = (payload: unknown, config: NormalizerConfig, hints?: NormalizeHints) => NormalizeResult;

/** `deposit_amount_cents` when the tenant config sets none ($100): the tenancy config schema defaults to it too. */
export const defaultDepositAmountCents = 10_000;

export function emitEvents(...events: NormalizedEvent[]): NormalizeResult {
  return { kind: 'events', events };
}

export function ignore(eventType: string | null | undefined, reason: string): NormalizeResult {
  return { kind: 'ignored', eventType: eventType ?? null, reason };
}

export function reject(eventType: string | null | undefined, reason: string): NormalizeResult {
  return { kind: 'invalid', eventType: eventType ?? null, reason };
}

/**
 * Wraps a normalizer so that an unexpected exception becomes `invalid` (non-retryable) instead of a
 * crash. The normalizers are written not to need it; it is the last line of SPEC §4's "total" rule.
 */
export function guardNormalizer(name: string, normalize: Normalizer): Normalizer {
  return (payload, config, hints) => {
    try {
      return normalize(payload, config ?? {}, hints);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return reject(null, `${name} normalizer failed: ${message.slice(0, 200)}`);
    }
  };
}

function compact<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    if (Array.isArray(item) && item.length === 0) continue;
    if (typeof item === 'object' && item !== null && !Array.isArray(item) && Object.keys(item).length === 0) continue;
    out[key] = item;
  }
  return out as T;
}

/**
 * A contact block with empty entries removed, or `undefined` when the event carries no identifier at
 * all (nothing to match or create a person by).
 */
export function buildContact(identity: IdentityKeys, fields: ContactFields): NormalizedContact | undefined {
  const keys = compact(identity);
  if (Object.keys(keys).length === 0) return undefined;
  return { identity: keys, fields: compact(fields) };
}

/**
 * Most tags a sender sets on a contact in one event, longest tag key, longest tag value (as JSON), most
 * entries of a tag list, and most entries of a tag list looked at. Tags are what a provider lets a
 * tenant's sender put anywhere (GHL custom data, Perspective form fields): unbounded, one signed event of
 * 90,000 keys cost the worker 4 s of blocked event loop, every tenant waiting. Normalizers bound what the
 * sender sent (`boundedTags`, `boundedTagList`) and add their own keys after, so those are never the ones dropped.
 */
export const tagLimits = { perEvent: 100, keyLength: 100, valueJsonLength: 2_048, listEntries: 100, listScanned: 1_000 } as const;

/**
 * The sender's first `tagLimits.perEvent` tags whose key and value are within the limits; the rest are
 * dropped (`__proto__` too: it would become the object's prototype, not a tag).
 */
export function boundedTags(tags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let kept = 0;
  for (const key in tags) {
    if (!Object.hasOwn(tags, key) || key === '__proto__') continue;
    if (kept >= tagLimits.perEvent) break;
    if (key.length > tagLimits.keyLength) continue;
    const value = tags[key];
    const json = typeof value === 'string' ? value : JSON.stringify(value);
    if (json !== undefined && json.length > tagLimits.valueJsonLength) continue;
    out[key] = value;
    kept++;
  }
  return out;
}

/**
 * A tag list as a sender sent it (GHL's `tags`: an array, or text separated by commas): its first
 * `tagLimits.listEntries` tags — trimmed, non-empty text (or numbers) of at most `tagLimits.keyLength`
 * characters — taken from its first `tagLimits.listScanned` entries only. Reading stops there: a signed
 * 1 MB `"a,a,a,…"` split and read whole cost 130–180 ms of the event loop every tenant shares.
 */
export function boundedTagList(list: unknown): string[] {
  const out: string[] = [];
  const take = (entry: unknown) => {
    const tag = readText(entry);
    if (tag && tag.length <= tagLimits.keyLength) out.push(tag);
  };
  if (typeof list === 'string') {
    for (
      let start = 0, scanned = 0;
      start <= list.length && scanned < tagLimits.listScanned && out.length < tagLimits.listEntries;
      scanned++
    ) {
      const comma = list.indexOf(',', start);
      const end = comma === -1 ? list.length : comma;
      take(list.slice(start, end));
      start = end + 1;
    }
  } else if (Array.isArray(list)) {
    const scanned = Math.min(list.length, tagLimits.listScanned);
    for (let i = 0; i < scanned && out.length < tagLimits.listEntries; i++) take(list[i]);
  }
  return out;
}

/** `result` with `notes` (what the normalizer left out of the body) for the processed log's message, joined by "; ". */
export function withNote(result: NormalizeResult, ...notes: Array<string | undefined>): NormalizeResult {
  if (result.kind !== 'events') return result;
  const note = [result.note, ...notes].filter((n): n is string => !!n).join('; ');
  return note ? { ...result, note } : result;
}

/** Drops `undefined` properties so results compare cleanly and serialize small. */
export function withoutUndefined<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = item;
  return out as T;
}
