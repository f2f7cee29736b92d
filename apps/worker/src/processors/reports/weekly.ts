import { jobSchemas } from '@mcb/queue';
import { createReportMailer, reportMailerConfigFromEnv, sendWeeklyReport, WeekNotEnded } from '@mcb/reports';
import { DelayedError, type Job } from 'bullmq';
import type { WorkerDeps } from '../../deps';
import { PermanentJobError } from '../../errors';

/** How long a job waits before looking again at a week another sender is still on. */
const inProgressRecheckMs = 5 * 60_000;

/**
 * A job for a week that ends within this much of this worker's clock waits for the end instead of
 * failing: the tick that enqueued it ran on a clock a little ahead (a schedule at Monday 00:00). Past
 * it (a hand-added job for a running or later week) `WeekNotEnded` fails the job for good.
 */
export const clockSkewGraceMs = 10 * 60_000;

/** How long to delay a job refused with `WeekNotEnded` (until just past the week's end), or null to fail it. */
export function waitForWeekEndMs(err: unknown, now: number): number | null {
  if (!(err instanceof WeekNotEnded)) return null;
  const left = err.endsAt.getTime() - now;
  return left <= clockSkewGraceMs ? Math.max(0, left) + 1_000 : null;
}

/**
 * `report.weekly` `{ tenantId, weekStart }`: sends that tenant's report for that week at most once
 * (`sendWeeklyReport`: report_runs guard + Resend idempotency key; outbox without RESEND_API_KEY).
 * A week already sent completes with `already_sent`; one another sender is on is looked at again
 * later; a week not ended yet (`WeekNotEnded`) waits for its end when that is near (`clockSkewGraceMs`)
 * and fails for good otherwise; a send Resend rejected (4xx) fails for good, anything else is retried
 * with backoff.
 */
export async function processWeeklyReport(job: Job, deps: WorkerDeps, token?: string): Promise<unknown> {
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
    });
  } catch (err) {
    const wait = waitForWeekEndMs(err, Date.now());
    if (wait === null || !token) throw err;
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
