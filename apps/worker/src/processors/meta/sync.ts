import {
  loadMetaTarget,
  MetaSyncAlreadyRunning,
  type MetaSyncCheckpoint,
  markMetaSyncError,
  markMetaSyncSuccess,
  metaSettingsFromEnv,
  metaSyncLastError,
  runTenantMetaSync,
  todayIn,
} from '@mcb/meta';
import { jobSchemas } from '@mcb/queue';
import type { Job } from 'bullmq';
import type { WorkerDeps } from '../../deps';
import { failIntegrationJob, toJobError } from '../../errors';

/**
 * `meta.sync` {tenantId, since?, until?, checkpoint?}: one tenant's ads, creatives and daily
 * insights (default: its lookback window). After each committed batch the resume point is saved
 * in the job data, so a rate-limited job (moved to delayed, not failed) or a crashed worker's job
 * continues where it stopped. 190 / other permanent Graph errors: `last_error` set, no retry.
 * Another sync of the tenant running (the CLI's, another worker's: `MetaSyncAlreadyRunning`): the job
 * completes as skipped, untouched — that sync covers the window, and a retry would only wait on it.
 */
export async function processMetaSync(job: Job, deps: WorkerDeps, token?: string, signal?: AbortSignal): Promise<unknown> {
  const data = jobSchemas['meta.sync'].parse(job.data);
  let target: Awaited<ReturnType<typeof loadMetaTarget>>;
  try {
    target = await loadMetaTarget(deps.tenants, data.tenantId);
  } catch (err) {
    throw toJobError(err);
  }
  const log = deps.log.child({ job: job.id, tenant: target.slug, tenantId: data.tenantId });
  let checkpoint: MetaSyncCheckpoint | null = data.checkpoint ?? null;
  const range = data.since ? { since: data.since, until: data.until ?? todayIn(target.timeZone) } : undefined;
  try {
    const result = await runTenantMetaSync({
      database: deps.database,
      target,
      settings: metaSettingsFromEnv(deps.env),
      range,
      resumeFrom: checkpoint,
      budgetMs: deps.env.META_SYNC_BUDGET_MS,
      log,
      signal,
      onCheckpoint: async (cp) => {
        checkpoint = cp;
        await job.updateData({ ...data, checkpoint: cp });
      },
    });
    await markMetaSyncSuccess(deps.database, target.tenantId);
    const { durationMs, ads, insightRows, requests, skipped } = result;
    log.info({ ads, insightRows, requests, skipped, durationMs, range: result.range }, 'meta sync done');
    return { ads, creatives: result.creatives, insightRows, skipped, requests, durationMs, range: result.range };
  } catch (err) {
    if (err instanceof MetaSyncAlreadyRunning) {
      log.info('meta sync skipped: another sync of this tenant is running');
      return { skipped: 'already_running' };
    }
    return failIntegrationJob(job, err, {
      token,
      log,
      lastError: metaSyncLastError(err),
      record: (lastError) => markMetaSyncError(deps.database, target.tenantId, lastError),
      // Delayed, not failed (a rate limit, or the run's time budget spent): attempts are not consumed,
      // and the checkpoint makes the rerun resume.
      beforeDelay: () => job.updateData({ ...data, checkpoint: checkpoint ?? undefined }),
      delayLog: { phase: checkpoint?.phase ?? 'ads' },
    });
  }
}
