import type { JobName } from '@mcb/queue';
import type { Job } from 'bullmq';
import type { WorkerDeps } from '../deps';

/** A job handler. Throw `UnrecoverableError` (via errors.ts) for permanent failures; anything else retries. */
export type Processor = (job: Job, deps: WorkerDeps) => Promise<unknown>;

/**
 * Job name → processor, one file per job under `processors/<domain>/<job>.ts`.
 * Add a line here when adding a job to the catalog (@mcb/queue catalog.ts).
 */
export const processors: Partial<Record<JobName, Processor>> = {};
