import { linkWaitingOrphans } from '@mcb/contacts';
import { withDeadline } from '@mcb/core';
import { jobSchemas, orphansLinkJob, queueOn, webhookQueueName } from '@mcb/queue';
import { DelayedError, type Job } from 'bullmq';
import type { WorkerDeps } from '../../deps';
import { dbWaitBoundMs } from '../../env';

/** Longest one `orphans.link` run keeps its slot: past it the job goes back to the queue behind the tenant's waiting webhooks. */
export const orphansLinkSliceMs = 20_000;

/**
 * `orphans.link` {tenantId} (the tenant's own queue): links the orphan payments its apply transactions
 * left in `orphan_link_backlog`, one bounded transaction per step (packages/contacts `linkWaitingOrphans`),
 * until the backlog is empty. After `orphansLinkSliceMs`, or when shutdown asks, it moves itself back to
 * the queue (no attempt spent): every step is a committed transaction, the next run goes on from there.
 */
export async function processOrphansLink(job: Job, deps: WorkerDeps, token?: string, signal?: AbortSignal): Promise<unknown> {
  const { tenantId } = jobSchemas['orphans.link'].parse(job.data);
  const started = performance.now();
  let linked = 0;
  let steps = 0;
  let exclusive = false;
  for (;;) {
    const step: Awaited<ReturnType<typeof linkWaitingOrphans>> = await withDeadline(
      linkWaitingOrphans(deps.database.sql, tenantId, { maxOrphans: deps.env.WORKER_ORPHANS_PER_TRANSACTION, exclusive }),
      dbWaitBoundMs(deps.env),
      'linking waiting orphans',
    );
    if (step.identities === 0) break;
    steps++;
    linked += step.linked;
    exclusive ||= step.exclusive;
    if ((signal?.aborted || performance.now() - started > orphansLinkSliceMs) && token) {
      deps.log.info({ tenantId, linked, steps }, 'orphans.link: backlog left, going on after the queue');
      await job.moveToDelayed(Date.now() + 100, token);
      throw new DelayedError();
    }
  }
  if (steps > 0)
    deps.log.info({ tenantId, linked, steps, durationMs: Math.round(performance.now() - started) }, 'orphans.link: backlog linked');
  return { linked, steps };
}

/** Adds the tenant's `orphans.link` job after a commit that left a backlog; the reconciler adds it if this fails. */
export function requestOrphansLink(deps: WorkerDeps, tenantId: string): void {
  const job = orphansLinkJob(tenantId, deps.env.JOB_ATTEMPTS);
  queueOn(deps.queue, webhookQueueName(tenantId))
    .add(job.name, job.data, job.opts)
    .catch((err) => deps.log.warn({ tenantId, err: (err as Error).message }, 'could not add orphans.link; the reconciler will'));
}
