import type { Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import type { WebhookEnqueuer } from '@mcb/queue';
import type { ReceiverMetrics } from '../metrics';
import { withTimeout } from './queue-ready';

export interface OutboxSweeperOptions {
  /** Only rows at least this old: younger ones may still be on their way through group commit. */
  minAgeMs: number;
  /** Rows claimed per transaction. */
  batchSize: number;
  intervalMs: number;
  enqueueTimeoutMs: number;
}

export const defaultOutboxSweeperOptions: OutboxSweeperOptions = {
  minAgeMs: 5_000,
  batchSize: 500,
  intervalMs: 2_000,
  enqueueTimeoutMs: 5_000,
};

/**
 * The outbox sweeper (SPEC §3, §10.4): enqueues accepted rows whose job never reached the queue
 * (`status = 'received' AND enqueued_at IS NULL`, older than `minAgeMs`). Each round claims up to
 * `batchSize` rows with `FOR UPDATE SKIP LOCKED`, adds their jobs (ids derive from the log id, so a
 * job already there is not added twice) and sets `enqueued_at` in the same transaction: any number
 * of receivers can sweep at once and each row is claimed by one. Named admin path (ADR 0002): it
 * runs as `mcb_admin` because it reads across tenants.
 */
export class OutboxSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private readonly options: OutboxSweeperOptions;

  constructor(
    private readonly deps: {
      admin: Database;
      enqueuer: WebhookEnqueuer;
      queueReady: () => boolean;
      log: Logger;
      metrics?: ReceiverMetrics;
    },
    options: Partial<OutboxSweeperOptions> = {},
  ) {
    if (deps.admin.role !== 'admin') throw new Error('OutboxSweeper needs the admin database role (it reads across tenants)');
    this.options = { ...defaultOutboxSweeperOptions, ...options };
  }

  /** Sweeps every `intervalMs` until `stop()`. */
  start(): void {
    if (this.timer) return;
    const tick = async () => {
      try {
        await this.sweep();
        await this.refreshDepth();
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'outbox sweep failed');
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

  /** Enqueues every eligible row (rounds of `batchSize`); returns how many this sweeper enqueued. */
  sweep(): Promise<number> {
    if (!this.running) {
      this.running = this.sweepRounds().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /** Accepted rows not yet enqueued (any age), also published as `mcb_receiver_outbox_depth`. */
  async refreshDepth(): Promise<number> {
    const [row] = await this.deps.admin.sql<{ n: number }[]>`
      select count(*)::int as n from webhook_logs where status = 'received' and enqueued_at is null`;
    const n = row?.n ?? 0;
    this.deps.metrics?.outboxDepth.set(n);
    return n;
  }

  private async sweepRounds(): Promise<number> {
    let total = 0;
    for (;;) {
      if (!this.deps.queueReady()) return total;
      const n = await this.sweepRound();
      total += n;
      if (n < this.options.batchSize) break;
    }
    if (total > 0) {
      this.deps.metrics?.swept.inc(total);
      this.deps.log.info({ enqueued: total }, 'outbox sweeper enqueued webhook jobs');
    }
    return total;
  }

  private async sweepRound(): Promise<number> {
    const { admin, enqueuer } = this.deps;
    const { minAgeMs, batchSize, enqueueTimeoutMs } = this.options;
    return (await admin.sql.begin(async (tx) => {
      const rows = await tx<{ tenant_id: string; id: number }[]>`
        select tenant_id, id from webhook_logs
        where status = 'received' and enqueued_at is null and received_at < now() - ${minAgeMs} * interval '1 millisecond'
        order by received_at
        limit ${batchSize}
        for update skip locked`;
      if (rows.length === 0) return 0;
      await withTimeout(enqueuer.enqueue(rows.map((r) => ({ tenantId: r.tenant_id, logId: r.id }))), enqueueTimeoutMs, 'outbox enqueue');
      await tx`
        update webhook_logs set enqueued_at = now()
        where (tenant_id, id) in (select * from unnest(${rows.map((r) => r.tenant_id)}::uuid[], ${rows.map((r) => r.id)}::bigint[]))`;
      return rows.length;
    })) as number;
  }
}
