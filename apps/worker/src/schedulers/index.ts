import { queueNames, queueOn } from '@mcb/queue';
import type { WorkerDeps } from '../deps';
import { capiTickSchedulerId, registerCapiScheduler } from './capi';
import { metaTickSchedulerId, registerMetaScheduler } from './meta';
import { registerReportScheduler, reportTickSchedulerId } from './reports';

/** One recurring job: its scheduler's id on the schedules queue, and how to register it (idempotently, `upsertJobScheduler`). */
export interface Schedule {
  id: string;
  register: (deps: WorkerDeps) => Promise<void>;
}

/** Every scheduler, registered at worker start and kept by `keepSchedules`. One file per domain under `schedulers/`. */
export const schedules: Schedule[] = [
  { id: reportTickSchedulerId, register: registerReportScheduler },
  { id: metaTickSchedulerId, register: registerMetaScheduler },
  { id: capiTickSchedulerId, register: registerCapiScheduler },
];

/**
 * Keeps the schedules in Redis (SPEC §10.4: Redis restarted empty or flushed loses nothing). A job
 * scheduler lives only in Redis: registered once at start, a flush took every tick with it and weekly
 * reports, Meta syncs and Conversions API sends stopped for every tenant until a worker restarted
 * (attacker walk, stop 37). Every `everyMs` each worker looks the schedules up (one `getJobScheduler`
 * each) and registers again any that is gone, with a warning. A schedule that is there is left as it
 * is: upserting it on every look would move its next run. Redis down: the look fails, is logged at
 * most once a minute, and runs again next time. Returns the function that stops it.
 */
export function keepSchedules(deps: WorkerDeps, everyMs: number, list: Schedule[] = schedules): { stop: () => Promise<void> } {
  const queue = queueOn(deps.queue, queueNames.schedules);
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let lastError = 0;
  const look = async () => {
    for (const s of list) {
      if (await queue.getJobScheduler(s.id)) continue;
      await s.register(deps);
      deps.log.warn({ scheduler: s.id }, 'job scheduler was missing from Redis (restarted empty or flushed): registered again');
    }
  };
  const tick = async () => {
    running = look().catch((err: Error) => {
      if (Date.now() - lastError < 60_000) return;
      lastError = Date.now();
      deps.log.warn({ err: err.message }, 'could not check the job schedulers; retrying next interval');
    });
    await running;
    running = null;
    if (timer) timer = setTimeout(tick, everyMs).unref();
  };
  timer = setTimeout(tick, everyMs).unref();
  return {
    stop: async () => {
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
