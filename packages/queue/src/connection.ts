import { createLogger, createRateLimitedWarn, type Logger } from '@mcb/core';
import { type ConnectionOptions, createPostgresBackend, Queue, setDefaultBackendFactory } from 'bullmq';
import { Redis } from 'ioredis';

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
 * Creates the shared connection for one process. For Redis, one ioredis client with
 * `maxRetriesPerRequest: null` (BullMQ requires it for workers). For Postgres, switches BullMQ's
 * process-wide backend factory.
 */
export function createQueueConnection(
  backend: QueueBackend,
  prefix = 'mcb',
  options: { log?: Pick<Logger, 'warn'>; errorLogIntervalMs?: number } = {},
): QueueConnection {
  const onError = errorListeners(options.log ?? createLogger({ name: 'queue', level: 'warn' }), options.errorLogIntervalMs ?? 10_000);
  if (backend.kind === 'postgres') {
    setDefaultBackendFactory(createPostgresBackend);
    const connection = { connectionString: backend.url, migrate: true } as unknown as ConnectionOptions;
    return { backend, connection, prefix, onError, close: async () => {} };
  }
  const redis = new Redis(backend.url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
  });
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
