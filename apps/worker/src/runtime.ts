import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createLogger, type Logger, queueBackendFromEnv, waitAtMost } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createManyChatClient } from '@mcb/manychat';
import { RejectedLogPruner, WebhookReconciler } from '@mcb/ops';
import { createQueueConnection, jobQueue, queueNames, WebhookEnqueuer } from '@mcb/queue';
import { noTracing, type Tracing } from '@mcb/telemetry';
import { createTenantContextLoader, parseKeyring } from '@mcb/tenancy';
import { type Job, Worker } from 'bullmq';
import type { WorkerDeps } from './deps';
import { dbWaitBoundMs, type WorkerEnv } from './env';
import { toJobError } from './errors';
import { createWorkerHealthApp } from './health';
import { createWorkerMetrics } from './metrics';
import { processors } from './processors/registry';
import { registerQueueMetrics } from './queue-metrics';
import { closeWorkersBy, TenantWebhookWorkers } from './queues/tenant-workers';
import { keepSchedules, schedules } from './schedulers/index';
import { registerStatusMetrics } from './status-metrics';
import { runInJobSpan } from './tracing';

/** How many times a fixed-queue job (Meta sync, report, tick) may be found stalled before BullMQ fails it. */
export const fixedQueueMaxStalls = 5;

export interface WorkerRuntime {
  deps: WorkerDeps;
  webhooks: TenantWebhookWorkers;
  /** One worker per fixed queue (meta-sync, reports, schedules). */
  fixed: Worker[];
  reconciler: WebhookReconciler;
  /** Port of /healthz, /readyz, /metrics. */
  port: number;
  /** Address the health server is bound to (`HOST`). */
  address: string;
  /** Graceful stop: workers (finish or release active jobs by the deadline), health server, Redis, Postgres. */
  close: (deadline?: number) => Promise<void>;
}

/**
 * Builds and starts one worker process: per-tenant webhook workers (ADR 0003), one worker per fixed
 * queue (meta, reports, schedules), schedulers, and the health server. main.ts adds signal handling and
 * starts `tracing` (when OTEL_EXPORTER_OTLP_ENDPOINT is set); tests call it in-process.
 */
export async function startWorkerRuntime(
  env: WorkerEnv,
  log: Logger = createLogger({ name: 'worker', level: env.LOG_LEVEL }),
  tracing: Tracing = noTracing,
): Promise<WorkerRuntime> {
  // Every statement is bounded by the server (a stuck one is cancelled); waits on a connection that
  // will never answer are bounded in the code that would otherwise stall (dbWaitBoundMs).
  const limits = { statementTimeoutMs: env.WORKER_DB_TIMEOUT_MS };
  const database = createDatabase({
    url: env.DATABASE_URL,
    role: 'app',
    max: env.DATABASE_POOL_MAX,
    applicationName: 'mcb-worker',
    ...limits,
  });
  const admin = createDatabase({ url: env.DATABASE_URL, role: 'admin', max: 3, applicationName: 'mcb-worker-admin', ...limits });
  const queue = createQueueConnection(queueBackendFromEnv(env), env.QUEUE_PREFIX, { log });
  const tenants = createTenantContextLoader({ admin, keyring: parseKeyring(env.MCB_ENCRYPTION_KEY) });
  const manychat = createManyChatClient({ baseUrl: env.MANYCHAT_API_BASE_URL, timeoutMs: env.MANYCHAT_TIMEOUT_MS });
  const metrics = createWorkerMetrics();
  registerQueueMetrics(metrics.registry, { admin, queue, log });
  registerStatusMetrics(metrics.registry, { admin, log });
  const deps: WorkerDeps = { env, log, database, admin, queue, tenants, manychat, metrics, tracing };

  // The health port first, before any job is taken: a port in use (two workers on one host with the same
  // WORKER_HEALTH_PORT) used to crash the process after its workers had taken jobs, stranding them until
  // the stall check (prod walk, stop 32). Now it fails here, having taken nothing, with one clear line.
  const server = serve({
    fetch: createWorkerHealthApp({ database, queue, registry: metrics.registry }).fetch,
    port: env.WORKER_HEALTH_PORT,
    hostname: env.HOST,
  });
  await new Promise<void>((resolve, reject) => {
    if (server.listening) return resolve();
    server.once('listening', () => resolve());
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`WORKER_HEALTH_PORT ${env.WORKER_HEALTH_PORT} is in use on ${env.HOST}: give each worker on a host a port of its own`)
          : err,
      ),
    );
  }).catch(async (err) => {
    await Promise.allSettled([queue.close(), database.close(), admin.close(), tenants.close()]);
    throw err;
  });
  const { port, address } = server.address() as AddressInfo;

  const fixed = Object.values(queueNames).map(
    (name) =>
      new Worker(
        name,
        async (job: Job, token?: string, signal?: AbortSignal) => {
          const processor = processors[job.name as keyof typeof processors];
          if (!processor || jobQueue[job.name as keyof typeof jobQueue] !== name)
            throw toJobError(new Error(`No processor for job ${job.name} on ${name}`));
          try {
            return await runInJobSpan(tracing, job, undefined, () => processor(job, deps, token, signal));
          } catch (err) {
            throw toJobError(err);
          }
        },
        {
          connection: queue.connection,
          prefix: queue.prefix,
          concurrency: env.WORKER_CONCURRENCY,
          lockDuration: env.WORKER_LOCK_MS,
          // As on the tenant queues: a killed worker's job runs again 1-3× WORKER_LOCK_MS later (the fixed
          // queues kept BullMQ's 30 s stall check whatever it said: docs walk, stop 37).
          stalledInterval: env.WORKER_LOCK_MS,
          // A Meta sync resumes from its checkpoint and a report is sent once (its run's claim): running
          // one again after a worker died is safe. With BullMQ's default (1), two rolling restarts during
          // one long sync failed it for good ("job stalled more than allowable limit": faults walk, stop 37).
          maxStalledCount: fixedQueueMaxStalls,
          telemetry: tracing.bullmq,
        },
      ),
  );
  for (const w of fixed) w.on('error', (err) => log.error({ queue: w.name, err: err.message }, 'worker error'));

  const webhooks = new TenantWebhookWorkers(deps, {
    perTenant: env.WORKER_TENANT_CONCURRENCY,
    global: env.WORKER_WEBHOOK_CONCURRENCY,
    lockMs: env.WORKER_LOCK_MS,
    refreshMs: env.WORKER_TENANT_REFRESH_MS,
  });
  await webhooks.start();
  for (const schedule of schedules) await schedule.register(deps);
  // Registered again if Redis loses them (restarted empty, flushed): they live only there.
  const scheduleKeeper = keepSchedules(deps, env.SCHEDULER_CHECK_MS);

  // No acked event stranded (SPEC §10.4): re-enqueues logs whose job Redis lost or BullMQ failed by a stall.
  const reconcileEnqueuer = new WebhookEnqueuer(queue, env.JOB_ATTEMPTS);
  const reconciler = new WebhookReconciler(
    {
      admin,
      enqueuer: reconcileEnqueuer,
      log,
      onPass: (s) => {
        metrics.reconciled.inc({ action: 'enqueued' }, s.enqueued);
        metrics.reconciled.inc({ action: 'rerun' }, s.rerun);
        metrics.reconciled.inc({ action: 'failed' }, s.failed);
        metrics.reconciled.inc({ action: 'orphans_link' }, s.orphanLinks);
      },
    },
    {
      intervalMs: env.RECONCILE_INTERVAL_MS,
      minAgeMs: env.RECONCILE_MIN_AGE_MS,
      maxAttempts: env.JOB_ATTEMPTS,
      roundTimeoutMs: dbWaitBoundMs(env),
    },
  );
  reconciler.start();

  // Retention of rejected deliveries (SPEC §3: evidence, never input; anyone who knows a URL can send them).
  const pruner = new RejectedLogPruner(
    { admin, log },
    { keepDays: env.REJECTED_LOGS_KEEP_DAYS, everyMs: env.REJECTED_LOGS_PRUNE_EVERY_MS },
  );
  pruner.start();

  log.info({ port, tenants: webhooks.tenantIds().length, queues: fixed.map((w) => w.name) }, 'worker started');

  return {
    deps,
    webhooks,
    fixed,
    port,
    address,
    reconciler,
    close: async (deadline = Date.now() + env.SHUTDOWN_TIMEOUT_MS) => {
      const bounded = (p: Promise<unknown>) => waitAtMost(p, Math.max(100, deadline - Date.now()));
      await reconciler.stop();
      await bounded(scheduleKeeper.stop());
      await bounded(pruner.stop());
      await Promise.all([webhooks.close(deadline), closeWorkersBy(fixed, deadline)]);
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      await tenants.close().catch(() => {});
      await reconcileEnqueuer.close();
      await queue.close();
      await Promise.all([database.close(), admin.close()]);
    },
  };
}
