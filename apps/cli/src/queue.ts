import { type Logger, queueBackendFromEnv, withTimeout } from '@mcb/core';
import { createQueueConnection, type QueueConnection, WebhookEnqueuer, type WebhookJobRef } from '@mcb/queue';
import type { CliEnv } from './env';
import { describeRedisUnavailable } from './unreachable';

/**
 * How long a CLI command waits for Redis: to connect (or reconnect), for one command, and for one whole
 * step (a batch of re-runs, the queue counts). A command never waits for a Redis that is not coming:
 * with Redis down it fails (or, for `replay`, leaves its rows to the reconciler) within seconds.
 */
export const cliRedisBounds = { connectMs: 3_000, commandMs: 3_000, stepMs: 15_000 };

/** Errors that mean "Redis did not answer" rather than "Redis refused this command". */
const unavailableMessages =
  /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET|Connection is closed|Stream isn't writeable|Command timed out|MaxRetriesPerRequest|timed out after/;

/** The queue connection of one CLI command: bounded (`cliRedisBounds`), quiet, and able to say what went wrong in one line. */
export interface CliQueue {
  conn: QueueConnection;
  /** The one line naming REDIS_URL (password masked) and the first connection error Redis reported, or null when it reported none. */
  problemLine(): string | null;
  /**
   * For an error of a Redis step: the one line naming REDIS_URL (password masked) when Redis could not
   * be reached or did not answer; any other error as it is. The Postgres queue backend: as it is.
   */
  unavailable(err: unknown): unknown;
  close(): Promise<void>;
}

/**
 * Opens the CLI's queue connection. Connection errors are not logged (ioredis reports every reconnect;
 * a CLI prints one line instead): the first one is kept for `problemLine()` and `unavailable()`.
 */
export function openCliQueue(env: CliEnv): CliQueue {
  let problem: string | null = null;
  const log = {
    warn: (fields: { err?: unknown }) => {
      if (problem === null && typeof fields.err === 'string') problem = fields.err;
    },
  } as unknown as Pick<Logger, 'warn'>;
  const { connectMs, commandMs } = cliRedisBounds;
  const conn = createQueueConnection(queueBackendFromEnv(env), env.QUEUE_PREFIX, {
    log,
    errorLogIntervalMs: 0,
    failFast: { connectMs, commandMs },
  });
  return {
    conn,
    problemLine: () => (problem === null || conn.backend.kind !== 'redis' ? null : describeRedisUnavailable(problem, env)),
    unavailable(err) {
      if (conn.backend.kind !== 'redis') return err;
      const message = err instanceof Error ? err.message : String(err);
      if (problem === null && !unavailableMessages.test(message)) return err;
      return new Error(describeRedisUnavailable(problem ?? message, env));
    },
    close: () => conn.close(),
  };
}

/** Runs one Redis step within `cliRedisBounds.stepMs`; its failure becomes `CliQueue.unavailable`'s one line. */
export async function redisStep<T>(queue: CliQueue, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await withTimeout(work(), cliRedisBounds.stepMs, what);
  } catch (err) {
    throw queue.unavailable(err);
  }
}

/**
 * The replay's enqueuer: each batch's re-runs are bounded by `cliRedisBounds.stepMs` as a whole, so a
 * Redis that accepts connections but never answers cannot hold a replay either (the batch's rows are
 * then reset but not enqueued, and the reconciler adds them).
 */
export class BoundedEnqueuer extends WebhookEnqueuer {
  override rerun(refs: WebhookJobRef[]): Promise<void> {
    return withTimeout(super.rerun(refs), cliRedisBounds.stepMs, 're-running jobs');
  }
}
