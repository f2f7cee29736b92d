import { serve } from '@hono/node-server';
import { createLogger, onShutdown, queueBackendFromEnv } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection } from '@mcb/queue';
import { loadWorkerEnv } from './env';
import { createWorkerHealthApp } from './health';

const env = loadWorkerEnv();
const log = createLogger({ name: 'worker', level: env.LOG_LEVEL });
const database = createDatabase({ url: env.DATABASE_URL, role: 'app', max: env.DATABASE_POOL_MAX, applicationName: 'mcb-worker' });
const queue = createQueueConnection(queueBackendFromEnv(env), env.QUEUE_PREFIX);
const health = serve({ fetch: createWorkerHealthApp({ database, queue }).fetch, port: env.WORKER_HEALTH_PORT }, (info) => {
  log.info({ port: info.port }, 'worker health listening');
});

onShutdown(
  [
    { name: 'health', close: () => new Promise((resolve) => health.close(() => resolve(undefined))) },
    { name: 'queue', close: () => queue.close() },
    { name: 'postgres', close: () => database.close() },
  ],
  log,
  env.SHUTDOWN_TIMEOUT_MS,
);
