/** Request headers the same-origin check reads (lowercase names). */
export interface OriginHeaders {
  host?: string;
  origin?: string;
  'sec-fetch-site'?: string;
}

export type OriginVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Whether a state-changing request comes from the console's own pages (CSRF defence beyond
 * SameSite). `Sec-Fetch-Site` when the browser sends it (only `same-origin` passes); else `Origin`,
 * which must be `allowedOrigin` when configured, or have the request's own `Host`. A request with
 * neither header passes only when `requireProof` is false (no session cookie rides on it: a
 * non-browser client). Pure.
 */
export function checkSameOrigin(headers: OriginHeaders, options: { allowedOrigin?: string; requireProof: boolean }): OriginVerdict {
  const site = headers['sec-fetch-site']?.trim().toLowerCase();
  if (site) return site === 'same-origin' ? { ok: true } : { ok: false, reason: `Sec-Fetch-Site: ${site}` };
  const origin = headers.origin?.trim();
  if (origin) {
    if (origin === 'null') return { ok: false, reason: 'Origin: null' };
    if (options.allowedOrigin) {
      return origin.replace(/\/+$/, '') === options.allowedOrigin.replace(/\/+$/, '')
        ? { ok: true }
        : { ok: false, reason: `Origin: ${origin}` };
    }
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return { ok: false, reason: 'Origin: malformed' };
    }
    return host && host === headers.host?.trim().toLowerCase() ? { ok: true } : { ok: false, reason: `Origin: ${origin}` };
  }
  return options.requireProof ? { ok: false, reason: 'no Origin or Sec-Fetch-Site header' } : { ok: true };
}
