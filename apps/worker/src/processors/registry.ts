import type { JobName } from '@mcb/queue';
import type { Job } from 'bullmq';
import type { WorkerDeps } from '../deps';
import { processCapiSend } from './capi/send';
import { processCapiTick } from './capi/tick';
import { processMetaSync } from './meta/sync';
import { processMetaTick } from './meta/tick';
import { processOrphansLink } from './orphans/link';
import { processReportTick } from './reports/tick';
import { processWeeklyReport } from './reports/weekly';
import { processWebhookJob } from './webhooks/process';

/**
 * A job handler. Throw `PermanentJobError` for permanent failures (errors.ts turns it into
 * `UnrecoverableError`); anything else retries. `token`/`signal` come from BullMQ (shutdown aborts).
 */
export type Processor = (job: Job, deps: WorkerDeps, token?: string, signal?: AbortSignal) => Promise<unknown>;

/**
 * Job name → processor, one file per job under `processors/<domain>/<job>.ts`.
 * Add a line here when adding a job to the catalog (@mcb/queue catalog.ts).
 */
export const processors: Partial<Record<JobName, Processor>> = {
  'webhook.process': processWebhookJob,
  'report.weekly': processWeeklyReport,
  'report.tick': processReportTick,
  'meta.sync': processMetaSync,
  'meta.tick': processMetaTick,
  'capi.send': processCapiSend,
  'capi.tick': processCapiTick,
  'orphans.link': processOrphansLink,
};
