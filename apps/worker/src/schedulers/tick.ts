import { queueNames, queueOn } from '@mcb/queue';
import type { WorkerDeps } from '../deps';

/**
 * Registers, idempotently (`upsertJobScheduler` with the fixed `schedulerId`: one per deployment,
 * whatever the number of workers), a job `name` with no data on the schedules queue every `everyMs`.
 */
export async function registerTick(deps: WorkerDeps, schedulerId: string, name: string, everyMs: number): Promise<void> {
  // The connection's shared queue, whose errors are logged: a queue of its own had no 'error' listener, and
  // BullMQ printed each connection error raw, the Redis password with it (re-walk, stop 33).
  await queueOn(deps.queue, queueNames.schedules).upsertJobScheduler(
    schedulerId,
    { every: everyMs },
    { name, data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } } },
  );
}
