import { type ConnectionOptions, createPostgresBackend, setDefaultBackendFactory } from 'bullmq';
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
  close: () => Promise<void>;
}

/**
 * Creates the shared connection for one process. For Redis, one ioredis client with
 * `maxRetriesPerRequest: null` (BullMQ requires it for workers). For Postgres, switches BullMQ's
 * process-wide backend factory.
 */
export function createQueueConnection(backend: QueueBackend, prefix = 'mcb'): QueueConnection {
  if (backend.kind === 'postgres') {
    setDefaultBackendFactory(createPostgresBackend);
    const connection = { connectionString: backend.url, migrate: true } as unknown as ConnectionOptions;
    return { backend, connection, prefix, close: async () => {} };
  }
  const redis = new Redis(backend.url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
  });
  // Connection errors surface through readiness checks and failed adds; without a listener
  // ioredis would print every reconnect attempt as an unhandled error.
  redis.on('error', () => {});
  return {
    backend,
    connection: redis,
    prefix,
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
