import type { WorkerDeps } from '../deps';
import { registerTick } from './tick';

/** Id of the `capi.tick` job scheduler: one per deployment, whatever the number of workers. */
export const capiTickSchedulerId = 'capi-tick';

/**
 * Registers (`registerTick`) the `capi.tick` that runs every
 * `CAPI_TICK_EVERY_MS` (default 1 min) and enqueues a `capi.send` per tenant with an active `meta_capi`.
 */
export function registerCapiScheduler(deps: WorkerDeps): Promise<void> {
  return registerTick(deps, capiTickSchedulerId, 'capi.tick', deps.env.CAPI_TICK_EVERY_MS);
}
