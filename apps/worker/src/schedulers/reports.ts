import type { WorkerDeps } from '../deps';
import { registerTick } from './tick';

/** Id of the `report.tick` job scheduler: one per deployment, whatever the number of workers. */
export const reportTickSchedulerId = 'report-tick';

/**
 * Registers (`registerTick`) the `report.tick` that runs every
 * `REPORT_TICK_EVERY_MS` (default 15 min) and enqueues the tenants whose weekly report is due.
 */
export function registerReportScheduler(deps: WorkerDeps): Promise<void> {
  return registerTick(deps, reportTickSchedulerId, 'report.tick', deps.env.REPORT_TICK_EVERY_MS);
}
