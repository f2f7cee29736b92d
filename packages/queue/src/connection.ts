import { createLogger, createRateLimitedWarn, type Logger } from '@mcb/core';
import { type ConnectionOptions, createPostgresBackend, Queue, setDefaultBackendFactory } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * Where BullMQ keeps its queues. `redis` is the production setting; `postgres` is BullMQ's own
 * PostgreSQL backend, used by `npm start` only on a machine with no Redis at all.
 */
export type QueueBackend = { kind: 'redis'; url: string } | { kind: 'postgres'; url: string };

export interface QueueConnection {
  backend: QueueBackend;
  /** Options to pass as `connection` to every Queue / Worker / QueueEvents. */
  connection: ConnectionOptions;
  /** Key prefix: lets parallel test runs share one Redis without colliding. */
  prefix: string;
  /**
   * The `error` listener for anything built on this connection (the Redis client, each BullMQ Queue):
   * logs the error, at most one line per 10 s for the whole connection (with how many were held back).
   * `source` names who reported it.
   */
  onError: (source: string) => (err: Error) => void;
  close: () => Promise<void>;
}

/** A connection-wide, rate-limited `error` listener factory (see `QueueConnection.onError`). */
function errorListeners(log: Pick<Logger, 'warn'>, intervalMs: number): QueueConnection['onError'] {
  const warn = createRateLimitedWarn(log, { intervalMs });
  return (source) => (err) => warn({ source, err: err.message }, 'queue backend error');
}

/**
 * For short-lived producers that must not wait for a Redis that may never come (the CLI): how long to
 * keep trying to connect, and how long one command may take. Workers and QueueEvents cannot use it.
 */
export interface FailFast {
  /** Give up connecting (or reconnecting) after this long: the client ends and every waiting call fails. */
  connectMs: number;
  /** Each Redis command fails after this long without an answer. */
  commandMs: number;
}

/**
 * ioredis options that fail instead of waiting: no offline queue (a command while disconnected fails at
 * once instead of waiting for a connection), no per-request retries, a connect and a command timeout,
 * and reconnects only until `connectMs` has passed since the connection was last ready (or created).
 */
function failFastOptions({ connectMs, commandMs }: FailFast): { options: RedisOptions; onReady: () => void } {
  let downSince: number | null = Date.now();
  return {
    options: {
      enableReadyCheck: true,
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: connectMs,
      commandTimeout: commandMs,
      retryStrategy: (times) => {
        downSince ??= Date.now();
        const left = connectMs - (Date.now() - downSince);
        return left <= 0 ? null : Math.min(times * 100, 500, left);
      },
    },
    onReady: () => {
      downSince = null;
    },
  };
}

/**
 * Creates the shared connection for one process. For Redis, one ioredis client with
 * `maxRetriesPerRequest: null` (BullMQ requires it for workers), or with `failFast` the bounded
 * options of `failFastOptions` (Queues only: the CLI). For Postgres, switches BullMQ's process-wide
 * backend factory.
 */
export function createQueueConnection(
  backend: QueueBackend,
  prefix = 'mcb',
  options: { log?: Pick<Logger, 'warn'>; errorLogIntervalMs?: number; failFast?: FailFast } = {},
): QueueConnection {
  const onError = errorListeners(options.log ?? createLogger({ name: 'queue', level: 'warn' }), options.errorLogIntervalMs ?? 10_000);
  if (backend.kind === 'postgres') {
    setDefaultBackendFactory(createPostgresBackend);
    const connection = { connectionString: backend.url, migrate: true } as unknown as ConnectionOptions;
    return { backend, connection, prefix, onError, close: async () => {} };
  }
  const bounded = options.failFast ? failFastOptions(options.failFast) : null;
  const redis = new Redis(
    backend.url,
    bounded?.options ?? {
      maxRetriesPerRequest: null,
      enableReadyCheck: true,
      lazyConnect: false,
    },
  );
  if (bounded) redis.on('ready', bounded.onReady);
  // Connection errors also surface through readiness checks and failed adds; logged here, rate-limited,
  // because ioredis reports every reconnect attempt.
  redis.on('error', onError('redis'));
  return {
    backend,
    connection: redis,
    prefix,
    onError,
    close: async () => {
      redis.disconnect();
    },
  };
}

/** Readiness probe of the queue backend (Redis PING; the Postgres backend shares Postgres). */
export async function pingQueue(queue: QueueConnection): Promise<void> {
  if (queue.backend.kind === 'postgres') return;
  await (queue.connection as Redis).ping();
}

const sharedQueues = new WeakMap<QueueConnection, Map<string, Queue>>();

/**
 * The BullMQ `Queue` named `name` on `conn`, made once and shared by every caller in the process
 * (its errors go to `conn.onError`). For producers that add jobs now and then (ticks, fan-outs); it
 * lives as long as the connection.
 */
export function queueOn(conn: QueueConnection, name: string): Queue {
  let byName = sharedQueues.get(conn);
  if (!byName) {
    byName = new Map();
    sharedQueues.set(conn, byName);
  }
  let q = byName.get(name);
  if (!q) {
    q = new Queue(name, { connection: conn.connection, prefix: conn.prefix });
    q.on('error', conn.onError(`queue ${name}`));
    byName.set(name, q);
  }
  return q;
}
