import { queueNames } from '@mcb/queue';
import { Queue } from 'bullmq';
import type { WorkerDeps } from '../deps';

/**
 * Registers, idempotently (`upsertJobScheduler` with the fixed `schedulerId`: one per deployment,
 * whatever the number of workers), a job `name` with no data on the schedules queue every `everyMs`.
 */
export async function registerTick(deps: WorkerDeps, schedulerId: string, name: string, everyMs: number): Promise<void> {
  const queue = new Queue(queueNames.schedules, { connection: deps.queue.connection, prefix: deps.queue.prefix });
  try {
    await queue.upsertJobScheduler(
      schedulerId,
      { every: everyMs },
      { name, data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } } },
    );
  } finally {
    await queue.close();
  }
}
