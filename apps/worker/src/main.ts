import { serve } from '@hono/node-server';
import { createLogger, onShutdown, queueBackendFromEnv } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection, defaultJobOptions, jobQueue, queueNames } from '@mcb/queue';
import { Worker } from 'bullmq';
import type { WorkerDeps } from './deps';
import { loadWorkerEnv } from './env';
import { createWorkerHealthApp } from './health';
import { processors } from './processors/registry';
import { schedulers } from './schedulers/index';

const env = loadWorkerEnv();
const log = createLogger({ name: 'worker', level: env.LOG_LEVEL });
const database = createDatabase({ url: env.DATABASE_URL, role: 'app', max: env.DATABASE_POOL_MAX, applicationName: 'mcb-worker' });
const admin = createDatabase({ url: env.DATABASE_URL, role: 'admin', max: 2, applicationName: 'mcb-worker-admin' });
const queue = createQueueConnection(queueBackendFromEnv(env), env.QUEUE_PREFIX);
const deps: WorkerDeps = { env, log, database, admin, queue };
void defaultJobOptions;

// One BullMQ Worker per queue; each dispatches on job name through the registry.
const workers = Object.values(queueNames).map(
  (name) =>
    new Worker(
      name,
      async (job) => {
        const processor = processors[job.name as keyof typeof processors];
        if (!processor || jobQueue[job.name as keyof typeof jobQueue] !== name)
          throw new Error(`No processor for job ${job.name} on ${name}`);
        return processor(job, deps);
      },
      { connection: queue.connection, prefix: queue.prefix, concurrency: env.WORKER_CONCURRENCY, autorun: true },
    ),
);
for (const w of workers) w.on('error', (err) => log.error({ queue: w.name, err: err.message }, 'worker error'));
for (const register of schedulers) await register(deps);

const health = serve({ fetch: createWorkerHealthApp({ database, queue }).fetch, port: env.WORKER_HEALTH_PORT }, (info) => {
  log.info({ port: info.port, queues: workers.map((w) => w.name) }, 'worker started');
});

onShutdown(
  [
    // Finish active jobs within the deadline; unfinished ones are released and retried elsewhere.
    { name: 'workers', close: () => Promise.all(workers.map((w) => w.close())) },
    { name: 'health', close: () => new Promise((resolve) => health.close(() => resolve(undefined))) },
    { name: 'queue', close: () => queue.close() },
    { name: 'postgres', close: () => Promise.all([database.close(), admin.close()]) },
  ],
  log,
  env.SHUTDOWN_TIMEOUT_MS,
);
