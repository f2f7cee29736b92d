import { isIPv6 } from 'node:net';

/**
 * The key a client's failed sign-ins count under: an IPv6 address by its /64 (one subscriber or host
 * commonly holds a whole /64, so counting per address gave such a client endless guesses), an
 * IPv4-mapped IPv6 address as its IPv4 address, anything else as it is.
 */
export function signInClientKey(address: string): string {
  const a = address.trim().toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(a)) return address;
  const [head = '', tail] = a.split('::');
  const groupsOf = (part: string) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const h = groupsOf(head);
  const t = tail === undefined ? [] : groupsOf(tail);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Failed sign-ins of one client within the current window. */
interface Entry {
  failures: number;
  windowStart: number;
  /** Set once the client is blocked in this window (so the block is logged once). */
  blockedLogged: boolean;
}

export interface SignInLimiter {
  /** Milliseconds until `client` may try again, or 0 when it may try now. */
  retryAfterMs(client: string): number;
  /** Records a failure; `justBlocked` is true the first time this failure reaches the limit. */
  fail(client: string): { failures: number; justBlocked: boolean };
  /** A successful sign-in clears the client's failures. */
  succeed(client: string): void;
}

/**
 * Per-client limit on failed sign-ins (wrong token on `/login` or as a bearer token): after
 * `maxFailures` within `windowMs` the client is refused until its window ends. In-process; each
 * console process counts on its own. Entries are dropped when their window ends.
 */
export function createSignInLimiter(options: { maxFailures: number; windowMs: number; now?: () => number }): SignInLimiter {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();

  const current = (client: string): Entry | undefined => {
    const entry = entries.get(client);
    if (entry && now() - entry.windowStart >= options.windowMs) {
      entries.delete(client);
      return undefined;
    }
    return entry;
  };

  const prune = () => {
    if (entries.size < 10_000) return;
    for (const [client, entry] of entries) if (now() - entry.windowStart >= options.windowMs) entries.delete(client);
  };

  return {
    retryAfterMs(client) {
      const entry = current(client);
      return entry && entry.failures >= options.maxFailures ? entry.windowStart + options.windowMs - now() : 0;
    },
    fail(client) {
      prune();
      const entry = current(client) ?? { failures: 0, windowStart: now(), blockedLogged: false };
      entry.failures += 1;
      entries.set(client, entry);
      const justBlocked = entry.failures >= options.maxFailures && !entry.blockedLogged;
      if (justBlocked) entry.blockedLogged = true;
      return { failures: entry.failures, justBlocked };
    },
    succeed(client) {
      entries.delete(client);
    },
  };
}
