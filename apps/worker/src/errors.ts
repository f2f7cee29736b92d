import type { Logger } from '@mcb/core';
import { McbError } from '@mcb/core';
import { ManyChatError } from '@mcb/manychat';
import { MetaRateLimited, MetaRequestError, MetaSyncBudgetSpent, MetaTokenExpired, MetaTransientError } from '@mcb/meta';
import { MailerError } from '@mcb/reports';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';

/** A failure that retrying cannot fix (bad payload, missing log, bad credentials). Processors throw it. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

/** What becomes of a failed job. */
export type JobFailure =
  /** Thrown again: BullMQ retries it with exponential backoff, up to JOB_ATTEMPTS. */
  | { kind: 'retry'; message: string }
  /** `UnrecoverableError`: fails at once and stays visible as failed for a manual replay. */
  | { kind: 'final'; message: string }
  /** Rate limited, or a sync's time budget spent: moved to delayed for `waitMs` (attempts are not consumed). */
  | { kind: 'delay'; message: string; waitMs: number };

const permanentMcbCodes = new Set(['unknown_tenant', 'missing_credentials', 'invalid_config', 'bad_request', 'not_found', 'invalid_json']);

/**
 * THE place that decides, for every job type, whether a failure is retried, final or delayed.
 * - final: `PermanentJobError`, `UnrecoverableError`, typed config/credential errors, Meta 190 and
 *   other Graph refusals (`MetaTokenExpired`, `MetaRequestError`), ManyChat and Resend 4xx
 *   (`retryable: false`), Postgres data/integrity/permission errors (classes 22, 23 except unique
 *   races, 42) and program limits (54: an index row too large for its value, stack depth — the same
 *   data fails the same way; a 6 KB identifier was retried 8 times over 130 s);
 * - delay: Meta rate limits (`MetaRateLimited`), for the wait Meta announced; a Meta sync whose time
 *   budget ran out (`MetaSyncBudgetSpent`, checkpoint saved), for a short pause;
 * - retry: everything else — 5xx, connection refused/reset, timeouts, aborts at shutdown, Postgres
 *   unavailable (08, 53, 57), deadlocks and serialization failures (40), unknown errors.
 * Clients retry briefly inside a call (`retry` of @mcb/core); what outlives that comes here.
 */
export function classifyJobError(err: unknown): JobFailure {
  const message = err instanceof Error ? err.message : String(err);
  const final = { kind: 'final', message } as const;
  const retry = { kind: 'retry', message } as const;
  if (err instanceof UnrecoverableError || err instanceof PermanentJobError) return final;
  if (err instanceof MetaRateLimited || err instanceof MetaSyncBudgetSpent) return { kind: 'delay', message, waitMs: err.waitMs };
  if (err instanceof MetaTokenExpired || err instanceof MetaRequestError) return final;
  if (err instanceof MetaTransientError) return retry;
  if (err instanceof ManyChatError || err instanceof MailerError) return err.retryable ? retry : final;
  if (err instanceof McbError) return permanentMcbCodes.has(err.code) ? final : retry;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && code !== '23505')
    return ['22', '23', '42', '54'].includes(code.slice(0, 2)) ? final : retry;
  return retry;
}

/** True unless `classifyJobError` calls the failure final (a delayed one is tried again too). */
export function isRetryable(err: unknown): boolean {
  return classifyJobError(err).kind !== 'final';
}

/** Rethrow form of `classifyJobError`: the error itself (retried) or an `UnrecoverableError` with its message. */
export function toJobError(err: unknown): Error {
  if (err instanceof UnrecoverableError) return err;
  const failure = classifyJobError(err);
  if (failure.kind === 'final') return new UnrecoverableError(failure.message);
  return err instanceof Error ? err : new Error(failure.message);
}

/**
 * How an integration job (`meta.sync`, `capi.send`) ends after `err`, as `classifyJobError` decides:
 * delayed until Meta's reset (after `beforeDelay`, e.g. saving a checkpoint); final → `record(lastError)`
 * then `UnrecoverableError`; retried → `record(lastError)` on the last attempt, `record(lastError + ' (attempt n of N, will retry)')`
 * before it. Always throws.
 */
export async function failIntegrationJob(
  job: Job,
  err: unknown,
  options: {
    token: string | undefined;
    log: Logger;
    /** What the integration's `last_error` should say (never a secret). */
    lastError: string;
    record: (lastError: string) => Promise<void>;
    beforeDelay?: () => Promise<void>;
    /** Fields logged with the delay. */
    delayLog?: Record<string, unknown>;
  },
): Promise<never> {
  const failure = classifyJobError(err);
  const { log, lastError } = options;
  if (failure.kind === 'delay') {
    await options.beforeDelay?.();
    await job.moveToDelayed(Date.now() + failure.waitMs, options.token ?? job.token);
    log.warn({ waitMs: failure.waitMs, reason: failure.message, ...options.delayLog }, `${job.name} delayed`);
    throw new DelayedError();
  }
  if (failure.kind === 'final') {
    await options.record(lastError);
    log.error({ err: lastError }, `${job.name} failed permanently`);
    throw new UnrecoverableError(lastError);
  }
  // Recorded at every attempt, not only the last: with 8 attempts and exponential backoff the last came
  // 10+ minutes after the first failure, and `mcb capi status` said "last error -" all along (operator
  // walk, stop 37). A retried one says so; the run that succeeds clears it.
  const attempt = job.attemptsMade + 1;
  const attempts = job.opts.attempts ?? 1;
  await options.record(attempt >= attempts ? lastError : `${lastError} (attempt ${attempt} of ${attempts}, will retry)`).catch(() => {});
  throw toJobError(err);
}
