import { parseDuration } from '@mcb/core';
import { metaTokenExpiredError } from '@mcb/meta';
import { jobId as buildJobId, defaultJobOptions, queueNames, queueOn } from '@mcb/queue';
import { parseTenantConfig } from '@mcb/tenancy';
import type { Job } from 'bullmq';
import type { WorkerDeps } from '../../deps';

/** `20260301T0600Z`: a window start as a job-id part (BullMQ ids may not contain `:`). */
function windowKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace(/[-:]/g, '').concat('Z');
}

interface DueRow {
  id: string;
  slug: string;
  config: unknown;
  lastSuccessAt: Date | null;
  lastError: string | null;
}

/**
 * The sync jobs due at `now`: one per active tenant with an active `meta` integration whose last
 * success is at least its `meta.sync_every` old (default 6 h). The job id is
 * `meta-sync-<tenant>-<window start>` (windows of `sync_every` since the epoch), so any number of
 * ticks, workers or restarts within one window add it once. Integrations whose token expired (190)
 * are skipped until an operator stores a new one (which clears `last_error`).
 */
export async function planMetaSyncJobs(deps: Pick<WorkerDeps, 'admin' | 'log'>, now = Date.now()) {
  const rows = await deps.admin.sql<DueRow[]>`
    select t.id, t.slug, t.config, i.last_success_at as "lastSuccessAt", i.last_error as "lastError"
    from tenants t join tenant_integrations i on i.tenant_id = t.id and i.provider = 'meta' and i.is_active
    where t.is_active
    order by t.id`;
  const jobs: Array<{ tenantId: string; jobId: string }> = [];
  for (const row of rows) {
    if (row.lastError?.startsWith(`${metaTokenExpiredError}:`)) continue;
    let everyMs: number;
    try {
      everyMs = parseDuration(parseTenantConfig(row.config).meta.sync_every);
    } catch (err) {
      deps.log.warn({ tenant: row.slug, err: (err as Error).message }, 'meta tick: bad tenant config; using 6h');
      everyMs = 6 * 3600_000;
    }
    everyMs = Math.max(everyMs, 60_000);
    if (row.lastSuccessAt && now - row.lastSuccessAt.getTime() < everyMs) continue;
    const windowStart = Math.floor(now / everyMs) * everyMs;
    jobs.push({
      tenantId: row.id,
      jobId: buildJobId('meta-sync', row.id, windowKey(windowStart)),
    });
  }
  return jobs;
}

const unfinished = ['waiting', 'delayed', 'active', 'prioritized', 'waiting-children'] as const;

/**
 * Enqueues one `meta.sync` per tenant due at `now` (see `planMetaSyncJobs`), except for a tenant
 * that has any unfinished sync job, of whatever window (running, delayed by a rate limit or its time
 * budget, waiting for a slot): that one resumes from its checkpoint, and a tenant never has two
 * syncs at once — a job left from windows ago must not let a new one start beside it.
 */
export async function enqueueDueMetaSyncs(
  deps: Pick<WorkerDeps, 'admin' | 'log' | 'queue' | 'env'>,
  now = Date.now(),
): Promise<{ enqueued: string[]; pending: number }> {
  const queue = queueOn(deps.queue, queueNames.meta);
  const planned = await planMetaSyncJobs(deps, now);
  // At most one unfinished job per tenant (this tick sees to it): the list is as long as the tenants syncing.
  const pending = planned.length ? await queue.getJobs([...unfinished]) : [];
  const busy = new Set(pending.filter((j) => j?.name === 'meta.sync').map((j) => (j.data as { tenantId?: string }).tenantId));
  const jobs = planned.filter((j) => !busy.has(j.tenantId));
  if (jobs.length) {
    const options = defaultJobOptions(deps.env.JOB_ATTEMPTS);
    await queue.addBulk(jobs.map((j) => ({ name: 'meta.sync', data: { tenantId: j.tenantId }, opts: { ...options, jobId: j.jobId } })));
  }
  deps.log.info({ due: planned.length, enqueued: jobs.length }, 'meta tick');
  return { enqueued: jobs.map((j) => j.jobId), pending: planned.length - jobs.length };
}

/** `meta.tick`: `enqueueDueMetaSyncs` now. */
export function processMetaTick(_job: Job, deps: WorkerDeps): Promise<unknown> {
  return enqueueDueMetaSyncs(deps);
}
