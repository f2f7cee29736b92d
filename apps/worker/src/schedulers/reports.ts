import { queueNames } from '@mcb/queue';
import { Queue } from 'bullmq';
import type { WorkerDeps } from '../deps';

/** Id of the `report.tick` job scheduler: one per deployment, whatever the number of workers. */
export const reportTickSchedulerId = 'report-tick';

/**
 * Registers (idempotently: `upsertJobScheduler` with a fixed id) the `report.tick` that runs every
 * `REPORT_TICK_EVERY_MS` (default 15 min) and enqueues the tenants whose weekly report is due.
 */
export async function registerReportScheduler(deps: WorkerDeps): Promise<void> {
  const queue = new Queue(queueNames.schedules, { connection: deps.queue.connection, prefix: deps.queue.prefix });
  try {
    await queue.upsertJobScheduler(
      reportTickSchedulerId,
      { every: deps.env.REPORT_TICK_EVERY_MS },
      { name: 'report.tick', data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } } },
    );
  } finally {
    await queue.close();
  }
}
