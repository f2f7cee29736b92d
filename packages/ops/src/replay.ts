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

export interface ReplaySummary {
  /** Logs that matched when the replay started. */
  matched: number;
  /** Reset to `received` and enqueued under a fresh job id. */
  replayed: number;
  /** Left alone, with why (a rejected twin of an accepted delivery is a duplicate). */
  skipped: Array<{ id: number; reason: string }>;
  /** Reset but not enqueued (queue down): they stay `received` with no `enqueued_at`, for the outbox. */
  notEnqueued: number;
  replayNumber: number;
  ms: number;
}

export interface ReplayDryRun {
  matched: number;
  /** The first logs that would be replayed, oldest first. */
  sample: WebhookLogSummary[];
}

const sampleSize = 10;

/** Dry run of a bulk replay: how many logs match, and the first few. Enqueues nothing, changes nothing. */
export async function previewReplay(deps: ReplayDeps, filter: WebhookLogFilter): Promise<ReplayDryRun> {
  const matched = await countWebhookLogs(deps.admin.sql, filter);
  const first = await iterateWebhookLogs(deps.admin.sql, filter, sampleSize).next();
  return { matched, sample: first.done ? [] : first.value };
}

/**
 * Replays every log matching `filter`, oldest first, in batches: resets each to `received`
 * (clearing error and processed time; rejected rows too — an operator decided, so no signature
 * check happens again), then enqueues `webhook.process` with a replay number (`Date.now()` of this
 * replay) so retained completed or failed jobs of the same log cannot swallow it. Idempotent in
 * effect: processing a log again changes no data (SPEC §6.6).
 */
export async function replayWebhookLogs(
  deps: ReplayDeps,
  filter: WebhookLogFilter,
  options: { batchSize?: number; onProgress?: (p: ReplayProgress) => void } = {},
): Promise<ReplaySummary> {
  const started = Date.now();
  const replayNumber = started;
  const matched = await countWebhookLogs(deps.admin.sql, filter);
  const summary: ReplaySummary = { matched, replayed: 0, skipped: [], notEnqueued: 0, replayNumber, ms: 0 };
  let done = 0;
  options.onProgress?.({ done, total: matched });
  for await (const batch of iterateWebhookLogs(deps.admin.sql, filter, options.batchSize ?? 500)) {
    await replayBatch(deps, batch, replayNumber, summary);
    done += batch.length;
    options.onProgress?.({ done, total: Math.max(matched, done) });
  }
  summary.ms = Date.now() - started;
  return summary;
}

/** Replays the given log ids (the single-log path of the console and CLI). */
export async function replayWebhookLogIds(deps: ReplayDeps, ids: number[]): Promise<ReplaySummary> {
  const started = Date.now();
  const rows = await deps.admin.sql<{ id: number; tenant_id: string; status: string }[]>`
    select id, tenant_id, status from webhook_logs where id = any(${ids}::bigint[]) order by received_at, id`;
  const summary: ReplaySummary = { matched: rows.length, replayed: 0, skipped: [], notEnqueued: 0, replayNumber: started, ms: 0 };
  await replayBatch(
    deps,
    rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, status: r.status }) as WebhookLogSummary),
    started,
    summary,
  );
  summary.ms = Date.now() - started;
  return summary;
}

async function replayBatch(
  deps: ReplayDeps,
  batch: Array<Pick<WebhookLogSummary, 'id' | 'tenantId' | 'status'>>,
  replayNumber: number,
  summary: ReplaySummary,
): Promise<void> {
  const sql = deps.admin.sql;
  let reset: Array<{ id: number; tenant_id: string }>;
  try {
    reset = await resetLogs(
      sql,
      batch.map((r) => r.id),
    );
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // A rejected row whose genuine twin was accepted meanwhile: go row by row to find it.
    reset = [];
    for (const row of batch) {
      try {
        reset.push(...(await resetLogs(sql, [row.id])));
      } catch (rowErr) {
        if (!isUniqueViolation(rowErr)) throw rowErr;
        summary.skipped.push({ id: row.id, reason: 'duplicate of an accepted delivery with the same dedupe key' });
      }
    }
  }
  if (reset.length === 0) return;
  try {
    await deps.enqueuer.enqueue(reset.map((r) => ({ tenantId: r.tenant_id, logId: r.id, replay: replayNumber })));
  } catch {
    summary.notEnqueued += reset.length;
    return;
  }
  const ids = reset.map((r) => r.id);
  await sql`update webhook_logs set enqueued_at = now() where id = any(${ids}::bigint[]) and enqueued_at is null`;
  summary.replayed += reset.length;
}

// Committed before the jobs are added: a worker that picks a job up at once must see `received`.
async function resetLogs(sql: Sql, ids: number[]): Promise<Array<{ id: number; tenant_id: string }>> {
  return sql<{ id: number; tenant_id: string }[]>`
    update webhook_logs
    set status = 'received', error_message = null, processed_at = null, enqueued_at = null
    where id = any(${ids}::bigint[])
    returning id, tenant_id`;
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}
