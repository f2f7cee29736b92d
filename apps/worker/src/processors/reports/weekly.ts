import { jobSchemas } from '@mcb/queue';
import { createReportMailer, reportMailerConfigFromEnv, sendWeeklyReport, WeekNotEnded } from '@mcb/reports';
import { DelayedError, type Job } from 'bullmq';
import type { WorkerDeps } from '../../deps';
import { PermanentJobError } from '../../errors';

/** How long a job waits before looking again at a week another sender is still on. */
const inProgressRecheckMs = 5 * 60_000;

/**
 * How long to delay a job refused with `WeekNotEnded`, or null for any other error: until the tenant's
 * schedule sends the week (`dueAt`, at or after its end), plus a second. Never failed for good: the tick
 * enqueues a week only once it is due on its own clock, so a refusal means this worker's clock is behind,
 * or the tenant's zone changed since (the week now ends later, by up to 26 hours); a failed job would
 * keep that week's id, and the week would never be sent.
 */
export function waitForWeekEndMs(err: unknown, now: number): number | null {
  if (!(err instanceof WeekNotEnded)) return null;
  return Math.max(0, err.dueAt.getTime() - now) + 1_000;
}

/**
 * `report.weekly` `{ tenantId, weekStart }`: sends that tenant's report for that week at most once
 * (`sendWeeklyReport`: report_runs guard + Resend idempotency key; outbox without RESEND_API_KEY).
 * A week already sent completes with `already_sent`; one another sender is on is looked at again
 * later; a week not ended yet on this worker's clock (`WeekNotEnded`) waits for its end; a send Resend
 * rejected (4xx) fails for good, anything else is retried with backoff.
 */
export async function processWeeklyReport(job: Job, deps: WorkerDeps, token?: string, signal?: AbortSignal): Promise<unknown> {
  const parsed = jobSchemas['report.weekly'].safeParse(job.data);
  if (!parsed.success) throw new PermanentJobError(`report.weekly: bad job data: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const { tenantId, weekStart } = parsed.data;
  // A send Resend refused (MailerError, not retryable) is final: errors.ts decides.
  let result: Awaited<ReturnType<typeof sendWeeklyReport>>;
  try {
    result = await sendWeeklyReport({
      database: deps.database,
      mailer: createReportMailer(reportMailerConfigFromEnv(deps.env)),
      from: deps.env.REPORT_FROM,
      tenantId,
      week: weekStart,
      log: deps.log,
      // Deactivated after the tick enqueued it: no email.
      skipInactive: true,
      // Aborted at the shutdown deadline: the run is marked failed and the job retried, not left to stall.
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    const wait = waitForWeekEndMs(err, Date.now());
    if (wait === null || !token) throw err;
    deps.log.info(
      { tenantId, week: weekStart, waitMs: wait },
      'weekly report delayed: the week has not ended on this worker’s clock (or the tenant’s zone changed)',
    );
    await job.moveToDelayed(Date.now() + wait, token);
    throw new DelayedError();
  }
  if (result.status === 'in_progress' && token) {
    await job.moveToDelayed(Date.now() + inProgressRecheckMs, token);
    throw new DelayedError();
  }
  // Recipients stay out of the job's return value (Redis holds no personal data).
  return { status: result.status, weekStart: result.weekStart, ...('runId' in result ? { runId: result.runId } : {}) };
}
