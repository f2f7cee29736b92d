import { defaultJobOptions, queueNames, queueOn } from '@mcb/queue';
import { findDueWeeklyReports, weeklyReportJobId } from '@mcb/reports';
import type { Job } from 'bullmq';
import type { WorkerDeps } from '../../deps';

/**
 * Enqueues one `report.weekly` per tenant whose weekly report is due at `now` (its last full week
 * in its own zone has reached its `report.schedule`, and no `sent` run exists). The job id
 * `report-weekly-<tenant>-<week>` makes any number of ticks, workers or restarts add it once.
 */
export async function enqueueDueWeeklyReports(deps: Pick<WorkerDeps, 'admin' | 'log' | 'queue' | 'env'>, now = new Date()) {
  const { due, invalid } = await findDueWeeklyReports(deps.admin, now);
  for (const bad of invalid) deps.log.warn({ tenant: bad.slug, err: bad.error }, 'report tick: tenant config unreadable; skipped');
  if (due.length) {
    const options = defaultJobOptions(deps.env.JOB_ATTEMPTS);
    await queueOn(deps.queue, queueNames.reports).addBulk(
      due.map((d) => ({
        name: 'report.weekly',
        data: { tenantId: d.tenantId, weekStart: d.weekStart },
        opts: { ...options, jobId: weeklyReportJobId(d.tenantId, d.weekStart) },
      })),
    );
  }
  return due.map((d) => weeklyReportJobId(d.tenantId, d.weekStart));
}

/** `report.tick`: fans out the weekly reports that are due (see `enqueueDueWeeklyReports`). */
export async function processReportTick(_job: Job, deps: WorkerDeps): Promise<unknown> {
  const enqueued = await enqueueDueWeeklyReports(deps);
  deps.log.info({ due: enqueued.length }, 'report tick');
  return { enqueued };
}
