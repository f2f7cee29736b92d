import type { Tracing } from '@mcb/telemetry';
import { DelayedError, type Job } from 'bullmq';
import { isRetryable } from './errors';

const field = <T>(data: unknown, key: string, type: 'string' | 'number'): T | undefined => {
  const v = (data as Record<string, unknown> | null)?.[key];
  return typeof v === type ? (v as T) : undefined;
};

/**
 * Runs one job's processor inside a span named after the job (`webhook.process`, `meta.sync`, …),
 * under BullMQ's consumer span (bullmq-otel), itself under the enqueue span of the request that stored
 * the log. Attributes: tenant, log id, attempt, outcome (`processed`/`ignored`/… from the result;
 * `retry` or `failed` as errors.ts decides, or `delayed`, when it throws). Tracing off: `run()` and nothing else.
 */
export function runInJobSpan<T>(tracing: Tracing, job: Job, tenantId: string | undefined, run: () => Promise<T>): Promise<T> {
  if (!tracing.enabled) return run();
  return tracing.inSpan(
    job.name,
    {
      attributes: {
        'mcb.tenant_id': tenantId ?? field<string>(job.data, 'tenantId', 'string'),
        'mcb.log_id': field<number>(job.data, 'logId', 'number'),
        'mcb.job_id': job.id,
        'mcb.attempt': job.attemptsMade + 1,
      },
    },
    async (span) => {
      try {
        const result = await run();
        span.setAttributes({ 'mcb.outcome': field<string>(result, 'status', 'string') ?? 'completed' });
        return result;
      } catch (err) {
        // A delayed job (rate limit, shutdown release) comes back later: not a failure.
        if (err instanceof DelayedError) span.setAttributes({ 'mcb.outcome': 'delayed' });
        else {
          span.setAttributes({ 'mcb.outcome': isRetryable(err) ? 'retry' : 'failed' });
          span.fail(err);
        }
        throw err;
      }
    },
  );
}
