/**
 * THE module for waiting: retries with exponential backoff and jitter, sleeps that end at once on
 * shutdown (`AbortSignal`), and timeouts around a promise. Nothing else in the repo writes a retry
 * loop, a `setTimeout` sleep or a `Promise.race` timeout of its own. Whether an error is worth
 * retrying is the caller's call (`retryable`); for jobs it is decided in apps/worker/src/errors.ts.
 */
import { McbError } from './errors';

/**
 * Resolves after `ms` (negative or NaN: at once). When `signal` aborts — before or during the wait —
 * rejects at once with `signal.reason` (an `AbortError` `DOMException` unless the aborter gave one).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms || 0),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface BackoffOptions {
  /** Wait before the first retry (ms); doubles with each further retry. */
  baseMs: number;
  /** Upper bound of the doubled step (ms). Default 10 s. */
  maxMs?: number;
  /**
   * Randomness, so that many callers failing together do not retry together: a fraction (0.25 adds
   * 0 to 25 % of the step; 0 for none) or `'full'` (anywhere from 0 to the step). Default 0.25.
   */
  jitter?: number | 'full';
}

/**
 * The wait before retry number `attempt` (0 for the first retry): `min(maxMs, baseMs·2^attempt)`,
 * then jittered. Bounds: `[step, step·(1 + jitter)]`, or `[0, step]` with `'full'`.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const { baseMs, maxMs = 10_000, jitter = 0.25 } = options;
  const step = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return jitter === 'full' ? step * random() : step * (1 + jitter * random());
}

export interface RetryOptions extends BackoffOptions {
  /** Attempts after the first one: `fn` runs at most `retries + 1` times. */
  retries: number;
  /** Whether this failure may be tried again (default: every failure). A `false` rethrows it at once. */
  retryable?: (err: unknown) => boolean;
  /** A wait the failure asks for itself (a `Retry-After` header) instead of the backoff step; null: the step. */
  waitOf?: (err: unknown) => number | null;
  /** Called before each wait (logging). */
  onRetry?: (info: { err: unknown; attempt: number; waitMs: number }) => void;
  /** Shutdown: no further attempt starts, and a wait under way rejects at once with `signal.reason`. */
  signal?: AbortSignal;
  random?: () => number;
}

/**
 * Runs `fn(attempt)` (attempt 0, 1, …) until it resolves, retrying the failures `retryable` accepts
 * after `backoffDelay` (or `waitOf`). Rethrows the last failure when the retries are spent or the
 * signal has aborted; `fn` must be safe to run again (idempotent).
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= options.retries || options.signal?.aborted || !(options.retryable?.(err) ?? true)) throw err;
      const waitMs = options.waitOf?.(err) ?? backoffDelay(attempt, options, options.random);
      options.onRetry?.({ err, attempt: attempt + 1, waitMs });
      await sleep(waitMs, options.signal);
    }
  }
}

/**
 * What `withTimeout` rejects with: an `McbError` `unavailable` (503 over HTTP, retried by the worker)
 * named `'TimeoutError'`, message `<what> timed out after <ms> ms`.
 */
export class TimeoutError extends McbError {
  constructor(what: string, ms: number) {
    super('unavailable', `${what} timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Settles as `work` does, or rejects with a `TimeoutError` after `ms`, whichever comes first. The
 * caller's wait ends; `work` itself is not cancelled and may still settle later, unobserved (abort it
 * with a signal of its own if it must stop). For every wait that must not hang on what might never
 * settle (a lookup on the request path, a batch run, a reconciler round, a connection whose backend
 * died). The timer never keeps the process alive and is cleared as soon as `work` settles.
 */
export function withTimeout<T>(work: PromiseLike<T>, ms: number, what = 'operation'): Promise<T> {
  return raceTimer(Promise.resolve(work), ms, (_, reject) => reject(new TimeoutError(what, ms)));
}

/** `withTimeout` under the name the worker's webhook path calls it by. */
export const withDeadline = withTimeout;

/**
 * Waits for `promise` at most `ms`: true when it resolved in time, false when the time ran out (it
 * keeps running). Its rejection, within the time, is passed on. For bounded waits in shutdown.
 */
export function waitAtMost(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return raceTimer(
    promise.then(() => true),
    ms,
    (resolve) => resolve(false),
  );
}

function raceTimer<T>(
  promise: Promise<T>,
  ms: number,
  onTime: (resolve: (v: T) => void, reject: (e: unknown) => void) => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => onTime(resolve, reject), Math.max(0, ms));
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
