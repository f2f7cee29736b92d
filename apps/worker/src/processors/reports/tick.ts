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
    const queue = queueOn(deps.queue, queueNames.reports);
    // A week whose job used all its attempts on a failure that may pass (Resend down longer than the
    // backoff, ~2 min with 8 attempts) is still due: its failed job held the id, so no tick added it again
    // and the report was never sent (faults walk, stop 37). Such a job is removed and the week added
    // afresh, once a tick; one failed for good (`UnrecoverableError`, attempts left) stays, for an operator.
    const existing = await Promise.all(due.map((d) => queue.getJob(weeklyReportJobId(d.tenantId, d.weekStart))));
    for (const [i, job] of existing.entries()) {
      if (!job || !(await job.isFailed()) || job.attemptsMade < (job.opts.attempts ?? 1)) continue;
      await job.remove();
      deps.log.warn(
        { tenant: due[i]?.slug, week: due[i]?.weekStart, reason: job.failedReason },
        'report tick: the week failed after all its attempts; trying it again',
      );
    }
    await queue.addBulk(
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
