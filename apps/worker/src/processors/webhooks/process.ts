import { type ApplyContext, type ApplyOutcome, applyLogs, type PlanItem } from '@mcb/contacts';
import { parseJsonExact, withDeadline } from '@mcb/core';
import { withTenantRoundTrip, withTenantSql } from '@mcb/db';
import { jobSchemas, tenantIdOfWebhookQueue } from '@mcb/queue';
import { type NormalizeResult, type NormalizerConfig, normalizeManyChatSubscriber, normalizeWebhook } from '@mcb/sources';
import { Backoffs, DelayedError, type Job } from 'bullmq';
import type { WorkerDeps } from '../../deps';
import { dbWaitBoundMs } from '../../env';
import { isRetryable, PermanentJobError } from '../../errors';
import { requestOrphansLink } from '../orphans/link';
import { Batcher, runIsolated } from './batcher';
import { MemoryBudget, payloadMemoryEstimate } from './budget';

interface LogRow {
  id: number;
  source: string;
  status: string;
  payload: unknown;
  event_type: string | null;
  dedupe_key: string;
  received_at: Date;
  /** The log's runs so far, this one included (`webhook_logs.attempts`, counted when a worker loads it). */
  attempts: number;
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
  const reset = withTenantSql(
    deps.database.sql,
    tenantId,
    (tx) => tx`update webhook_logs set status = 'received' where id = ${logId} and status = 'processing'`,
  );
  await withDeadline(reset, dbWaitBoundMs(deps.env), 'setting a released log back to received').catch((err) =>
    deps.log.warn({ tenantId, logId, err: (err as Error).message }, 'could not set a released log back to received'),
  );
  throw new Released();
}

/** Per tenant: one loader and one applier, shared by the jobs of that tenant's queue running side by side. */
interface TenantBatchers {
  /** Stored payload length of logs whose job did not carry it (enqueued by the reconciler or replay). */
  size: Batcher<number, number>;
  load: Batcher<number, LogRow | null>;
  apply: Batcher<PlanItem, ApplyOutcome[]>;
}

const batchersByDeps = new WeakMap<WorkerDeps, Map<string, TenantBatchers>>();
const budgetByDeps = new WeakMap<WorkerDeps, MemoryBudget>();

/** The process's payload memory budget (one per worker runtime). */
function budgetFor(deps: WorkerDeps): MemoryBudget {
  let budget = budgetByDeps.get(deps);
  if (!budget) {
    budget = new MemoryBudget(deps.env.WORKER_PAYLOAD_MEMORY_MB * 1024 * 1024);
    budgetByDeps.set(deps, budget);
  }
  return budget;
}

/**
 * Batch sizes: a run takes what gathered while the previous one was in flight (ADR 0012). Two runs
 * at once per tenant and process keep the connection busy while the other run plans.
 */
const loadOptions = { maxBatch: 100, maxInFlight: 2 };
const applyOptions = { maxBatch: 50, maxInFlight: 2 };

function batchersFor(deps: WorkerDeps, tenantId: string): TenantBatchers {
  let byTenant = batchersByDeps.get(deps);
  if (!byTenant) {
    byTenant = new Map();
    batchersByDeps.set(deps, byTenant);
  }
  let b = byTenant.get(tenantId);
  if (!b) {
    const sql = deps.database.sql;
    const deadlineMs = dbWaitBoundMs(deps.env);
    const loadLimits = { ...loadOptions, deadlineMs };
    const applyLimits = { ...applyOptions, deadlineMs };
    // More orphans than one transaction links: the rest are linked by the tenant's orphans.link job.
    const onBacklog = () => requestOrphansLink(deps, tenantId);
    const limits = { onBacklog, maxOrphans: deps.env.WORKER_ORPHANS_PER_TRANSACTION };
    b = {
      size: new Batcher(async (ids) => {
        const rows = await withTenantRoundTrip(
          sql,
          tenantId,
          (tx) => tx<{ id: number; bytes: number }[]>`
            select id, coalesce(octet_length(raw_body), octet_length(payload::text), 0) as bytes
            from webhook_logs where tenant_id = ${tenantId} and id = any(${ids}::int8[])`,
        );
        const byId = new Map(rows.map((r) => [Number(r.id), Number(r.bytes)]));
        return ids.map((id) => ({ ok: true as const, value: byId.get(id) ?? 0 }));
      }, loadLimits),
      load: new Batcher(async (ids) => {
        const rows = await withTenantRoundTrip(
          sql,
          tenantId,
          (tx) => tx<LogRow[]>`
            update webhook_logs l set status = 'processing', attempts = attempts + 1, error_message = null
            from tenants t
            where l.tenant_id = ${tenantId} and l.id = any(${ids}::int8[]) and t.id = l.tenant_id and l.status not in ('rejected', 'duplicate')
            returning l.id, l.source, l.status, l.payload::text as payload, l.event_type, l.dedupe_key, l.received_at, l.attempts, t.config`,
        );
        // The payload as its JSON text, read here: ids past 2^53 keep their exact digits (parseJsonExact).
        for (const r of rows) if (typeof r.payload === 'string') r.payload = parseJsonExact(r.payload);
        const byId = new Map(rows.map((r) => [Number(r.id), r]));
        return ids.map((id) => ({ ok: true as const, value: byId.get(id) ?? null }));
      }, loadLimits),
      apply: new Batcher(
        (items) =>
          runIsolated(
            items,
            (all) => applyLogs(sql, tenantId, all, undefined, limits),
            async (one) => (await applyLogs(sql, tenantId, [one], undefined, limits))[0] ?? [],
          ),
        applyLimits,
      ),
    };
    byTenant.set(tenantId, b);
  }
  return b;
}

async function normalizeLog(log: LogRow, tenantId: string, deps: WorkerDeps, signal?: AbortSignal): Promise<NormalizeResult> {
  if (log.payload === null || log.payload === undefined) return { kind: 'invalid', eventType: null, reason: 'log has no JSON payload' };
  const config = log.config ?? {};
  const result = normalizeWebhook(log.source, log.payload, config, { eventType: log.event_type });
  if (result.kind !== 'needs_fetch') return result;
  const ctx = await deps.tenants.getTenantContextById(tenantId);
  const apiKey = deps.tenants.requireIntegration(ctx, 'manychat').credentials.api_key;
  if (typeof apiKey !== 'string' || apiKey === '')
    throw new PermanentJobError(
      `Missing credentials: manychat api_key for tenant ${ctx.slug}; a body with only subscriber_id is fetched from ManyChat with it: mcb integration set ${ctx.slug} manychat --credentials '{"api_key":"…"}'`,
    );
  const subscriber = await deps.manychat.getSubscriber(apiKey, result.subscriberId, { signal });
  return normalizeManyChatSubscriber(subscriber, result.eventType, config);
}

/**
 * The job's share of its tenant's batched apply transaction, as a `webhook.apply` span (tracing on):
 * from handing the plan over until the transaction holding it committed.
 */
function applyTraced(deps: WorkerDeps, batchers: TenantBatchers, item: PlanItem): Promise<ApplyOutcome[]> {
  if (!deps.tracing.enabled) return batchers.apply.submit(item);
  return deps.tracing.inSpan('webhook.apply', { attributes: { 'mcb.events': item.events.length, 'mcb.status': item.status } }, () =>
    batchers.apply.submit(item),
  );
}

/**
 * Marks a log `failed` with the reason (its own transaction; the successful paths mark inside the
 * apply) and when the retry BullMQ was asked for is due (`retryAt`, null when the failure is final):
 * the reconciler runs the log again if that retry's job is lost.
 */
async function failLog(deps: WorkerDeps, tenantId: string, logId: number, error: string, retryAt: Date | null): Promise<void> {
  const marked = withTenantSql(deps.database.sql, tenantId, async (tx) => {
    await tx`
      update webhook_logs set status = 'failed', error_message = ${error}, processed_at = now(), retry_at = ${retryAt}
      where id = ${logId}`;
  });
  await withDeadline(marked, dbWaitBoundMs(deps.env), 'marking a webhook log failed');
}

/** How long BullMQ waits before running this failed job again: its own computation from the job's backoff option. */
function retryDelayMs(job: Job, err: Error): number {
  const backoff = Backoffs.normalize(job.opts.backoff ?? 0);
  const delay = backoff ? Backoffs.calculate(backoff, job.attemptsMade + 1, err, job) : 0;
  return typeof delay === 'number' ? delay : 0;
}

/**
 * `webhook.process` (data `{ logId }`, queue `webhooks-<tenantId>`): loads the log under its tenant
 * (RLS) and marks it `processing` (attempts + 1) — one statement for the logs of every job of the
 * tenant running side by side — normalizes it (fetching the ManyChat subscriber when the body carried
 * only an id) and hands it to the tenant's applier, which applies those logs in one transaction and
 * marks each `processed` (with `contact_id`) or `ignored` (reason) in that same transaction.
 * Failures mark it `failed` (error). Safe to run any number of times for one log (replays, stalled jobs): the applier is
 * idempotent. Permanent failures throw `PermanentJobError` (no retry); others rethrow and are
 * retried with backoff (see errors.ts).
 */
export async function processWebhookJob(job: Job, deps: WorkerDeps, token?: string, signal?: AbortSignal): Promise<WebhookJobResult> {
  const started = performance.now();
  const tenantId = tenantIdOfWebhookQueue(job.queueName);
  if (!tenantId) throw new PermanentJobError(`webhook.process on a queue that is not a tenant webhook queue: ${job.queueName}`);
  const parsed = jobSchemas['webhook.process'].safeParse(job.data);
  if (!parsed.success) throw new PermanentJobError('webhook.process job data must be { logId }');
  const { logId } = parsed.data;
  const batchers = batchersFor(deps, tenantId);

  // The payload's share of the process's memory, held until the job ends (budget.ts).
  const bytes = parsed.data.bytes ?? (await batchers.size.submit(logId));
  let leave: () => void;
  try {
    leave = await budgetFor(deps).acquire(tenantId, payloadMemoryEstimate(bytes), signal);
  } catch (err) {
    // Shutdown while waiting for room: back to the queue, no attempt spent, nothing loaded yet.
    if (!signal?.aborted || !token) throw err;
    return release(job, token, deps, tenantId, logId);
  }
  try {
    return await processLoaded(job, deps, tenantId, logId, batchers, started, token, signal);
  } finally {
    leave();
  }
}

async function processLoaded(
  job: Job,
  deps: WorkerDeps,
  tenantId: string,
  logId: number,
  batchers: TenantBatchers,
  started: number,
  token?: string,
  signal?: AbortSignal,
): Promise<WebhookJobResult> {
  const log = await batchers.load.submit(logId);
  if (!log) throw new PermanentJobError(`webhook log ${logId} not found for tenant ${tenantId} (or rejected)`);
  const labels = { tenant: tenantId, source: log.source };

  try {
    if (signal?.aborted && token) await release(job, token, deps, tenantId, logId);
    const result = await normalizeLog(log, tenantId, deps, signal);
    if (result.kind === 'needs_fetch') throw new PermanentJobError('ManyChat subscriber fetch returned only another subscriber id');
    if (result.kind === 'invalid') throw new PermanentJobError(`invalid payload: ${result.reason}`);
    if (signal?.aborted && token) await release(job, token, deps, tenantId, logId);
    const ctx: ApplyContext = { tenantId, logId, receivedAt: log.received_at, dedupeKey: log.dedupe_key };
    if (result.kind === 'ignored') {
      const eventType = result.eventType !== log.event_type ? result.eventType : null;
      await applyTraced(deps, batchers, { ctx, events: [], status: 'ignored', eventType, reason: result.reason });
      deps.metrics.jobs.inc({ ...labels, outcome: 'ignored' });
      return { status: 'ignored', contactId: null, events: 0 };
    }
    const normalizedType = result.events[0]?.eventType ?? null;
    const eventType = normalizedType !== log.event_type ? normalizedType : null;
    // A body past the normalizer's bounds is processed within them; the log's message says what was left out.
    const reason = result.note ?? null;
    const outcomes = await applyTraced(deps, batchers, { ctx, events: result.events, status: 'processed', eventType, reason });
    const contactId = outcomes.reduce<string | null>((last, o) => o.contactId ?? last, null);
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
    // The log says `failed` with the reason; a retry that follows marks it again when it finishes. The
    // attempt named is the log's own count (its `attempts`, shown beside it by `mcb log` and the console),
    // not BullMQ's count for this job: a replay starts the job's count again, a stalled run is not in it.
    const message = `${(err as Error).message}${last ? '' : ` (attempt ${log.attempts}, will retry)`}`;
    const retryAt = last ? null : new Date(Date.now() + retryDelayMs(job, err as Error));
    await failLog(deps, tenantId, logId, message, retryAt).catch((e) =>
      deps.log.warn({ tenantId, logId, err: (e as Error).message }, 'could not mark webhook log failed'),
    );
    deps.metrics.jobs.inc({ ...labels, outcome: retry && !last ? 'retry' : 'failed' });
    throw err;
  } finally {
    deps.metrics.duration.observe({ source: log.source }, (performance.now() - started) / 1000);
  }
}
