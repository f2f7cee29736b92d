import type { Database, WebhookLogFilter, WebhookLogSummary } from '@mcb/db';
import { countWebhookLogs, iterateWebhookLogs } from '@mcb/db';
import type { WebhookEnqueuer } from '@mcb/queue';
import type { Sql } from 'postgres';

export interface ReplayDeps {
  /** Admin (`mcb_admin`) connection: replay is an operator path across tenants. */
  admin: Database;
  enqueuer: WebhookEnqueuer;
}

export interface ReplayProgress {
  done: number;
  total: number;
}

/**
 * Why a log was left alone:
 * - `rejected`: it failed authentication (or was not JSON). Rejected rows are evidence, never input
 *   (SPEC §3): replay shows them and never processes them.
 * - `duplicate`: an accepted delivery with the same dedupe key exists (a rejected twin, or a
 *   `duplicate` row): replaying it would process one event twice.
 */
export type ReplaySkipReason = 'rejected' | 'duplicate';

/** What each skip reason means, for summaries. */
export const replaySkipReasons: Record<ReplaySkipReason, string> = {
  rejected: 'rejected: failed authentication, kept as evidence and never replayed',
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
async function countReplay(sql: Sql, filter: WebhookLogFilter) {
  const rejectedFilter = onlyRejected(filter);
  const [matched, replayable, rejected, firstRejected] = await Promise.all([
    countWebhookLogs(sql, filter),
    countWebhookLogs(sql, notRejected(filter)),
    rejectedFilter ? countWebhookLogs(sql, rejectedFilter) : 0,
    rejectedFilter ? iterateWebhookLogs(sql, rejectedFilter, replaySkipListLimit).next() : null,
  ]);
  return { matched, replayable, rejected, rejectedIds: firstRejected && !firstRejected.done ? firstRejected.value.map((r) => r.id) : [] };
}

/** Dry run of a bulk replay: how many logs match, how many would run, and the first few. Changes nothing. */
export async function previewReplay(deps: ReplayDeps, filter: WebhookLogFilter): Promise<ReplayDryRun> {
  const [{ matched, replayable, rejected }, first] = await Promise.all([
    countReplay(deps.admin.sql, filter),
    iterateWebhookLogs(deps.admin.sql, notRejected(filter), sampleSize).next(),
  ]);
  return { matched, replayable, rejected, needsConfirmation: replayable > replayConfirmThreshold, sample: first.done ? [] : first.value };
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
  const sql = deps.admin.sql;
  const { matched, replayable: total, rejected, rejectedIds } = await countReplay(sql, filter);
  const summary = emptySummary(matched, started);
  skip(summary, 'rejected', rejectedIds, rejected);
  let done = 0;
  options.onProgress?.({ done, total });
  for await (const batch of iterateWebhookLogs(sql, notRejected(filter), options.batchSize ?? 500)) {
    await replayBatch(deps, batch, summary);
    done += batch.length;
    options.onProgress?.({ done, total: Math.max(total, done) });
  }
  summary.ms = Date.now() - started;
  return summary;
}

/** Replays the given log ids (the single-log path of the console and CLI); rejected ones are skipped. */
export async function replayWebhookLogIds(deps: ReplayDeps, ids: number[]): Promise<ReplaySummary> {
  const started = Date.now();
  const rows = await deps.admin.sql<{ id: number; tenant_id: string; status: string }[]>`
    select id, tenant_id, status from webhook_logs where id = any(${ids}::bigint[]) order by received_at, id`;
  const summary = emptySummary(rows.length, started);
  skip(
    summary,
    'rejected',
    rows.filter((r) => r.status === 'rejected').map((r) => r.id),
  );
  await replayBatch(
    deps,
    rows.filter((r) => r.status !== 'rejected').map((r) => ({ id: r.id, tenantId: r.tenant_id, status: r.status }) as WebhookLogSummary),
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
  const sql = deps.admin.sql;
  let reset: Array<{ id: number; tenant_id: string }>;
  const duplicates = new Set<number>();
  try {
    reset = await resetLogs(
      sql,
      batch.map((r) => r.id),
    );
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // A `duplicate` row whose accepted twin holds the dedupe key: go row by row to find it.
    reset = [];
    for (const row of batch) {
      try {
        reset.push(...(await resetLogs(sql, [row.id])));
      } catch (rowErr) {
        if (!isUniqueViolation(rowErr)) throw rowErr;
        duplicates.add(row.id);
      }
    }
  }
  skip(summary, 'duplicate', [...duplicates]);
  // A row that is `rejected` by the time of the reset is never reset (see resetLogs).
  const resetIds = new Set(reset.map((r) => r.id));
  skip(
    summary,
    'rejected',
    batch.filter((r) => !resetIds.has(r.id) && !duplicates.has(r.id)).map((r) => r.id),
  );
  if (reset.length === 0) return;
  try {
    await deps.enqueuer.rerun(reset.map((r) => ({ tenantId: r.tenant_id, logId: r.id })));
  } catch {
    summary.notEnqueued += reset.length;
    return;
  }
  const ids = reset.map((r) => r.id);
  await sql`update webhook_logs set enqueued_at = now() where id = any(${ids}::bigint[]) and enqueued_at is null`;
  summary.replayed += reset.length;
}

// Committed before the jobs are added: a worker that picks a job up at once must see `received`.
// Never a rejected row: it failed authentication, and resetting it would turn evidence into data.
async function resetLogs(sql: Sql, ids: number[]): Promise<Array<{ id: number; tenant_id: string }>> {
  return sql<{ id: number; tenant_id: string }[]>`
    update webhook_logs
    set status = 'received', error_message = null, processed_at = null, enqueued_at = null
    where id = any(${ids}::bigint[]) and status <> 'rejected'
    returning id, tenant_id`;
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}
