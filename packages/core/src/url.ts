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
