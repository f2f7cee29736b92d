import { capiRefusedError, capiRefusedRetryMs, capiTokenExpiredError } from '@mcb/capi';
import { capiSendDedupId, capiSendJobId, type QueueConnection, queueOn, webhookQueueName } from '@mcb/queue';
import type { Job, Queue } from 'bullmq';
import type { WorkerDeps } from '../../deps';

/** The tenant's own queue (where its webhooks and its `capi.send` run), one instance per connection. */
export function tenantQueue(conn: QueueConnection, tenantId: string): Queue {
  return queueOn(conn, webhookQueueName(tenantId));
}

/**
 * The `capi.send` jobs due at `now`: one per active tenant with an active `meta_capi` integration,
 * with the id `capi-send-<tenant>-<window start>` (windows of `CAPI_TICK_EVERY_MS`), so any number of
 * ticks, workers or restarts within one window add it once. Integrations whose token expired (190)
 * are skipped until an operator stores a new one (which clears `last_error`); those whose whole request
 * Meta refused (unknown dataset, missing permission) are tried again once an hour, not every minute.
 */
export async function planCapiSendJobs(deps: Pick<WorkerDeps, 'admin' | 'env'>, now = Date.now()) {
  const rows = await deps.admin.sql<{ id: string; lastError: string | null; updatedAt: Date }[]>`
    select t.id, i.last_error as "lastError", i.updated_at as "updatedAt"
    from tenants t join tenant_integrations i on i.tenant_id = t.id and i.provider = 'meta_capi' and i.is_active
    where t.is_active
    order by t.id`;
  const every = Math.max(1_000, deps.env.CAPI_TICK_EVERY_MS);
  const windowStart = Math.floor(now / every) * every;
  const refusedRecently = (r: { lastError: string | null; updatedAt: Date }) =>
    !!r.lastError?.startsWith(`${capiRefusedError}:`) && now - r.updatedAt.getTime() < capiRefusedRetryMs;
  return rows
    .filter((r) => !r.lastError?.startsWith(`${capiTokenExpiredError}:`) && !refusedRecently(r))
    .map((r) => ({ tenantId: r.id, jobId: capiSendJobId(r.id, windowStart) }));
}

/**
 * `capi.tick`: fans out one `capi.send` per due tenant onto that tenant's queue (see `planCapiSendJobs`),
 * except for a tenant whose previous send is still waiting, active or delayed (deduplicated on
 * `capiSendDedupId`): a send hung on Meta is not joined by another each window, each holding a slot.
 */
export async function processCapiTick(_job: Job, deps: WorkerDeps): Promise<unknown> {
  const planned = await planCapiSendJobs(deps);
  for (const j of planned) {
    await tenantQueue(deps.queue, j.tenantId).add(
      'capi.send',
      { tenantId: j.tenantId },
      {
        jobId: j.jobId,
        deduplication: { id: capiSendDedupId(j.tenantId) },
        attempts: deps.env.JOB_ATTEMPTS,
        backoff: { type: 'exponential', delay: 5_000 },
        removeOnComplete: { count: 100, age: 3600 },
        removeOnFail: { count: 1_000, age: 14 * 24 * 3600 },
      },
    );
  }
  deps.log.debug({ enqueued: planned.length }, 'capi tick');
  return { enqueued: planned.map((j) => j.jobId) };
}
