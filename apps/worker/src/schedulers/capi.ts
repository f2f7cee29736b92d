import { queueNames } from '@mcb/queue';
import { Queue } from 'bullmq';
import type { WorkerDeps } from '../deps';

/** Id of the `capi.tick` job scheduler: one per deployment, whatever the number of workers. */
export const capiTickSchedulerId = 'capi-tick';

/**
 * Registers (idempotently: `upsertJobScheduler` with a fixed id) the `capi.tick` that runs every
 * `CAPI_TICK_EVERY_MS` (default 1 min) and enqueues a `capi.send` per tenant with an active `meta_capi`.
 */
export async function registerCapiScheduler(deps: WorkerDeps): Promise<void> {
  const queue = new Queue(queueNames.schedules, { connection: deps.queue.connection, prefix: deps.queue.prefix });
  try {
    await queue.upsertJobScheduler(
      capiTickSchedulerId,
      { every: deps.env.CAPI_TICK_EVERY_MS },
      { name: 'capi.tick', data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } } },
    );
  } finally {
    await queue.close();
  }
}
