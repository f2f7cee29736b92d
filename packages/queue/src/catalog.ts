import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/**
 * Fixed queue names. Webhook processing is NOT here: each tenant has its own queue
 * (`webhookQueueName`), so one tenant's flood never delays another's events (ADR 0003).
 */
export const queueNames = {
  meta: 'meta-sync',
  reports: 'reports',
  schedules: 'schedules',
} as const;
export type QueueName = (typeof queueNames)[keyof typeof queueNames];

/** Job catalog: name → data schema. Jobs carry ids, never payloads or secrets (SPEC §1). */
export const jobSchemas = {
  // `bytes`: the stored payload's length, set by whoever knows it (the receiver); the worker budgets its
  // memory by it and looks it up when absent.
  'webhook.process': z.object({ logId: z.number().int().positive(), bytes: z.number().int().min(0).optional() }),
  'meta.sync': z.object({
    tenantId: z.string().uuid(),
    since: z.string().optional(),
    until: z.string().optional(),
    // Where a rate-limited (delayed) or crashed sync resumes: dates and Meta's opaque cursor only.
    checkpoint: z
      .object({
        range: z.object({ since: z.string(), until: z.string() }),
        phase: z.enum(['ads', 'insights']),
        chunk: z.number().int().min(0),
        after: z.string().nullable(),
        pages: z.number().int().min(0).optional(),
      })
      .optional(),
  }),
  'meta.tick': z.object({}).passthrough(),
  /** `weekStart`: a real calendar date (a malformed one is refused at parse: the job fails for good, not retried). */
  'report.weekly': z.object({ tenantId: z.string().uuid(), weekStart: z.iso.date() }),
  'report.tick': z.object({}).passthrough(),
  /** One tenant's Conversions API outbox (issue 17). Runs on the tenant's own queue, like its webhooks. */
  'capi.send': z.object({ tenantId: z.string().uuid() }),
  'capi.tick': z.object({}).passthrough(),
  /**
   * Links the orphan payments one tenant's apply transactions left in `orphan_link_backlog` (more than
   * one transaction links; packages/contacts `linkWaitingOrphans`). Runs on the tenant's own queue.
   */
  'orphans.link': z.object({ tenantId: z.string().uuid() }),
} as const;

export type JobName = keyof typeof jobSchemas;
export type JobData<N extends JobName> = z.infer<(typeof jobSchemas)[N]>;

/** Jobs that run on the tenant's own queue (`webhookQueueName`) rather than a fixed one. */
export type TenantQueueJobName = 'webhook.process' | 'capi.send' | 'orphans.link';

/** Which queue each job goes to. */
export const jobQueue: Record<Exclude<JobName, TenantQueueJobName>, QueueName> = {
  'meta.sync': queueNames.meta,
  'meta.tick': queueNames.schedules,
  'report.weekly': queueNames.reports,
  'report.tick': queueNames.schedules,
  'capi.tick': queueNames.schedules,
};

/** Default options: exponential backoff, bounded history so Redis never grows without limit. */
export function defaultJobOptions(attempts = 8): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: { count: 10_000, age: 24 * 3600 },
    removeOnFail: { count: 50_000, age: 14 * 24 * 3600 },
  };
}

/** BullMQ forbids `:` in custom job ids; every id we build goes through here. */
export function jobId(...parts: Array<string | number>): string {
  return parts.map((p) => String(p).replaceAll(':', '_')).join('-');
}

/**
 * Job id of the processing job for one webhook log: one per log, for good. A replay re-runs this
 * same job (`WebhookEnqueuer.rerun`), so Bull Board counts jobs as the log browser counts logs.
 */
export function webhookJobId(logId: number): string {
  return jobId('log', logId);
}

/**
 * Job id of a tenant's `capi.send` for one scheduler window (`windowStart`, epoch ms, to the second as
 * windows are at least 1 s): any number of ticks, workers or restarts within the window add it once.
 */
export function capiSendJobId(tenantId: string, windowStart: number): string {
  return jobId('capi-send', tenantId, new Date(windowStart).toISOString().slice(0, 19).replace(/[-:]/g, '').concat('Z'));
}

/**
 * Deduplication id of a tenant's `capi.send`: while one is waiting, active or delayed, adding another
 * adds nothing (BullMQ deduplication), so a tenant's sends never overlap.
 */
export function capiSendDedupId(tenantId: string): string {
  return jobId('capi-send', tenantId);
}

/**
 * A tenant's `orphans.link` job, as the applier (after a commit that left a backlog) and the reconciler
 * (for a backlog left behind) add it. While one is waiting or delayed, adding another adds nothing (BullMQ
 * deduplication on `orphans-link-<tenant>`): the job runs until the backlog is empty. While one is active,
 * the last one added runs after it (a backlog written after its last look is not left to the reconciler).
 */
export function orphansLinkJob(tenantId: string, attempts = 8) {
  return {
    name: 'orphans.link' as const,
    data: { tenantId },
    opts: {
      jobId: jobId('orphans-link', tenantId, Date.now()),
      // Added while a run is active (after its last look at the backlog): kept, and run once it ends.
      deduplication: { id: jobId('orphans-link', tenantId), keepLastIfActive: true },
      attempts,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: { count: 100, age: 3600 },
      removeOnFail: { count: 1_000, age: 14 * 24 * 3600 },
    } satisfies JobsOptions,
  };
}

/** The queue of one tenant's webhook jobs (`webhook.process`, data `{ logId }`). */
export function webhookQueueName(tenantId: string): string {
  return `webhooks-${tenantId}`;
}

/** Inverse of `webhookQueueName`; null for any other queue. */
export function tenantIdOfWebhookQueue(name: string): string | null {
  const m = /^webhooks-([0-9a-f-]{36})$/.exec(name);
  return m ? (m[1] as string) : null;
}
