import { McbError } from '@mcb/core';
import { ManyChatError } from '@mcb/manychat';
import { UnrecoverableError } from 'bullmq';

/** A failure that retrying cannot fix (bad payload, missing log, bad credentials). Processors throw it. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

const permanentMcbCodes = new Set(['unknown_tenant', 'missing_credentials', 'invalid_config', 'bad_request', 'not_found', 'invalid_json']);

/**
 * THE place that decides whether a job error is retried (exponential backoff, JOB_ATTEMPTS) or is
 * final (`UnrecoverableError`: the job fails at once and stays visible as failed for a manual replay).
 * - permanent: `PermanentJobError`, `UnrecoverableError`, typed config/credential errors, ManyChat 4xx,
 *   Postgres data/integrity/permission errors (classes 22, 23 except unique races, 42);
 * - retried: everything else — connection refused/reset, timeouts, Postgres unavailable (08, 53, 57),
 *   deadlocks and serialization failures (40), ManyChat 5xx/429, unknown errors.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof UnrecoverableError || err instanceof PermanentJobError) return false;
  if (err instanceof ManyChatError) return err.retryable;
  if (err instanceof McbError) return !permanentMcbCodes.has(err.code);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    if (code === '23505') return true;
    return !(code.startsWith('22') || code.startsWith('23') || code.startsWith('42'));
  }
  return true;
}

/** Rethrow form of `isRetryable`: the error itself (retried) or an `UnrecoverableError` with its message. */
export function toJobError(err: unknown): Error {
  if (err instanceof UnrecoverableError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (!isRetryable(err)) return new UnrecoverableError(message);
  return err instanceof Error ? err : new Error(message);
}
