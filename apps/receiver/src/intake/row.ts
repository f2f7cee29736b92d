import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { parseJsonExact, redactHeaders, someJsonNumber } from '@mcb/core';
import { dedupeKeyOf, intakeEventType, maskBodySecretText, redactBodySecrets, type Source } from '@mcb/sources';
import type { IntakeRow } from './group-commit';

const decoder = new TextDecoder('utf-8');

/** Deepest JSON nesting a body may have to be parsed and stored as `payload` (Postgres' own limit is ≈ 10,000). */
export const maxJsonDepth = 64;
/**
 * Most JSON objects and arrays one accepted body may hold. They are what a body costs once parsed (an
 * empty object ~64 bytes of heap for 3 of text: 1 MiB of `{}` is 22 MB, ~200 ms of `JSON.parse` here and
 * again in the worker, every tenant's requests and jobs waiting). Real events hold tens to hundreds.
 */
export const maxJsonContainers = 10_000;
/** A rejected row keeps at most this many bytes of the body (SPEC §3: evidence, never input). */
export const rejectedBodyPrefixBytes = 8 * 1024;
/**
 * A row keeps at most about this many characters of headers (Node alone lets 16 KB in). Rejected rows
 * since issue 11; accepted rows since stop 38: a sender with one tenant's secret stored 14 KB of random
 * headers with each 36-byte body, 78 MB in 20 s, none of it charged to the tenant's intake budget.
 * Providers send well under 1 KB.
 */
export const storedHeadersChars = 2 * 1024;
/** Longest header value a row keeps whole when its headers are over `storedHeadersChars`. */
const storedHeaderValueChars = 256;
/** Longest `dedupe_key` / `event_type` stored as sent; longer ones are hashed / cut (btree rows are bounded). */
const maxKeyLength = 200;

/** Body text for parsing; invalid UTF-8 becomes U+FFFD (the signature was checked over the bytes). */
export function bodyText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * Most array elements and object members one accepted body may hold in all (counted as the commas
 * between them plus one per container). Each is a value Postgres walks when it builds the log's search
 * text (`mcb_webhook_search_text`, a regex per string) and the worker parses: 1 MiB of `"90",` is
 * 200,000 of them, 0.3–0.7 s of Postgres per log where a 1.5 KB event costs 0.2 ms, and a flood of them
 * from one tenant's sender held every other tenant's events for 12 s (review of stop 37). 20,000 costs
 * ~25 ms. Real events hold tens to a few thousand (a Stripe invoice with 100 lines: ~4,000).
 */
export const maxJsonItems = 20_000;

export type JsonShapeProblem = 'too_deep' | 'too_many_containers' | 'too_many_items';

/**
 * What is wrong with the shape of `text`, if anything: nesting deeper than `depthLimit`, more than
 * `containerLimit` objects and arrays, or more than `itemLimit` items (elements and members) in all.
 * One linear pass that skips string contents, so it is cheap and cannot itself be driven into deep
 * recursion. A body with few brackets and commas in all (native `indexOf`, strings included) cannot
 * break any limit: that answers most bodies ~30× faster than the character loop.
 */
export function jsonShapeProblem(
  text: string,
  depthLimit: number,
  containerLimit: number,
  itemLimit = Number.POSITIVE_INFINITY,
): JsonShapeProblem | null {
  const brackets = openingBrackets(text, Math.max(depthLimit, containerLimit));
  const commas = Number.isFinite(itemLimit) ? countUpTo(text, ',', itemLimit) : 0;
  if (brackets <= depthLimit && brackets + commas <= itemLimit) return null;
  const countContainers = brackets > containerLimit;
  const countItems = brackets + commas > itemLimit;
  let depth = 0;
  let containers = 0;
  let items = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > depthLimit) return 'too_deep';
      if (countContainers && ++containers > containerLimit) return 'too_many_containers';
      if (countItems && ++items > itemLimit) return 'too_many_items';
    } else if (c === 125 || c === 93) depth--;
    else if (c === 44 && countItems && ++items > itemLimit) return 'too_many_items';
  }
  return null;
}

/** Occurrences of `char` in `text` (inside strings too), counted up to `limit + 1`. */
function countUpTo(text: string, char: string, limit: number): number {
  let n = 0;
  for (let i = text.indexOf(char); i !== -1 && n <= limit; i = text.indexOf(char, i + 1)) n++;
  return n;
}

/** `{` and `[` in `text` (inside strings too), each counted up to `limit + 1`. */
function openingBrackets(text: string, limit: number): number {
  return countUpTo(text, '{', limit) + countUpTo(text, '[', limit);
}

/**
 * True when `text` holds a JSON number (outside strings) with an exponent of 3+ digits or a run of
 * 1,000+ digits. Postgres' numeric refuses magnitudes past 1e131071 or 16,383 decimal places
 * ("value overflows numeric format", e.g. `1e200000`, which JSON.parse takes as Infinity): such a
 * body would fail the shared transaction its row is batched in. And jsonb keeps numbers exact, so a
 * stored `1e999` reads back as 1,000 digits: a 1 MB body of them came back to the worker as 165 MB of
 * text (a reviewer's, 2026-12-06), far past the memory the worker budgets for a payload of its size.
 * Exponents up to 99 keep that expansion within 20 characters per character (`1e99,` → 100 digits),
 * under the worker's estimate (budget.ts). No provider sends such numbers. A native regex and a sampled
 * digit-run check answer nearly every body; only a hit is checked token by token outside strings.
 */
export function hasOversizedNumber(text: string): boolean {
  if (!/\d[eE][+-]?\d{3}/.test(text) && !hasDigitRun(text, 1000)) return false;
  return someJsonNumber(text, (start, end) => {
    // Each run of digits, and the exponent's significant digits (`1e0001` is 1e1: leading zeros are valid JSON).
    let run = 0;
    let exponentDigits = -1;
    for (let i = start; i < end; i++) {
      const d = text.charCodeAt(i);
      if (d >= 48 && d <= 57) {
        run++;
        if (exponentDigits > 0 || (exponentDigits === 0 && d !== 48)) exponentDigits++;
        if (run >= 1000 || exponentDigits >= 3) return true;
      } else if (d === 101 || d === 69) {
        run = 0;
        exponentDigits = 0;
      } else run = 0;
    }
    return false;
  });
}

/**
 * True when `text` has `min` digits in a row. Linear, unlike the regex `\d{1000}` (which retries at
 * every position: 0.8 s on a 1 MB body of 999-digit runs): a run of `min` digits covers an index that
 * is a multiple of `min / 2`, so only those are looked at, and each run found is measured once.
 */
export function hasDigitRun(text: string, min: number): boolean {
  const step = Math.max(1, min >> 1);
  const isDigit = (i: number) => {
    const c = text.charCodeAt(i);
    return c >= 48 && c <= 57;
  };
  for (let i = step - 1; i < text.length; i += step) {
    if (!isDigit(i)) continue;
    let start = i;
    while (start > 0 && isDigit(start - 1)) start--;
    let end = i + 1;
    while (end < text.length && isDigit(end)) end++;
    if (end - start >= min) return true;
    // The next sample past this run (no run is measured twice).
    while (i + step < end) i += step;
  }
  return false;
}

// Postgres refuses `\u0000` in jsonb and text and unpaired surrogate escapes in jsonb; JSON.parse accepts both.
const riskyEscape = /\\u(0000|d[89a-f][0-9a-f]{2})/i;
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A string Postgres stores as `text`/`jsonb`: NUL and lone surrogates become U+FFFD. */
export function storableString(s: string): string {
  return s.replaceAll('\u0000', '\uFFFD').replace(loneSurrogate, '\uFFFD');
}

function sanitize(value: unknown): unknown {
  if (typeof value === 'string') return storableString(value);
  if (Array.isArray(value)) return value.map(sanitize);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[storableString(k)] = sanitize(v);
    return out;
  }
  return value;
}

export type ParsedBody =
  | { ok: true; event: unknown; isArray: boolean; sanitized: boolean }
  | { ok: false; reason: 'not_json' | 'empty_array' | JsonShapeProblem | 'oversized_number' };

/**
 * Parses the body safely: nesting past `maxJsonDepth` is not parsed at all; what Postgres would
 * refuse (NUL, lone surrogates) is replaced in the parsed event. A JSON array is one event, its first
 * element (SPEC §3); an empty array is no event.
 */
export function parseBody(text: string): ParsedBody {
  const shape = jsonShapeProblem(text, maxJsonDepth, maxJsonContainers, maxJsonItems);
  if (shape) return { ok: false, reason: shape };
  let parsed: unknown;
  try {
    // Ids past 2^53 sent as bare numbers are read as their exact digits (dedupe keys, event types).
    parsed = parseJsonExact(text);
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  if (hasOversizedNumber(text)) return { ok: false, reason: 'oversized_number' };
  const sanitized = riskyEscape.test(text);
  if (sanitized) parsed = sanitize(parsed);
  if (Array.isArray(parsed))
    return parsed.length > 0 ? { ok: true, event: parsed[0], isArray: true, sanitized } : { ok: false, reason: 'empty_array' };
  return { ok: true, event: parsed, isArray: false, sanitized };
}

/**
 * The raw bytes with body secrets masked (`redactBodySecrets`' text scan, run over the bytes as
 * latin1 so every other byte, valid UTF-8 or not, stays exact).
 */
export function maskBodySecrets(bytes: Uint8Array): Uint8Array {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const masked = maskBodySecretText(text);
  return masked === text ? bytes : Buffer.from(masked, 'latin1');
}

/** A key safe for the unique btree index and for `text`: unsafe or long keys become their SHA-256. */
export function storableKey(key: string): string {
  if (key.length <= maxKeyLength && storableString(key) === key) return key;
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

function storableEventType(type: string | null): string | null {
  if (type === null) return null;
  const safe = storableString(type);
  return safe.length > maxKeyLength ? safe.slice(0, maxKeyLength) : safe;
}

/**
 * The columns stored for an accepted body. `payload` is the exact JSON text for a plain JSON object
 * body in valid UTF-8; otherwise (array, sanitized, invalid UTF-8) it is the re-serialized event, and `raw_body` keeps the
 * exact bytes (with body secrets masked — a secret is never stored, exact or not).
 */
export function storedBody(bytes: Uint8Array, text: string, parsed: ParsedBody): { payload: string | null; rawBody: Uint8Array | null } {
  if (!parsed.ok) return { payload: null, rawBody: maskBodySecrets(bytes) };
  // Body secrets (`secret_key`) never reach storage, whatever the source (issue 13).
  const redacted = redactBodySecrets(text, parsed);
  const had = redacted.parsed !== parsed;
  // Invalid UTF-8 was decoded to U+FFFD, a leading byte order mark was dropped by the decoder: the text
  // is no longer the exact body, so the bytes are kept.
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const exact = !parsed.isArray && !parsed.sanitized && !bom && isUtf8(bytes);
  if (!had && exact) return { payload: text, rawBody: null };
  if (had && exact) return { payload: redacted.text, rawBody: null };
  return { payload: JSON.stringify(redacted.parsed.event), rawBody: maskBodySecrets(bytes) };
}

/** Builds the `webhook_logs` row of an accepted (verified) request: headers redacted, dedupe key per SPEC §3. */
export function buildAcceptedRow(args: {
  tenantId: string;
  source: Source;
  bytes: Uint8Array;
  text: string;
  parsed: ParsedBody & { ok: true };
  headers: Record<string, string | undefined>;
  /** The URL's `?event=` (ManyChat: the event type when the body names none). */
  urlEvent?: string;
}): IntakeRow {
  const { source, parsed } = args;
  const stored = storedBody(args.bytes, args.text, parsed);
  return {
    tenantId: args.tenantId,
    source,
    eventType: storableEventType(intakeEventType(source, parsed.event, args.urlEvent)),
    dedupeKey: storableKey(dedupeKeyOf(source, parsed.event, args.bytes)),
    headers: storedHeaders(args.headers),
    payload: stored.payload,
    rawBody: stored.rawBody,
    status: 'received',
    errorMessage: null,
  };
}

/**
 * The row of a verified delivery that cannot be parsed safely (nested past `maxJsonDepth`): stored
 * with its exact bytes and no payload, `failed` at once with the reason, so the sender gets its 200
 * and an operator sees why. Its dedupe key is the body hash, so the provider's retries are duplicates.
 */
export function buildUnparseableRow(args: {
  tenantId: string;
  source: Source;
  bytes: Uint8Array;
  headers: Record<string, string | undefined>;
  reason: string;
}): IntakeRow {
  return {
    tenantId: args.tenantId,
    source: args.source,
    eventType: null,
    dedupeKey: storableKey(dedupeKeyOf(args.source, undefined, args.bytes)),
    headers: storedHeaders(args.headers),
    payload: null,
    rawBody: maskBodySecrets(args.bytes),
    status: 'failed',
    errorMessage: args.reason,
  };
}

/**
 * The redacted headers of a request as stored JSON, within about `storedHeadersChars`: past it,
 * values are cut to `storedHeaderValueChars` and headers that still do not fit are left out and
 * counted (`x-mcb-headers-left-out`). Anyone who knows a URL can send a rejected request, and any
 * sender can add headers to a signed one (signatures cover the body only).
 */
export function storedHeaders(headers: Record<string, string | undefined>): string {
  const redacted = redactHeaders(headers);
  const whole = JSON.stringify(redacted);
  if (whole.length <= storedHeadersChars) return whole;
  const kept: Record<string, string> = {};
  let size = 2;
  let leftOut = 0;
  for (const [name, value] of Object.entries(redacted)) {
    const cut = value.length > storedHeaderValueChars ? `${value.slice(0, storedHeaderValueChars)}… (${value.length} chars)` : value;
    const cost = JSON.stringify(name).length + JSON.stringify(cut).length + 2;
    if (size + cost > storedHeadersChars - 40) leftOut++;
    else {
      kept[name] = cut;
      size += cost;
    }
  }
  if (leftOut > 0) kept['x-mcb-headers-left-out'] = String(leftOut);
  return JSON.stringify(kept);
}

/**
 * The row of a rejected request (SPEC §3): never parsed, the first `rejectedBodyPrefixBytes` of the
 * body (secrets masked) and the redacted headers — evidence for an operator, never input.
 */
export function buildRejectedRow(args: {
  tenantId: string;
  source: Source;
  bytes: Uint8Array;
  headers: Record<string, string | undefined>;
  errorMessage: string;
}): IntakeRow {
  // Masked before it is cut, so a secret across the cut cannot leave half of itself behind.
  const prefix = maskBodySecrets(args.bytes).subarray(0, rejectedBodyPrefixBytes);
  const truncated = args.bytes.byteLength > rejectedBodyPrefixBytes;
  return {
    tenantId: args.tenantId,
    source: args.source,
    eventType: null,
    dedupeKey: dedupeKeyOf(args.source, undefined, args.bytes),
    headers: storedHeaders(args.headers),
    payload: null,
    rawBody: prefix,
    status: 'rejected',
    errorMessage: truncated
      ? `${args.errorMessage} (body ${args.bytes.byteLength} bytes, first ${rejectedBodyPrefixBytes} kept)`
      : args.errorMessage,
  };
}
