import { redactHeaders } from '@mcb/core';
import { dedupeKeyOf, intakeEventType, redactBodySecrets, type Source } from '@mcb/sources';
import type { IntakeRow } from './group-commit';

const decoder = new TextDecoder('utf-8');

/** Body text for storage; invalid UTF-8 becomes U+FFFD (the signature was checked over the bytes). */
export function bodyText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

// Postgres' jsonb refuses `\u0000` and unpaired surrogate escapes that JSON.parse accepts; one such
// body must not fail the whole group-commit batch it travels in.
const riskyEscape = /\\u(0000|d[89a-f][0-9a-f]{2})/i;

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function sanitize(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD').replace(loneSurrogate, '\uFFFD');
  if (Array.isArray(value)) return value.map(sanitize);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[sanitize(k) as string] = sanitize(v);
    return out;
  }
  return value;
}

/** Text that Postgres accepts as `text` (no NUL bytes). */
export function storableText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

export type ParsedBody = { ok: true; event: unknown; isArray: boolean } | { ok: false };

/** Parses the body; a JSON array is one event, its first element (SPEC §3). An empty array is no event. */
export function parseBody(text: string): ParsedBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false };
  }
  if (Array.isArray(parsed)) return parsed.length > 0 ? { ok: true, event: parsed[0], isArray: true } : { ok: false };
  return { ok: true, event: parsed, isArray: false };
}

/**
 * The columns stored for a body. `payload` is the exact JSON text when the body is one JSON object;
 * for an array body it is the event (first element) and `raw_body` keeps the exact text. The
 * Denefits `secret_key` body field is a tenant secret: it is replaced before storage.
 */
export function storedBody(source: Source, text: string, parsed: ParsedBody): { payload: string | null; rawBody: string | null } {
  if (!parsed.ok) return { payload: null, rawBody: storableText(text) };
  let event = parsed.event;
  let mustReserialize = parsed.isArray;
  if (source === 'denefits' && event && typeof event === 'object' && !Array.isArray(event) && 'secret_key' in event) {
    event = { ...(event as Record<string, unknown>), secret_key: '[redacted]' };
    return { payload: JSON.stringify(riskyEscape.test(text) ? sanitize(event) : event), rawBody: null };
  }
  if (riskyEscape.test(text)) {
    event = sanitize(event);
    mustReserialize = true;
  }
  if (!mustReserialize) return { payload: text, rawBody: null };
  return { payload: JSON.stringify(event), rawBody: storableText(text) };
}

/** Builds the `webhook_logs` row for one request (headers redacted, dedupe key per SPEC §3). */
export function buildRow(args: {
  tenantId: string;
  source: Source;
  bytes: Uint8Array;
  text: string;
  parsed: ParsedBody;
  headers: Record<string, string | undefined>;
  status: 'received' | 'rejected';
  errorMessage: string | null;
  /** The URL's `?event=` (ManyChat: the event type when the body names none). */
  urlEvent?: string;
}): IntakeRow {
  const { source } = args;
  // Body secrets (`secret_key`) never reach storage, accepted or rejected, whatever the source.
  const { text, parsed } = redactBodySecrets(args.text, args.parsed);
  const event = parsed.ok ? parsed.event : undefined;
  const stored = storedBody(source, text, parsed);
  return {
    tenantId: args.tenantId,
    source,
    eventType: parsed.ok ? intakeEventType(source, event, args.urlEvent) : null,
    dedupeKey: dedupeKeyOf(source, event, args.bytes),
    headers: JSON.stringify(redactHeaders(args.headers)),
    payload: stored.payload,
    rawBody: stored.rawBody,
    status: args.status,
    errorMessage: args.errorMessage,
  };
}
