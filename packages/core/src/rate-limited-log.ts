import type { Logger } from './logger';

/** A warn-level log line that repeats at most once per interval, counting what it held back. */
export type RateLimitedWarn = (fields: Record<string, unknown>, message: string) => void;

/**
 * Logs the first call at once, then at most one line per `intervalMs`; each line carries
 * `suppressed`, how many calls were held back since the previous line. For error events that can
 * fire many times a second (a Redis client reconnecting), so they are seen without flooding.
 */
export function createRateLimitedWarn(
  log: Pick<Logger, 'warn'>,
  options: { intervalMs?: number; now?: () => number } = {},
): RateLimitedWarn {
  const intervalMs = options.intervalMs ?? 10_000;
  const now = options.now ?? Date.now;
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (fields, message) => {
    const t = now();
    if (t - last < intervalMs) {
      suppressed += 1;
      return;
    }
    log.warn({ ...fields, suppressed }, message);
    last = t;
    suppressed = 0;
  };
}
