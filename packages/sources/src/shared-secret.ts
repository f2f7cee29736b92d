import { createHash, timingSafeEqual } from 'node:crypto';
import type { VerifyResult, WebhookHeaders, WebhookQuery } from './verify';

/**
 * Constant-time string comparison — the repo's one (webhook secrets here, the console's admin token).
 * Both sides are hashed first so neither the content nor the length of the expected secret leaks
 * through timing.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** True when any presented value equals any expected secret; every pair is compared (no early exit). */
export function matchesAnySecret(presented: readonly string[], secrets: readonly string[]): boolean {
  let ok = false;
  for (const p of presented) {
    for (const s of secrets) {
      if (s && constantTimeEqual(p, s)) ok = true;
    }
  }
  return ok;
}

/**
 * Secrets a request presents: `X-Webhook-Secret`, `Authorization: Bearer …`, `?secret=` (SPEC §3.1).
 * Headers are expected with lowercase names.
 */
export function presentedSecrets(headers: WebhookHeaders, query: WebhookQuery): string[] {
  const out: string[] = [];
  const header = headers['x-webhook-secret']?.trim();
  if (header) out.push(header);
  const auth = headers.authorization;
  const bearer = auth ? /^Bearer\s+(.+)$/i.exec(auth.trim())?.[1]?.trim() : undefined;
  if (bearer) out.push(bearer);
  const q = query.secret?.trim();
  if (q) out.push(q);
  return out;
}

/** The raw body's event as an object (a JSON array body is one event, its first element), or null. */
export function bodyEvent(rawBody: Uint8Array): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength).toString('utf8'));
  } catch {
    return null;
  }
  const event = Array.isArray(parsed) ? parsed[0] : parsed;
  return event && typeof event === 'object' && !Array.isArray(event) ? (event as Record<string, unknown>) : null;
}

const quote = 0x22;
const backslash = 0x5c;
const colon = 0x3a;

/** First index at or after `i` that is not JSON whitespace. */
function skipWhitespace(bytes: Buffer, i: number): number {
  let j = i;
  while (bytes[j] === 0x20 || bytes[j] === 0x0a || bytes[j] === 0x0d || bytes[j] === 0x09) j++;
  return j;
}

/** Index of the quote closing the JSON string opened at `open`, or -1 (unterminated). */
function stringEnd(bytes: Buffer, open: number): number {
  for (let j = open + 1; j < bytes.length; j++) {
    const c = bytes[j];
    if (c === quote) return j;
    if (c === backslash) j++;
  }
  return -1;
}

/** The value of a hexadecimal digit's byte, or -1. */
function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * Whether the string literal at [start, end) names `field` (`key` is its literal) as JSON.parse reads
 * it, escapes included (`"secret\u005fkey"`).
 */
function isName(bytes: Buffer, start: number, end: number, key: Buffer, field: string): boolean {
  // Escaped, each of its characters is itself or `\uXXXX`: between key.length and 6× as long.
  if (end - start < key.length || end - start > (key.length - 2) * 6 + 2) return false;
  // Compared as it is read, character by character, stopping at the first that differs: no decoding
  // of names that are not it (a body of 70,000 escaped names would cost JSON.parse 45 ms).
  let k = 0;
  for (let j = start + 1; j < end - 1; j++, k++) {
    let code = bytes[j] as number;
    if (code === backslash) {
      const e = bytes[++j];
      if (e === 0x75) {
        code = 0;
        for (let h = 0; h < 4; h++) {
          const d = hexDigit(bytes[++j]);
          if (d < 0) return false;
          code = code * 16 + d;
        }
      } else code = e === 0x22 || e === backslash || e === 0x2f ? e : -1; // \b \f \n \r \t are not in a name we look for
    }
    if (k >= field.length || code !== field.charCodeAt(k)) return false;
  }
  return k === field.length;
}

/**
 * Body field `field` (default `secret_key`, Denefits relayed by Make.com, SPEC §3.1) as JSON.parse
 * would find it: a string member of the body's event — the body object, or a JSON array body's first
 * element — the last one when repeated; trimmed, `undefined` when absent, empty or not a string.
 *
 * Read before anything is verified, so anyone can make it run: the body is never parsed. A body
 * without the quoted name (`"secret_key"`) or a `\u` escape in it is not read further (native searches); otherwise one
 * linear pass over the bytes, with no recursion, follows the event's top level, and only the value's
 * own string literal is decoded (`JSON.parse` of it, once). Parsing whole bodies here cost 60–80 ms per MiB of
 * `{}` or of distinct keys, none of which the intake's shape limits stop. A key is matched as JSON.parse
 * reads it, escapes included (`"secret\u005fkey"`). Not a validator: text that is not JSON may yield a
 * value, which still has to equal the tenant's secret.
 */
export function bodySecret(rawBody: Uint8Array, field = 'secret_key'): string | undefined {
  const bytes = Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  const key = Buffer.from(JSON.stringify(field), 'utf8');
  // Escaped, the name holds a `\u` (it has no quote, backslash or slash to escape otherwise).
  if (bytes.indexOf(key) === -1 && bytes.indexOf('\\u') === -1) return undefined;
  let i = skipWhitespace(bytes, 0);
  if (bytes[i] === 0x5b) i = skipWhitespace(bytes, i + 1);
  if (bytes[i] !== 0x7b) return undefined;
  // The literal of the last `field` member whose value is a string: [start, end).
  let literal: [number, number] | null = null;
  let depth = 0;
  for (; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === quote) {
      const end = stringEnd(bytes, i);
      if (end === -1) break;
      const after = depth === 1 ? skipWhitespace(bytes, end + 1) : -1;
      if (after !== -1 && bytes[after] === colon) {
        // A member name of the event.
        if (isName(bytes, i, end + 1, key, field)) {
          const start = skipWhitespace(bytes, after + 1);
          const close = bytes[start] === quote ? stringEnd(bytes, start) : -1;
          literal = close === -1 ? null : [start, close + 1];
          i = close === -1 ? after : close;
          continue;
        }
        i = after;
      } else i = end;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d || c === 0x5d) && --depth === 0) break;
  }
  if (!literal) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8', literal[0], literal[1]));
  } catch {
    return undefined;
  }
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/**
 * The shared-secret scheme of the sources without native signing (manychat, perspective, denefits with
 * its body field, unsigned GHL workflow webhooks): each provider's verify.ts calls it. Pure:
 * `(rawBody, headers, query, secrets, now)`; `now` is unused but kept for the common verifier shape.
 * `no_secret` when the tenant has no active secret. With `bodyField`, the body's field (`bodySecret`) is
 * read only when no header or `?secret=` secret was presented.
 */
export function verifySharedSecret(
  rawBody: Uint8Array,
  headers: WebhookHeaders,
  query: WebhookQuery,
  secrets: readonly string[],
  _now: Date,
  options: { bodyField?: string } = {},
): VerifyResult {
  const active = secrets.filter(Boolean);
  if (active.length === 0) return { ok: false, reason: 'no_secret' };
  const presented = presentedSecrets(headers, query);
  // The body is read only when nothing else was presented: a header or `?secret=` is the answer.
  if (options.bodyField && presented.length === 0) {
    const fromBody = bodySecret(rawBody, options.bodyField);
    if (fromBody) presented.push(fromBody);
  }
  if (presented.length === 0) return { ok: false, reason: 'missing_signature' };
  return matchesAnySecret(presented, active) ? { ok: true, method: 'shared_secret' } : { ok: false, reason: 'invalid_signature' };
}
