/** Headers whose values are secrets or signatures; stored and logged as `[redacted]`. */
const secretHeaderNames = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'stripe-signature',
  'x-webhook-secret',
  'x-ghl-signature',
  'x-wh-signature',
  'x-api-key',
  'proxy-authorization',
]);

/** Returns a copy of `headers` (lowercased names) safe to store and log: secrets replaced. */
export function redactHeaders(headers: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    out[key] = secretHeaderNames.has(key) ? '[redacted]' : value;
  }
  return out;
}

/** Drops the query string from a URL or path, so a `?secret=` never reaches a log line. */
export function redactUrl(url: string): string {
  const i = url.indexOf('?');
  return i === -1 ? url : `${url.slice(0, i)}?[redacted]`;
}

/** Masks all but the last 4 characters (`••••••1234`); short values are fully masked. */
export function maskSecret(value: string | null | undefined): string {
  if (!value) return '';
  if (value.length <= 8) return '•'.repeat(value.length);
  return `${'•'.repeat(Math.min(8, value.length - 4))}${value.slice(-4)}`;
}

/** The URL with its password (userinfo or `password=` parameter) replaced by `****`. Unparseable → `<invalid URL>`. */
export function maskUrlPassword(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '<invalid URL>';
  }
  if (parsed.password) parsed.password = '****';
  if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '****');
  return parsed.toString().replaceAll('%2A%2A%2A%2A', '****');
}
