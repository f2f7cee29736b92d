/** Body fields that carry a tenant secret (Denefits via Make.com, SPEC §3.1; other tools by mistake). */
export const bodySecretFields = ['secret_key'] as const;

const redacted = '[redacted]';
// `"secret_key": "…"` in JSON text and `secret_key=…` in form-encoded or other text.
const jsonField = /("secret_key"\s*:\s*)"(?:[^"\\]|\\.)*"/g;
const formField = /(\bsecret_key=)[^&\s]*/g;

/** `text` with every `"secret_key": "…"` and `secret_key=…` value masked (a text scan: any body, parsed or not). */
export function maskBodySecretText(text: string): string {
  return text.includes('secret_key') ? text.replace(jsonField, `$1"${redacted}"`).replace(formField, `$1${redacted}`) : text;
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
