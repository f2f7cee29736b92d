import { queueNames } from '@mcb/queue';
import { Queue } from 'bullmq';
import type { WorkerDeps } from '../deps';

/** Id of the `meta.tick` job scheduler: one per deployment, whatever the number of workers. */
export const metaTickSchedulerId = 'meta-tick';

/**
 * Registers (idempotently: `upsertJobScheduler` with a fixed id) the `meta.tick` that runs every
 * `META_TICK_EVERY_MS` (default 15 min) and enqueues the tenants whose `meta.sync_every` is due.
 */
export async function registerMetaScheduler(deps: WorkerDeps): Promise<void> {
  const queue = new Queue(queueNames.schedules, { connection: deps.queue.connection, prefix: deps.queue.prefix });
  try {
    await queue.upsertJobScheduler(
      metaTickSchedulerId,
      { every: deps.env.META_TICK_EVERY_MS },
      { name: 'meta.tick', data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } } },
    );
  } finally {
    await queue.close();
  }
}
