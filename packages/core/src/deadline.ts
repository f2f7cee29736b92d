import { McbError } from './errors';

/**
 * `work`, or a rejection with McbError `unavailable` once `ms` have passed without it settling (the
 * caller's wait ends; `work` itself is not cancelled and may still settle later, unobserved). For waits
 * that shared machinery must never hang on — a batch run, a reconciler round — when the thing awaited
 * (a database connection whose backend died, a socket nobody closes) might not settle. `unavailable`
 * is retried by the worker (apps/worker/src/errors.ts).
 */
export function withDeadline<T>(work: PromiseLike<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new McbError('unavailable', `${what} did not settle within ${ms} ms`)), ms);
  });
  const settled = Promise.resolve(work);
  // An outcome that arrives after the deadline is nobody's: do not let it become an unhandled rejection.
  settled.catch(() => {});
  return Promise.race([settled, expired]).finally(() => clearTimeout(timer));
}
