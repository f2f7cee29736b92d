import { capiEnvFields } from '@mcb/capi';
import { commonEnvFields, exitOnEnvError, parseAppEnv } from '@mcb/core';
import { metaEnvFields } from '@mcb/meta';
import { reportEnvFields } from '@mcb/reports';
import { telemetryEnvFields } from '@mcb/telemetry';
import { z } from 'zod';

export const workerEnvSchema = z.object({
  ...commonEnvFields,
  /** At least 2: a running Meta sync holds one of the pool's connections for its lock (packages/meta sync-lock.ts). */
  DATABASE_POOL_MAX: z.coerce
    .number()
    .int()
    .min(2, 'the worker needs at least 2: a Meta sync holds one connection for its lock')
    .max(200)
    .default(10),
  WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  HOST: z.string().default('0.0.0.0'),
  /** Jobs at once per fixed queue (Meta sync, reports, schedules) in this process; `capi.send` runs on the tenant queues. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(20),
  /**
   * Webhook jobs at once across every tenant queue in this process, and per tenant queue (ADR 0003,
   * 0012): jobs in flight are what the per-tenant applier gathers into one transaction, so these are
   * high — measured (`npm run bench -- process`): 40/20 gave batches of ~5 logs and 0.36× the
   * one-upsert drain, 400/200 gave 0.61× at half the CPU per event.
   */
  WORKER_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(2_000).default(400),
  WORKER_TENANT_CONCURRENCY: z.coerce.number().int().min(1).max(2_000).default(200),
  /**
   * Heap the webhook payloads a process holds at once may take, by estimate (`payloadMemoryEstimate`:
   * 24 bytes per byte of JSON, the measured worst): what one tenant's huge bodies can take before its
   * further jobs wait, without ever bounding ordinary traffic (400 Stripe events of 1.5 KB ≈ 20 MB).
   */
  WORKER_PAYLOAD_MEMORY_MB: z.coerce.number().int().min(16).max(16_384).default(128),
  /**
   * Most orphan payments one apply transaction reads and links (packages/contacts maxOrphansPerTransaction):
   * a person arriving for more gets the rest from the tenant's `orphans.link` job, this many per transaction.
   */
  WORKER_ORPHANS_PER_TRANSACTION: z.coerce.number().int().min(1).max(100_000).default(1_000),
  WORKER_LOCK_MS: z.coerce.number().int().min(1_000).default(30_000),
  WORKER_TENANT_REFRESH_MS: z.coerce.number().int().min(100).default(30_000),
  WORKER_DB_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(60_000),
  MANYCHAT_API_BASE_URL: z.string().url().default('https://api.manychat.com'),
  MANYCHAT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  JOB_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(8_000),
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  RECONCILE_MIN_AGE_MS: z.coerce.number().int().min(0).default(15_000),
  /** How often a worker checks that the job schedulers (report, meta and capi ticks) are still in Redis, and registers any that is gone. */
  SCHEDULER_CHECK_MS: z.coerce.number().int().min(100).default(30_000),
  /** Rejected deliveries (anyone with a URL can send them) are deleted this many days after they came; 0 keeps them. */
  REJECTED_LOGS_KEEP_DAYS: z.coerce.number().int().min(0).max(3650).default(14),
  REJECTED_LOGS_PRUNE_EVERY_MS: z.coerce.number().int().min(100).default(3_600_000),
  ...reportEnvFields,
  REPORT_TICK_EVERY_MS: z.coerce.number().int().min(1_000).default(900_000),
  ...metaEnvFields,
  META_TICK_EVERY_MS: z.coerce.number().int().min(1_000).default(900_000),
  /**
   * Time one `meta.sync` run may hold a worker slot (ADR 0006): then it commits its batch, saves its
   * checkpoint and is delayed like a rate-limited job, so a huge or never-ending account takes turns
   * with every other tenant's sync instead of keeping the slot.
   */
  META_SYNC_BUDGET_MS: z.coerce.number().int().min(1_000).default(600_000),
  ...capiEnvFields,
  ...telemetryEnvFields('mcb-worker'),
});
export type WorkerEnv = z.infer<typeof workerEnvSchema>;

/**
 * Longest the worker's shared machinery (a tenant's batch run, a reconciler round, the tenant refresh)
 * waits on the database: past Postgres' own `statement_timeout` (WORKER_DB_TIMEOUT_MS) by 5 s, so a
 * statement that is merely slow is cancelled by the server first and this bound only ends waits on a
 * connection that will never answer.
 */
export const dbWaitBoundMs = (env: WorkerEnv): number => env.WORKER_DB_TIMEOUT_MS + 5_000;

export function loadWorkerEnv(source: Record<string, string | undefined> = process.env): WorkerEnv {
  return exitOnEnvError(() => parseAppEnv(workerEnvSchema, source, 'worker'));
}
