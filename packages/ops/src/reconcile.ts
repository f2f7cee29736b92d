import { type Logger, sleep, withDeadline } from '@mcb/core';
import type { Database } from '@mcb/db';
import { type WebhookEnqueuer, webhookJobId } from '@mcb/queue';
import type { TransactionSql } from 'postgres';

export interface ReconcilerOptions {
  /** Only rows acked at least this long ago: younger ones may still be on their way to the queue. */
  minAgeMs: number;
  /** Pause between two passes. */
  intervalMs: number;
  /** Rows read and checked per round (one query, one pipelined burst of job look-ups). */
  batchSize: number;
  /** A row whose job finished (failed by a stall, lost) is run again while its attempts stay below this; then it is marked failed. */
  maxAttempts: number;
  /** Longest wait for one round (its query, job look-ups and enqueues): a round that never settles fails the pass, and the next pass runs. */
  roundTimeoutMs: number;
}

export const defaultReconcilerOptions: ReconcilerOptions = {
  minAgeMs: 15_000,
  intervalMs: 10_000,
  batchSize: 1_000,
  maxAttempts: 8,
  roundTimeoutMs: 65_000,
};

/** What one pass did. */
export interface ReconcileSummary {
  /** Rows `received`/`processing` past `minAgeMs`, and rows `failed` whose promised retry is overdue by as much, that were looked at. */
  checked: number;
  /** Rows with no job at all (Redis lost it or a promised retry, flushed, or the receiver never got it there): enqueued. */
  enqueued: number;
  /** Rows whose job had finished while the row had not (a stall-failed job): run again. */
  rerun: number;
  /** Rows whose job kept getting lost past `maxAttempts`: marked `failed` with the reason. */
  failed: number;
  /** Tenants with an `orphan_link_backlog` older than `minAgeMs` that were looked at. */
  orphanBacklogs: number;
  /** Of those, tenants with no `orphans.link` job waiting (it was lost or never added): the job added. */
  orphanLinks: number;
  /** False when another reconciler held the lock (one per deployment at a time). */
  ran: boolean;
}

type Candidate = { tenant_id: string; id: number; status: string; attempts: number; error_message: string | null };

/**
 * Set on a row still `received` that the reconciler ran again because its job had finished: the worker's
 * claim clears it, so finding it again means the job keeps ending before it claims the row.
 */
export const requeuedUnclaimedMark = 'requeued by the reconciler: its job had finished before this run was claimed';

// pg_try_advisory_xact_lock key: one reconciler pass per deployment at a time.
export const reconcilerLockKey = 727_275;
/** Pause before a pass already under way asks again for the lock another pass's round holds. */
const lockWaitMs = 20;

/**
 * The reconciler (SPEC §10.4): no acked event is ever stranded, whatever Redis or a worker does.
 * Every `intervalMs` it walks the rows still `received` or `processing` older than `minAgeMs`, and the
 * rows `failed` whose promised retry (`retry_at`) is overdue by `minAgeMs` (partial indexes
 * `webhook_logs_pending_idx` and `webhook_logs_retry_idx`, by id), and looks up each one's job by its deterministic id
 * (`log-<id>`): no job → enqueue it (an add under an existing id is a no-op, so racing the receiver's
 * own enqueue is harmless); a job that finished while its row did not (BullMQ fails a job that
 * stalled twice without running the processor's failure path) → run it again, up to `maxAttempts`
 * processing attempts of the row, then mark the row `failed` with the reason so an operator sees it
 * and can replay it. Effects stay exactly-once because processing a log twice changes nothing (§6.6).
 * Runs on the admin role (it reads across tenants, ADR 0002); a transaction-scoped advisory lock
 * keeps it to one pass per deployment at a time, however many workers run it.
 */
export class WebhookReconciler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ReconcileSummary> | null = null;
  private readonly options: ReconcilerOptions;

  constructor(
    private readonly deps: {
      admin: Database;
      enqueuer: WebhookEnqueuer;
      log: Logger;
      /** Called after each pass that did something (metrics). */
      onPass?: (summary: ReconcileSummary) => void;
    },
    options: Partial<ReconcilerOptions> = {},
  ) {
    if (deps.admin.role !== 'admin') throw new Error('WebhookReconciler needs the admin database role (it reads across tenants)');
    this.options = { ...defaultReconcilerOptions, ...options };
  }

  /** Runs a pass every `intervalMs` until `stop()`; a failed pass (Redis or Postgres down) is logged and retried next time. */
  start(): void {
    if (this.timer) return;
    let lastError = 0;
    const tick = async () => {
      try {
        await this.reconcile();
      } catch (err) {
        if (Date.now() - lastError > 60_000) {
          lastError = Date.now();
          this.deps.log.warn({ err: (err as Error).message }, 'reconciler pass failed; retrying next interval');
        }
      }
      if (this.timer) this.timer = setTimeout(tick, this.options.intervalMs).unref();
    };
    this.timer = setTimeout(tick, this.options.intervalMs).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /** One full pass over the pending rows (rounds of `batchSize`). Concurrent calls share one pass. */
  reconcile(): Promise<ReconcileSummary> {
    if (!this.running) {
      this.running = this.pass().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async pass(): Promise<ReconcileSummary> {
    const summary: ReconcileSummary = { checked: 0, enqueued: 0, rerun: 0, failed: 0, orphanBacklogs: 0, orphanLinks: 0, ran: true };
    let after = 0;
    let started = false;
    let lockedSince: number | null = null;
    for (;;) {
      const round = await withDeadline(this.round(after, summary), this.options.roundTimeoutMs, 'reconciler round');
      if (round === 'locked') {
        // Another pass holds the lock. At the start, this pass yields to it. Mid-pass it waits for that
        // round to end and goes on: the lock is released between rounds, so the other pass may have taken
        // it after this one began, and both used to stop, leaving rows unwalked (a flaky CI run, stop 37).
        if (!started) {
          summary.ran = false;
          break;
        }
        lockedSince ??= Date.now();
        if (Date.now() - lockedSince > this.options.roundTimeoutMs) throw new Error('reconciler round: lock held past the round timeout');
        await sleep(lockWaitMs);
        continue;
      }
      started = true;
      lockedSince = null;
      if (round === null) break;
      after = round;
    }
    if (summary.ran) await withDeadline(this.orphanBacklog(summary), this.options.roundTimeoutMs, 'reconciler orphan backlog');
    // A backlog whose job is only waiting its turn (a busy tenant queue) is not news: the job was not lost.
    if (summary.orphanLinks > 0)
      this.deps.log.info(
        { tenants: summary.orphanLinks, backlogs: summary.orphanBacklogs },
        'reconciler added orphans.link for backlogs left behind',
      );
    if (summary.enqueued + summary.rerun + summary.failed > 0) {
      this.deps.log.info(
        { checked: summary.checked, enqueued: summary.enqueued, rerun: summary.rerun, failed: summary.failed },
        'reconciler re-enqueued stranded webhook logs',
      );
    }
    this.deps.onPass?.(summary);
    return summary;
  }

  /**
   * Orphans a person still waits for: a tenant whose `orphan_link_backlog` has a row older than `minAgeMs`
   * gets its `orphans.link` job (deduplicated per tenant: see `orphansLinkJob`). The job's own
   * steps rewrite the rows they keep, so only a backlog no job is working on grows old.
   */
  private async orphanBacklog(summary: ReconcileSummary): Promise<void> {
    const { admin, enqueuer } = this.deps;
    const tenants = (await admin.sql.begin(async (tx) => {
      const [lock] = await tx<{ ok: boolean }[]>`select pg_try_advisory_xact_lock(${reconcilerLockKey}) as ok`;
      if (!lock?.ok) return [];
      return [
        ...(await tx<{ tenant_id: string }[]>`
        select tenant_id from orphan_link_backlog
        group by tenant_id having min(created_at) < now() - ${this.options.minAgeMs} * interval '1 millisecond'`),
      ];
    })) as Array<{ tenant_id: string }>;
    summary.orphanBacklogs += tenants.length;
    for (const t of tenants) if (await enqueuer.linkOrphans(t.tenant_id)) summary.orphanLinks += 1;
  }

  /** One keyset page (by id, oldest first); returns the last id seen, null at the end, 'locked' when another pass runs. */
  private async round(after: number, summary: ReconcileSummary): Promise<number | null | 'locked'> {
    const { admin } = this.deps;
    const { minAgeMs, batchSize } = this.options;
    return (await admin.sql.begin(async (tx) => {
      const [lock] = await tx<{ ok: boolean }[]>`select pg_try_advisory_xact_lock(${reconcilerLockKey}) as ok`;
      if (!lock?.ok) return 'locked';
      const rows = await tx<Candidate[]>`
        select tenant_id, id, status, attempts, error_message from webhook_logs
        where id > ${after} and (
          (status in ('received', 'processing') and received_at < now() - ${minAgeMs} * interval '1 millisecond')
          or (status = 'failed' and retry_at < now() - ${minAgeMs} * interval '1 millisecond'))
        order by id
        limit ${batchSize}`;
      if (rows.length === 0) return null;
      summary.checked += rows.length;
      await this.settle(tx, rows, summary);
      const last = rows[rows.length - 1] as Candidate;
      return rows.length < batchSize ? null : last.id;
    })) as number | null | 'locked';
  }

  private async settle(tx: TransactionSql, rows: Candidate[], summary: ReconcileSummary) {
    const { enqueuer } = this.deps;
    // Look-ups are sent together (one pipelined burst on the queue connection).
    const jobs = await Promise.all(rows.map((r) => enqueuer.queueFor(r.tenant_id).getJob(webhookJobId(r.id))));
    const missing: Candidate[] = [];
    const finished: Candidate[] = [];
    const jobOf = new Map<Candidate, (typeof jobs)[number]>();
    rows.forEach((r, i) => {
      const job = jobs[i];
      if (!job) missing.push(r);
      else if (job.finishedOn) {
        finished.push(r);
        jobOf.set(r, job);
      }
    });
    if (missing.length > 0) {
      await enqueuer.enqueue(missing.map((r) => ({ tenantId: r.tenant_id, logId: r.id })));
      summary.enqueued += missing.length;
    }
    // A row still `received` was never claimed by the job that finished: that job is from an earlier run
    // (e.g. a replay reset the row after it, and its enqueue failed with Redis down). It runs again
    // whatever its attempts — once: it is marked, the worker's claim clears the mark, and a row found
    // marked again (its job keeps ending before the claim) is given up on. A row the worker claimed
    // (`processing`: a job that stalled twice) runs again while its attempts stay below the limit.
    const unclaimed = (r: Candidate) => r.status === 'received' && r.error_message !== requeuedUnclaimedMark;
    const again = (r: Candidate) => (r.status === 'received' ? unclaimed(r) : r.attempts < this.options.maxAttempts);
    const rerun = finished.filter(again);
    const giveUp = finished.filter((r) => !again(r));
    for (const r of rerun) {
      const job = jobOf.get(r);
      // The finished job holds the id: remove it, then add the same id again (waiting, fresh attempts).
      await job?.remove().catch(() => {});
    }
    if (rerun.length > 0) {
      await enqueuer.enqueue(rerun.map((r) => ({ tenantId: r.tenant_id, logId: r.id })));
      summary.rerun += rerun.length;
      const received = rerun.filter((r) => r.status === 'received');
      if (received.length > 0)
        await tx`
          update webhook_logs set error_message = ${requeuedUnclaimedMark}
          where tenant_id = any(${received.map((r) => r.tenant_id)}::uuid[]) and id = any(${received.map((r) => r.id)}::bigint[])
            and status = 'received'`;
    }
    if (giveUp.length > 0) {
      const reasons = giveUp.map((r) => jobOf.get(r)?.failedReason || 'job finished but the log was not');
      await tx`
        update webhook_logs l set status = 'failed', processed_at = now(), retry_at = null,
          error_message = 'lost by workers ' || l.attempts || ' times (' || g.reason || '); replay it by hand once the cause is fixed'
        from unnest(${giveUp.map((r) => r.tenant_id)}::uuid[], ${giveUp.map((r) => r.id)}::bigint[], ${reasons}::text[]) as g(tenant_id, id, reason)
        where l.tenant_id = g.tenant_id and l.id = g.id
          and (l.status in ('received', 'processing') or (l.status = 'failed' and l.retry_at is not null))`;
      summary.failed += giveUp.length;
    }
  }
}
