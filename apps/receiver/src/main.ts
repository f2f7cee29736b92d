import { serve } from '@hono/node-server';
import { createLogger, onShutdown, queueBackendFromEnv } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection } from '@mcb/queue';
import { createReceiverApp } from './app';
import { loadReceiverEnv } from './env';

const env = loadReceiverEnv();
const log = createLogger({ name: 'receiver', level: env.LOG_LEVEL });
const database = createDatabase({ url: env.DATABASE_URL, role: 'app', max: env.DATABASE_POOL_MAX, applicationName: 'mcb-receiver' });
const queue = createQueueConnection(queueBackendFromEnv(env), env.QUEUE_PREFIX);
const app = createReceiverApp({ database, queue, log });

const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) => {
  log.info({ port: info.port }, 'receiver listening');
});

onShutdown(
  [
    { name: 'http', close: () => new Promise((resolve) => server.close(() => resolve(undefined))) },
    { name: 'queue', close: () => queue.close() },
    { name: 'postgres', close: () => database.close() },
  ],
  log,
);
