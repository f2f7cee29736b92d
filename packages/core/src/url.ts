/**
 * Host (an IPv6 address without its brackets) and port of a service URL (`postgres://…`, `redis://…`),
 * `defaultPort` when it names none; null when there is no URL or it does not parse.
 */
export function urlEndpoint(url: string | undefined, defaultPort: number): { host: string; port: number } | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : defaultPort };
  } catch {
    return null;
  }
}

/**
 * A failed `fetch`'s message with what Node's network layer said under it: undici's `fetch failed`
 * names neither the cause nor the address, so an operator read "Meta Graph request fetch failed" with
 * no way to tell a DNS failure from a refused port (operator walk, stop 37). With a cause:
 * `fetch failed (ENOTFOUND graph.facebook.com)`, `fetch failed (ECONNREFUSED 127.0.0.1:9)`.
 */
export function networkErrorText(err: unknown): string {
  const e = err as { message?: unknown; cause?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const cause = e?.cause as { code?: unknown; hostname?: unknown; address?: unknown; port?: unknown; message?: unknown } | undefined;
  if (!cause || typeof cause !== 'object') return message;
  const code = typeof cause.code === 'string' ? cause.code : typeof cause.message === 'string' ? cause.message : null;
  const where =
    typeof cause.hostname === 'string'
      ? cause.hostname
      : typeof cause.address === 'string'
        ? `${cause.address}${typeof cause.port === 'number' ? `:${cause.port}` : ''}`
        : null;
  const said = [code, where].filter((p): p is string => !!p && !message.includes(p)).join(' ');
  return said ? `${message} (${said})` : message;
}

/** postgres.js and Node network error codes that mean "nothing answered at that address" (the CLI's and the console's one list). */
export const unreachableErrorCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);
