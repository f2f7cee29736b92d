import type { Logger } from '@mcb/core';
import type { Database } from '@mcb/db';

export interface PruneRejectedOptions {
  /** Rejected rows received more than this many days ago are deleted. */
  keepDays: number;
  /** Rows per DELETE (each its own short transaction, so intake never waits on a long one). */
  batchSize?: number;
}

/**
 * Retention of rejected deliveries (SPEC §3: evidence for an operator, never input). Anyone who knows
 * a tenant's URL can send them; the receiver stores at most a per-tenant rate of them (8 KB of body,
 * about 2 KB of headers each), and this bounds how long they stay: rows `rejected` older than
 * `keepDays` are deleted in batches, oldest first (index `webhook_logs_status_received_idx`; their
 * search rows go with them, ON DELETE CASCADE). Accepted rows are never touched. Runs on the admin
 * role (across tenants, ADR 0002); two workers pruning at once only delete the same rows once.
 * Returns how many rows it deleted.
 */
export async function pruneRejectedLogs(admin: Database, options: PruneRejectedOptions): Promise<number> {
  if (admin.role !== 'admin') throw new Error('pruneRejectedLogs needs the admin database role (it deletes across tenants)');
  const batchSize = options.batchSize ?? 5_000;
  let deleted = 0;
  for (;;) {
    const rows = await admin.sql<{ id: number }[]>`
      delete from webhook_logs l
      using (
        select tenant_id, id from webhook_logs
        where status = 'rejected' and received_at < now() - ${options.keepDays} * interval '1 day'
        order by received_at
        limit ${batchSize}
        for update skip locked) d
      where l.tenant_id = d.tenant_id and l.id = d.id
      returning l.id`;
    deleted += rows.length;
    if (rows.length < batchSize) return deleted;
  }
}

/**
 * Runs `pruneRejectedLogs` in a worker: first a minute after start (a worker restarted more often than
 * the interval still prunes), then `everyMs` after each run ends (runs never overlap). A failed run
 * (Postgres down) is logged and tried again next time. `keepDays` 0 keeps rejected rows: nothing runs.
 */
export class RejectedLogPruner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deps: { admin: Database; log: Pick<Logger, 'info' | 'warn'> },
    private readonly options: { keepDays: number; everyMs: number },
  ) {}

  start(): void {
    if (this.timer || this.options.keepDays <= 0) return;
    const tick = () => {
      this.running = pruneRejectedLogs(this.deps.admin, { keepDays: this.options.keepDays }).then(
        (deleted) => {
          if (deleted > 0) this.deps.log.info({ deleted, keepDays: this.options.keepDays }, 'pruned rejected webhook logs');
        },
        (err) => this.deps.log.warn({ err: (err as Error).message }, 'pruning rejected webhook logs failed; retrying next interval'),
      );
      void this.running.then(() => {
        if (this.timer) this.timer = setTimeout(tick, this.options.everyMs).unref();
      });
    };
    this.timer = setTimeout(tick, Math.min(60_000, this.options.everyMs)).unref();
  }

  /** No run starts after this; resolves once a run in progress has ended. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
