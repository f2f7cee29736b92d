import { capiLastError, loadCapiTarget, markCapiError, markCapiSuccess, runCapiSend } from '@mcb/capi';
import { MissingCredentials } from '@mcb/core';
import { jobSchemas } from '@mcb/queue';
import type { Job } from 'bullmq';
import type { WorkerDeps } from '../../deps';
import { failIntegrationJob, toJobError } from '../../errors';

/**
 * `capi.send` {tenantId}: sends the tenant's unsent conversions to its Meta dataset (packages/capi
 * `runCapiSend`). Rate limited: the job is delayed (not failed) until Meta's announced reset; 190,
 * unknown dataset or missing permission: `last_error` set, no retry (the tick skips an expired token
 * until a new one is stored); 5xx / network: retried with backoff. Job data holds the tenant id only.
 */
export async function processCapiSend(job: Job, deps: WorkerDeps, token?: string, signal?: AbortSignal): Promise<unknown> {
  const data = jobSchemas['capi.send'].parse(job.data);
  let target: Awaited<ReturnType<typeof loadCapiTarget>>;
  try {
    target = await loadCapiTarget(deps.tenants, data.tenantId);
  } catch (err) {
    // Deactivated or removed since the tick: nothing to send, nothing to retry.
    if (err instanceof MissingCredentials) return { skipped: 'no active meta_capi integration' };
    throw toJobError(err);
  }
  const log = deps.log.child({ job: job.id, tenant: target.slug, tenantId: data.tenantId });
  try {
    const result = await runCapiSend({
      database: deps.database,
      target,
      settings: {
        graphUrl: deps.env.META_GRAPH_URL,
        apiVersion: deps.env.META_API_VERSION,
        timeoutMs: deps.env.META_TIMEOUT_MS,
        batchSize: deps.env.CAPI_BATCH_SIZE,
        maxRunMs: deps.env.CAPI_SEND_MAX_MS,
      },
      log,
      signal,
    });
    // A retry that succeeds clears the error its earlier attempt recorded, even with nothing left to send.
    if (result.sent > 0 || result.failed > 0 || result.timedOut || job.attemptsMade > 0) {
      await markCapiSuccess(deps.database, target.tenantId);
      log.info(
        { sent: result.sent, skipped: result.skipped, failed: result.failed, requests: result.requests, durationMs: result.durationMs },
        'capi send done',
      );
    }
    return result;
  } catch (err) {
    // A rate limit delays the job (attempts kept); the claims were released, the rerun resumes.
    return failIntegrationJob(job, err, {
      token,
      log,
      lastError: capiLastError(err),
      record: (lastError) => markCapiError(deps.database, target.tenantId, lastError),
    });
  }
}
