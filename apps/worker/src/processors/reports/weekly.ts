import { jobSchemas } from '@mcb/queue';
import { createReportMailer, reportMailerConfigFromEnv, sendWeeklyReport } from '@mcb/reports';
import { DelayedError, type Job } from 'bullmq';
import type { WorkerDeps } from '../../deps';
import { PermanentJobError } from '../../errors';

/** How long a job waits before looking again at a week another sender is still on. */
const inProgressRecheckMs = 5 * 60_000;

/**
 * `report.weekly` `{ tenantId, weekStart }`: sends that tenant's report for that week at most once
 * (`sendWeeklyReport`: report_runs guard + Resend idempotency key; outbox without RESEND_API_KEY).
 * A week already sent completes with `already_sent`; one another sender is on is looked at again
 * later; a send Resend rejected (4xx) fails for good, anything else is retried with backoff.
 */
export async function processWeeklyReport(job: Job, deps: WorkerDeps, token?: string): Promise<unknown> {
  const parsed = jobSchemas['report.weekly'].safeParse(job.data);
  if (!parsed.success) throw new PermanentJobError(`report.weekly: bad job data: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const { tenantId, weekStart } = parsed.data;
  // A send Resend refused (MailerError, not retryable) is final: errors.ts decides.
  const result = await sendWeeklyReport({
    database: deps.database,
    mailer: createReportMailer(reportMailerConfigFromEnv(deps.env)),
    from: deps.env.REPORT_FROM,
    tenantId,
    week: weekStart,
    log: deps.log,
    // Deactivated after the tick enqueued it: no email.
    skipInactive: true,
  });
  if (result.status === 'in_progress' && token) {
    await job.moveToDelayed(Date.now() + inProgressRecheckMs, token);
    throw new DelayedError();
  }
  // Recipients stay out of the job's return value (Redis holds no personal data).
  return { status: result.status, weekStart: result.weekStart, ...('runId' in result ? { runId: result.runId } : {}) };
}
