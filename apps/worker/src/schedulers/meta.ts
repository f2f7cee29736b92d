import type { WorkerDeps } from '../deps';
import { registerTick } from './tick';

/** Id of the `meta.tick` job scheduler: one per deployment, whatever the number of workers. */
export const metaTickSchedulerId = 'meta-tick';

/**
 * Registers (`registerTick`) the `meta.tick` that runs every
 * `META_TICK_EVERY_MS` (default 15 min) and enqueues the tenants whose `meta.sync_every` is due.
 */
export function registerMetaScheduler(deps: WorkerDeps): Promise<void> {
  return registerTick(deps, metaTickSchedulerId, 'meta.tick', deps.env.META_TICK_EVERY_MS);
}
