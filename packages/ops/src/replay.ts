import {
  countWebhookLogs,
  findWebhookLogTenants,
  listWebhookLogsAfter,
  type Queryable,
  toWebhookLog,
  type WebhookLogCursor,
  type WebhookLogFilter,
  type WebhookLogRow,
  type WebhookLogSummary,
  type WebhookStatus,
} from '@mcb/db';
import type { WebhookEnqueuer } from '@mcb/queue';
import { type OperatorDatabases, withLogScope } from './logs';

/**
 * Replay reads one tenant's logs under RLS when the filter names a tenant and lists across tenants on
 * the admin pool otherwise; every reset is written under the log's own tenant (ADR 0002).
 */
export interface ReplayDeps extends OperatorDatabases {
  enqueuer: WebhookEnqueuer;
}

export interface ReplayProgress {
  done: number;
  total: number;
}

/**
 * Why a log was left alone:
 * - `rejected`: it was refused at intake — failed authentication, or a body that is not valid for its
 *   source (not JSON, not the provider's shape); its error says which. Rejected rows are evidence, never input
 *   (SPEC §3): replay shows them and never processes them.
 * - `duplicate`: an accepted delivery with the same dedupe key exists (a rejected twin, or a
 *   `duplicate` row): replaying it would process one event twice.
 */
export type ReplaySkipReason = 'rejected' | 'duplicate';

/** What each skip reason means, for summaries. */
export const replaySkipReasons: Record<ReplaySkipReason, string> = {
  rejected: 'rejected: refused at intake (authentication or an invalid body), kept as evidence and never replayed',
  duplicate: 'duplicate of an accepted delivery with the same dedupe key',
};

/** Bulk replays of more than this many logs need an explicit confirmation (CLI prompt / `--yes`, API `confirm`). */
export const replayConfirmThreshold = 10;
/** At most this many skipped logs are listed by id; beyond it, `skippedByReason` counts them all. */
export const replaySkipListLimit = 50;

export interface ReplaySummary {
  /** Logs that matched when the replay started (rejected ones included). */
  matched: number;
  /** Reset to `received` and their job run again (same job id `log-<id>`, see `WebhookEnqueuer.rerun`). */
  replayed: number;
  /** Skipped logs by id, oldest first: every one when `skippedCount <= replaySkipListLimit`, else the first ones. */
  skipped: Array<{ id: number; reason: ReplaySkipReason }>;
  /** Every skipped log, counted. */
  skippedCount: number;
  skippedByReason: Partial<Record<ReplaySkipReason, number>>;
  /** Reset but not enqueued (queue down): they stay `received`; the reconciler enqueues them once the queue is back. */
  notEnqueued: number;
  /** When this replay started (ms since the epoch): identifies it in logs and answers. */
  replayNumber: number;
  ms: number;
}

export interface ReplayDryRun {
  /** Logs matching the filter (rejected ones included). */
  matched: number;
  /** Logs a replay would reset and enqueue (every match except rejected ones). */
  replayable: number;
  /** Matching rejected logs: shown, never replayed. */
  rejected: number;
  /** Ids of the first `replaySkipListLimit` matching rejected logs, oldest first (what a replay would list as skipped). */
  rejectedIds: number[];
  /** True when a replay of `replayable` logs needs a confirmation (more than `replayConfirmThreshold`). */
  needsConfirmation: boolean;
  /** The first logs that would be replayed, oldest first. */
  sample: WebhookLogSummary[];
}

const sampleSize = 10;
const notRejected = (filter: WebhookLogFilter): WebhookLogFilter => ({
  ...filter,
  excludeStatuses: [...(filter.excludeStatuses ?? []), 'rejected'],
});
const onlyRejected = (filter: WebhookLogFilter): WebhookLogFilter | null =>
  filter.status && filter.status !== 'rejected' ? null : { ...filter, status: 'rejected' };

/** Matches, replayable ones, and rejected ones (the first `replaySkipListLimit` of them by id). */
async function countReplay(sql: Queryable, filter: WebhookLogFilter) {
  const rejectedFilter = onlyRejected(filter);
  const [matched, replayable, rejected, firstRejected] = await Promise.all([
    countWebhookLogs(sql, filter),
    countWebhookLogs(sql, notRejected(filter)),
    rejectedFilter ? countWebhookLogs(sql, rejectedFilter) : 0,
    rejectedFilter ? listWebhookLogsAfter(sql, rejectedFilter, null, replaySkipListLimit) : [],
  ]);
  return { matched, replayable, rejected, rejectedIds: firstRejected.map((r) => r.id) };
}

/** Dry run of a bulk replay: how many logs match, how many would run, and the first few. Changes nothing. */
export async function previewReplay(deps: ReplayDeps, filter: WebhookLogFilter): Promise<ReplayDryRun> {
  const [{ matched, replayable, rejected, rejectedIds }, sample] = await withLogScope(deps, filter.tenantId, (sql) =>
    Promise.all([countReplay(sql, filter), listWebhookLogsAfter(sql, notRejected(filter), null, sampleSize)]),
  );
  return { matched, replayable, rejected, rejectedIds, needsConfirmation: replayable > replayConfirmThreshold, sample };
}

/** Matching logs oldest first, one batch per transaction (each reset must commit before its jobs are added). */
async function* batchesOf(deps: ReplayDeps, filter: WebhookLogFilter, batchSize: number): AsyncGenerator<WebhookLogSummary[]> {
  let after: WebhookLogCursor | null = null;
  for (;;) {
    const position = after;
    const batch = await withLogScope(deps, filter.tenantId, (sql) => listWebhookLogsAfter(sql, filter, position, batchSize));
    if (batch.length === 0) return;
    yield batch;
    if (batch.length < batchSize) return;
    const last = batch.at(-1) as WebhookLogSummary;
    after = { receivedAt: last.receivedAt, id: last.id };
  }
}

function emptySummary(matched: number, replayNumber: number): ReplaySummary {
  return { matched, replayed: 0, skipped: [], skippedCount: 0, skippedByReason: {}, notEnqueued: 0, replayNumber, ms: 0 };
}

function skip(summary: ReplaySummary, reason: ReplaySkipReason, ids: number[], count = ids.length): void {
  if (count === 0) return;
  summary.skippedCount += count;
  summary.skippedByReason[reason] = (summary.skippedByReason[reason] ?? 0) + count;
  const room = replaySkipListLimit - summary.skipped.length;
  summary.skipped.push(...ids.slice(0, Math.max(0, room)).map((id) => ({ id, reason })));
}

/**
 * Replays every log matching `filter` except rejected ones, oldest first, in batches: resets each to
 * `received` (clearing error and processed time), then runs each log's own job `log-<id>` again
 * (`WebhookEnqueuer.rerun`: a retained failed or completed job is retried in place, so Bull Board
 * shows one job per log, not one per replay). Rejected logs are counted and listed in `skipped`, never reset. Idempotent in effect:
 * processing a log again changes no data (SPEC §6.6). Callers confirm bulk replays first
 * (`previewReplay(...).needsConfirmation`).
 */
export async function replayWebhookLogs(
  deps: ReplayDeps,
  filter: WebhookLogFilter,
  options: { batchSize?: number; onProgress?: (p: ReplayProgress) => void } = {},
): Promise<ReplaySummary> {
  const started = Date.now();
  const {
    matched,
    replayable: total,
    rejected,
    rejectedIds,
  } = await withLogScope(deps, filter.tenantId, (sql) => countReplay(sql, filter));
  const summary = emptySummary(matched, started);
  skip(summary, 'rejected', rejectedIds, rejected);
  let done = 0;
  options.onProgress?.({ done, total });
  for await (const batch of batchesOf(deps, notRejected(filter), options.batchSize ?? 500)) {
    await replayBatch(deps, batch, summary);
    done += batch.length;
    options.onProgress?.({ done, total: Math.max(total, done) });
  }
  summary.ms = Date.now() - started;
  return summary;
}

/** The given log ids that exist, oldest first, with tenant and status (statuses read under each tenant). */
async function logsByIds(deps: OperatorDatabases, ids: number[]): Promise<Array<{ id: number; tenantId: string; status: WebhookStatus }>> {
  // Which tenant each id belongs to is the one cross-tenant lookup; the statuses are read under it.
  const owners = await findWebhookLogTenants(deps.admin.sql, ids);
  const status = new Map<number, WebhookStatus>();
  for (const [tenantId, tenantLogIds] of idsByTenant(owners)) {
    const found = await withLogScope(deps, tenantId, (sql) => statusesOf(sql, tenantLogIds));
    for (const r of found) status.set(r.id, r.status);
  }
  return owners.flatMap((o) => {
    const s = status.get(o.id);
    return s ? [{ id: o.id, tenantId: o.tenantId, status: s }] : [];
  });
}

/** What a replay of these log ids would do with each (`mcb replay --id … --dry-run`). Changes nothing. */
export interface ReplayIdsPreview {
  /** Ids a replay would reset and run again, oldest first. */
  replayable: number[];
  /** Ids of rejected logs: evidence, never replayed (SPEC §3). */
  rejected: number[];
  /** Ids that match no log, in the order given. */
  missing: number[];
}

/** Dry run of `replayWebhookLogIds`: which ids would be replayed, which are rejected, which match no log. */
export async function previewReplayIds(deps: OperatorDatabases, ids: number[]): Promise<ReplayIdsPreview> {
  const rows = await logsByIds(deps, ids);
  const found = new Set(rows.map((r) => r.id));
  return {
    replayable: rows.filter((r) => r.status !== 'rejected').map((r) => r.id),
    rejected: rows.filter((r) => r.status === 'rejected').map((r) => r.id),
    missing: [...new Set(ids)].filter((id) => !found.has(id)),
  };
}

/** Replays the given log ids (the single-log path of the console and CLI); rejected ones are skipped. */
export async function replayWebhookLogIds(deps: ReplayDeps, ids: number[]): Promise<ReplaySummary> {
  const started = Date.now();
  const rows = await logsByIds(deps, ids);
  const summary = emptySummary(rows.length, started);
  skip(
    summary,
    'rejected',
    rows.filter((r) => r.status === 'rejected').map((r) => r.id),
  );
  await replayBatch(
    deps,
    rows.filter((r) => r.status !== 'rejected'),
    summary,
  );
  summary.ms = Date.now() - started;
  return summary;
}

async function replayBatch(
  deps: ReplayDeps,
  batch: Array<Pick<WebhookLogSummary, 'id' | 'tenantId' | 'status'>>,
  summary: ReplaySummary,
): Promise<void> {
  if (batch.length === 0) return;
  const reset: Array<{ id: number; tenantId: string }> = [];
  const duplicates = new Set<number>();
  for (const [tenantId, ids] of idsByTenant(batch)) {
    const resetLogs = (some: number[]) => withLogScope(deps, tenantId, (sql) => resetLogsOf(sql, some));
    try {
      reset.push(...(await resetLogs(ids)));
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // A `duplicate` row whose accepted twin holds the dedupe key: go row by row to find it.
      for (const id of ids) {
        try {
          reset.push(...(await resetLogs([id])));
        } catch (rowErr) {
          if (!isUniqueViolation(rowErr)) throw rowErr;
          duplicates.add(id);
        }
      }
    }
  }
  skip(summary, 'duplicate', [...duplicates]);
  // A row that is `rejected` by the time of the reset is never reset (see resetLogsOf).
  const resetIds = new Set(reset.map((r) => r.id));
  skip(
    summary,
    'rejected',
    batch.filter((r) => !resetIds.has(r.id) && !duplicates.has(r.id)).map((r) => r.id),
  );
  if (reset.length === 0) return;
  try {
    await deps.enqueuer.rerun(reset.map((r) => ({ tenantId: r.tenantId, logId: r.id })));
  } catch {
    summary.notEnqueued += reset.length;
    return;
  }
  for (const [tenantId, ids] of idsByTenant(reset)) {
    await withLogScope(
      deps,
      tenantId,
      (sql) => sql`update webhook_logs set enqueued_at = now() where id = any(${ids}::bigint[]) and enqueued_at is null`,
    );
  }
  summary.replayed += reset.length;
}

/** Log ids grouped by tenant, in the order the logs came. */
function idsByTenant(logs: Array<{ id: number; tenantId: string }>): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const { id, tenantId } of logs) groups.set(tenantId, [...(groups.get(tenantId) ?? []), id]);
  return groups;
}

async function statusesOf(sql: Queryable, ids: number[]): Promise<Array<Pick<WebhookLogRow, 'id' | 'status'>>> {
  return sql<Pick<WebhookLogRow, 'id' | 'status'>[]>`select id, status from webhook_logs where id = any(${ids}::bigint[])`;
}

// Committed before the jobs are added: a worker that picks a job up at once must see `received`.
// Never a rejected row: it was refused at intake, and resetting it would turn evidence into data.
async function resetLogsOf(sql: Queryable, ids: number[]): Promise<Array<{ id: number; tenantId: string }>> {
  const rows = await sql<Pick<WebhookLogRow, 'id' | 'tenant_id'>[]>`
    update webhook_logs
    set status = 'received', error_message = null, processed_at = null, enqueued_at = null
    where id = any(${ids}::bigint[]) and status <> 'rejected'
    returning id, tenant_id`;
  return rows.map(toWebhookLog);
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}
