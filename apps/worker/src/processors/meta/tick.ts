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
  const jobs: Array<{ tenantId: string; jobId: string; previousJobId: string }> = [];
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
      previousJobId: buildJobId('meta-sync', row.id, windowKey(windowStart - everyMs)),
    });
  }
  return jobs;
}

const unfinished = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/**
 * `meta.tick`: fans out one `meta.sync` per due tenant (see `planMetaSyncJobs`), except for a
 * tenant whose previous window's job is still pending (e.g. delayed by a rate limit): it resumes
 * from its checkpoint instead of racing a fresh sync against the same throttled account.
 */
export async function processMetaTick(_job: Job, deps: WorkerDeps): Promise<unknown> {
  const queue = queueOn(deps.queue, queueNames.meta);
  const planned = await planMetaSyncJobs(deps);
  const states = await Promise.all(planned.map((j) => queue.getJobState(j.previousJobId)));
  const jobs = planned.filter((_, i) => !unfinished.has(states[i] as string));
  if (jobs.length) {
    const options = defaultJobOptions(deps.env.JOB_ATTEMPTS);
    await queue.addBulk(jobs.map((j) => ({ name: 'meta.sync', data: { tenantId: j.tenantId }, opts: { ...options, jobId: j.jobId } })));
  }
  deps.log.info({ due: planned.length, enqueued: jobs.length }, 'meta tick');
  return { enqueued: jobs.map((j) => j.jobId), pending: planned.length - jobs.length };
}
