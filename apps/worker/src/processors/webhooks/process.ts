import { type ApplyContext, applyNormalizedEvent } from '@mcb/contacts';
import { withTenantSql } from '@mcb/db';
import { jobSchemas, tenantIdOfWebhookQueue } from '@mcb/queue';
import { type NormalizeResult, type NormalizerConfig, normalizeManyChatSubscriber, normalizeWebhook } from '@mcb/sources';
import { DelayedError, type Job } from 'bullmq';
import type { WorkerDeps } from '../../deps';
import { isRetryable, PermanentJobError } from '../../errors';

interface LogRow {
  id: number;
  source: string;
  status: string;
  payload: unknown;
  event_type: string | null;
  dedupe_key: string;
  received_at: Date;
  config: NormalizerConfig | null;
}

export interface WebhookJobResult {
  status: 'processed' | 'ignored';
  contactId: string | null;
  events: number;
}

/** Thrown by the processor when shutdown asked it to stop between steps; the job was moved back to the queue. */
class Released extends DelayedError {}

async function release(job: Job, token: string, deps: WorkerDeps, tenantId: string, logId: number): Promise<never> {
  // Back to the queue without spending an attempt; every step so far is idempotent.
  await job.moveToDelayed(Date.now() + 100, token);
  await withTenantSql(
    deps.database.sql,
    tenantId,
    (tx) => tx`update webhook_logs set status = 'received' where id = ${logId} and status = 'processing'`,
  ).catch(() => {});
  throw new Released();
}

async function normalizeLog(log: LogRow, tenantId: string, deps: WorkerDeps, signal?: AbortSignal): Promise<NormalizeResult> {
  if (log.payload === null || log.payload === undefined) return { kind: 'invalid', eventType: null, reason: 'log has no JSON payload' };
  const config = log.config ?? {};
  const result = normalizeWebhook(log.source, log.payload, config, { eventType: log.event_type });
  if (result.kind !== 'needs_fetch') return result;
  const ctx = await deps.tenants.getTenantContextById(tenantId);
  const apiKey = deps.tenants.requireIntegration(ctx, 'manychat').credentials.api_key;
  if (typeof apiKey !== 'string' || apiKey === '')
    throw new PermanentJobError(`Missing credentials: manychat api_key for tenant ${ctx.slug}`);
  const subscriber = await deps.manychat.getSubscriber(apiKey, result.subscriberId, { signal });
  return normalizeManyChatSubscriber(subscriber, result.eventType, config);
}

async function finishLog(
  deps: WorkerDeps,
  tenantId: string,
  logId: number,
  status: 'processed' | 'ignored' | 'failed',
  fields: { eventType: string | null; contactId?: string | null; error?: string | null },
): Promise<void> {
  await withTenantSql(deps.database.sql, tenantId, async (tx) => {
    await tx`
      update webhook_logs set status = ${status}, ${fields.eventType ? tx`event_type = ${fields.eventType},` : tx``}
        contact_id = coalesce(${fields.contactId ?? null}::uuid, contact_id), error_message = ${fields.error ?? null},
        processed_at = now()
      where id = ${logId}`;
  });
}

/**
 * `webhook.process` (data `{ logId }`, queue `webhooks-<tenantId>`): loads the log under its tenant
 * (RLS), marks it `processing` (attempts + 1), normalizes it (fetching the ManyChat subscriber when
 * the body carried only an id), applies each event in its own transaction, and marks it `processed`
 * (with `contact_id`), `ignored` (reason) or `failed` (error). Safe to run any number of times for one
 * log (replays, stalled jobs): the applier is idempotent. Permanent failures throw
 * `PermanentJobError` (no retry); others rethrow and are retried with backoff (see errors.ts).
 */
export async function processWebhookJob(job: Job, deps: WorkerDeps, token?: string, signal?: AbortSignal): Promise<WebhookJobResult> {
  const started = performance.now();
  const tenantId = tenantIdOfWebhookQueue(job.queueName);
  if (!tenantId) throw new PermanentJobError(`webhook.process on a queue that is not a tenant webhook queue: ${job.queueName}`);
  const parsed = jobSchemas['webhook.process'].safeParse(job.data);
  if (!parsed.success) throw new PermanentJobError('webhook.process job data must be { logId }');
  const { logId } = parsed.data;

  const log = await withTenantSql(deps.database.sql, tenantId, async (tx) => {
    const [row] = await tx<LogRow[]>`
      update webhook_logs l set status = 'processing', attempts = attempts + 1, error_message = null
      from tenants t
      where l.id = ${logId} and t.id = l.tenant_id and l.status not in ('rejected', 'duplicate')
      returning l.id, l.source, l.status, l.payload, l.event_type, l.dedupe_key, l.received_at, t.config`;
    return row;
  });
  if (!log) throw new PermanentJobError(`webhook log ${logId} not found for tenant ${tenantId} (or rejected)`);
  const labels = { tenant: tenantId, source: log.source };

  try {
    if (signal?.aborted && token) await release(job, token, deps, tenantId, logId);
    const result = await normalizeLog(log, tenantId, deps, signal);
    if (result.kind === 'needs_fetch') throw new PermanentJobError('ManyChat subscriber fetch returned only another subscriber id');
    if (result.kind === 'invalid') throw new PermanentJobError(`invalid payload: ${result.reason}`);
    if (result.kind === 'ignored') {
      await finishLog(deps, tenantId, logId, 'ignored', {
        eventType: result.eventType !== log.event_type ? result.eventType : null,
        error: result.reason,
      });
      deps.metrics.jobs.inc({ ...labels, outcome: 'ignored' });
      return { status: 'ignored', contactId: null, events: 0 };
    }
    const ctx: ApplyContext = { tenantId, logId, receivedAt: log.received_at, dedupeKey: log.dedupe_key };
    let contactId: string | null = null;
    // Only written when it differs from what the receiver stored (an UPDATE OF event_type fires the search trigger).
    const normalizedType = result.events[0]?.eventType ?? null;
    const eventType = normalizedType !== log.event_type ? normalizedType : null;
    for (const [i, event] of result.events.entries()) {
      if (signal?.aborted && token) await release(job, token, deps, tenantId, logId);
      // The last event's transaction also marks the log processed (one commit fewer per job).
      const markLog = i === result.events.length - 1 ? { eventType, contactId } : undefined;
      const outcome = await applyNormalizedEvent(deps.database.sql, ctx, event, i, { markLog });
      contactId = outcome.contactId ?? contactId;
    }
    if (result.events.length === 0) await finishLog(deps, tenantId, logId, 'processed', { eventType: null });
    deps.metrics.jobs.inc({ ...labels, outcome: 'processed' });
    deps.metrics.latency.observe({ source: log.source }, (Date.now() - log.received_at.getTime()) / 1000);
    return { status: 'processed', contactId, events: result.events.length };
  } catch (err) {
    if (err instanceof Released) {
      deps.metrics.jobs.inc({ ...labels, outcome: 'released' });
      throw err;
    }
    if (signal?.aborted && token) {
      // Shutdown aborted an in-flight step (the ManyChat fetch): release the job, do not spend an attempt.
      deps.metrics.jobs.inc({ ...labels, outcome: 'released' });
      await release(job, token, deps, tenantId, logId);
    }
    const retry = isRetryable(err);
    const last = !retry || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    // The log says `failed` with the reason; a retry that follows sets it back to `processing`.
    await finishLog(deps, tenantId, logId, 'failed', {
      eventType: null,
      error: `${(err as Error).message}${last ? '' : ` (attempt ${job.attemptsMade + 1}, will retry)`}`,
    }).catch(() => {});
    deps.metrics.jobs.inc({ ...labels, outcome: retry && !last ? 'retry' : 'failed' });
    throw err;
  } finally {
    deps.metrics.duration.observe({ source: log.source }, (performance.now() - started) / 1000);
  }
}
