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
