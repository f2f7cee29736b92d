/** Body fields that carry a tenant secret (Denefits via Make.com, SPEC §3.1; other tools by mistake). */
export const bodySecretFields = ['secret_key'] as const;

const redacted = '[redacted]';

/**
 * The JSON string literal of `name` as JSON.parse reads it: each character itself or its `\uXXXX`
 * escape (hex in either case), so `"secret\u005fkey"` is found as surely as `"secret_key"`. A bounded
 * pattern (one alternative per character, no nested repetition): linear over any body.
 */
function jsonNameLiteral(name: string): string {
  const char = (c: string) => {
    const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
    const escaped = [...hex].map((h) => (/[a-f]/.test(h) ? `[${h}${h.toUpperCase()}]` : h)).join('');
    return `(?:${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}|\\\\u${escaped})`;
  };
  return `"${[...name].map(char).join('')}"`;
}

// `"secret_key": "…"` (the name escaped or not) in JSON text, and `secret_key=…` (`_` raw or as `%5F`)
// in form-encoded or other text.
const jsonField = new RegExp(`(${bodySecretFields.map(jsonNameLiteral).join('|')}\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'g');
const formField = /(\bsecret(?:_|%5[fF])key=)[^&\s]*/g;

/**
 * `text` with every `"secret_key": "…"` and `secret_key=…` value masked, at any depth (a text scan:
 * any body, parsed or not, valid JSON or not). A name spelt with escapes (`"secret\u005fkey"`) is the
 * same name to JSON.parse and to the Denefits verifier (`bodySecret`), so it is masked too.
 */
export function maskBodySecretText(text: string): string {
  // The names cannot appear, even escaped, in a text with neither `secret` nor a `\u` escape.
  if (!text.includes('secret') && !text.includes('\\u')) return text;
  return text.replace(jsonField, `$1"${redacted}"`).replace(formField, `$1${redacted}`);
}

function hasSecretField(event: unknown): event is Record<string, unknown> {
  return !!event && typeof event === 'object' && !Array.isArray(event) && bodySecretFields.some((f) => f in event);
}

function firstEvent(text: string): unknown {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v[0] : v;
  } catch {
    return undefined;
  }
}

/**
 * Removes body secrets before a delivery is stored, whatever its source and whether it was accepted
 * or rejected (issue 13): a top-level `secret_key` of the event (the body, or its first element) is
 * replaced by `[redacted]` in the parsed event and in the text. The text stays as close to the exact
 * body as possible (only the value is replaced); when that cannot be done textually (e.g. an escaped
 * key), the text is re-serialized from the redacted event. A body that is not JSON has `secret_key=`
 * values masked. Pure; returns the inputs unchanged (same objects) when there is nothing to redact.
 */
export function redactBodySecrets<P extends { ok: true; event: unknown } | { ok: false }>(
  text: string,
  parsed: P,
): { text: string; parsed: P } {
  if (!parsed.ok) return { text: maskBodySecretText(text), parsed };
  const event = (parsed as { event: unknown }).event;
  if (!hasSecretField(event)) return { text, parsed };
  const clean: Record<string, unknown> = { ...event };
  for (const f of bodySecretFields) if (f in clean) clean[f] = redacted;
  let safeText = text.replace(jsonField, `$1"${redacted}"`);
  const reread = firstEvent(safeText);
  if (hasSecretField(reread) && bodySecretFields.some((f) => f in reread && reread[f] !== redacted)) {
    const whole: unknown = JSON.parse(text);
    safeText = JSON.stringify(Array.isArray(whole) ? [clean, ...whole.slice(1)] : clean);
  }
  return { text: safeText, parsed: { ...parsed, event: clean } };
}
