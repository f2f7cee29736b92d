import type { WorkerDeps } from '../deps';
import { registerCapiScheduler } from './capi';
import { registerMetaScheduler } from './meta';
import { registerReportScheduler } from './reports';

/** A function that registers (idempotently, with `upsertJobScheduler`) one recurring job. */
export type SchedulerRegistration = (deps: WorkerDeps) => Promise<void>;

/** Every scheduler, registered at worker start. One file per domain under `schedulers/`. */
export const schedulers: SchedulerRegistration[] = [registerReportScheduler, registerMetaScheduler, registerCapiScheduler];
