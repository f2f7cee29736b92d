import { waitAtMost, withDeadline } from '@mcb/core';
import { webhookQueueName } from '@mcb/queue';
import { tenantChangedChannel } from '@mcb/tenancy';
import { type Job, Worker } from 'bullmq';
import type { WorkerDeps } from '../deps';
import { dbWaitBoundMs } from '../env';
import { toJobError } from '../errors';
import { processors } from '../processors/registry';
import { runInJobSpan } from '../tracing';
import { Slots } from './slots';

export interface TenantWorkersOptions {
  /** Jobs at once per tenant queue in this process. */
  perTenant: number;
  /** Jobs at once across all tenant queues in this process (slots served to tenants in turn: `Slots`). */
  global: number;
  lockMs: number;
  /** Periodic rediscovery of tenants (besides the tenant-change NOTIFY). */
  refreshMs: number;
}

/**
 * Closes BullMQ workers by `deadline` (SPEC §10.7: finish or release): active jobs finish; 500 ms before
 * it, their processors' signals are aborted (a job that heeds its signal fails and is retried, a Meta sync
 * after saving its checkpoint), then 400 ms more. A job still running after that is left to the stall check.
 * The tenant queues and the fixed queues both close this way.
 */
export async function closeWorkersBy(workers: Worker[], deadline: number): Promise<void> {
  const graceful = Promise.all(workers.map((w) => w.close()));
  if (!(await waitAtMost(graceful, Math.max(0, deadline - Date.now() - 500)))) {
    for (const w of workers) w.cancelAllJobs('shutdown');
    await waitAtMost(graceful, 400);
  }
}

/**
 * One BullMQ Worker per tenant webhook queue (ADR 0003): each tenant is served by its own fetch loop
 * with `perTenant` concurrency, and `global` slots served to tenants in turn cap the total, so neither
 * a flood in one tenant's queue nor slow jobs in many tenants' queues hold another tenant's next job
 * for more than about one job's duration.
 * Tenants are discovered with the admin role at start, on `mcb_tenant_changed` and every `refreshMs`.
 */
export class TenantWebhookWorkers {
  private readonly workers = new Map<string, Worker>();
  /** Slug of each tenant id served, for log lines an operator reads (a slug is what every `mcb` command takes). */
  private readonly slugs = new Map<string, string>();
  private readonly slots: Slots;
  private timer: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private refreshing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly options: TenantWorkersOptions,
  ) {
    this.slots = new Slots(options.global);
  }

  /** Discovers tenants, starts their workers, and keeps the set current. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(
      () => void this.refresh().catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'tenant refresh failed')),
      this.options.refreshMs,
    );
    this.timer.unref();
    try {
      const sub = await this.deps.admin.sql.listen(tenantChangedChannel, () => void this.refresh().catch(() => {}));
      this.unlisten = () => sub.unlisten();
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'tenant-change LISTEN unavailable; relying on periodic refresh');
    }
  }

  /** Tenant ids whose queues this process consumes. */
  tenantIds(): string[] {
    return [...this.workers.keys()];
  }

  /** Re-reads the tenant list: active tenants, plus inactive ones that still have logs to process. */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    if (this.closed) return;
    // Bounded: a refresh that never settled would keep every later one from running (they share it).
    const rows = await withDeadline(
      this.deps.admin.sql<{ id: string; slug: string }[]>`
        select t.id, t.slug from tenants t
        where t.is_active or exists (
          select 1 from webhook_logs l where l.tenant_id = t.id and l.status in ('received', 'processing', 'failed'))`,
      dbWaitBoundMs(this.deps.env),
      'tenant refresh',
    );
    const wanted = new Set(rows.map((r) => r.id));
    for (const r of rows) this.slugs.set(r.id, r.slug);
    for (const id of wanted) if (!this.workers.has(id) && !this.closed) this.workers.set(id, this.createWorker(id));
    for (const [id, worker] of this.workers) {
      if (wanted.has(id)) continue;
      this.workers.delete(id);
      this.slugs.delete(id);
      await worker.close();
    }
    this.deps.metrics.tenantQueues.set(this.workers.size);
  }

  private createWorker(tenantId: string): Worker {
    const { deps } = this;
    const worker = new Worker(
      webhookQueueName(tenantId),
      async (job: Job, token?: string, signal?: AbortSignal) => {
        const processor = processors[job.name as keyof typeof processors];
        if (!processor) throw toJobError(new Error(`No processor for job ${job.name}`));
        await this.slots.acquire(tenantId);
        deps.metrics.active.inc();
        try {
          return await runInJobSpan(deps.tracing, job, tenantId, () => processor(job, deps, token, signal));
        } catch (err) {
          throw toJobError(err);
        } finally {
          deps.metrics.active.dec();
          this.slots.release(tenantId);
        }
      },
      {
        connection: deps.queue.connection,
        prefix: deps.queue.prefix,
        concurrency: this.options.perTenant,
        lockDuration: this.options.lockMs,
        stalledInterval: this.options.lockMs,
        autorun: true,
        telemetry: deps.tracing.bullmq,
      },
    );
    // `tenant` is the slug, as in every other log line and `mcb` command; the id stays beside it.
    const tenant = () => this.slugs.get(tenantId) ?? tenantId;
    worker.on('error', (err) => deps.log.error({ tenant: tenant(), tenantId, err: err.message }, 'tenant worker error'));
    worker.on('failed', (job, err) => {
      if (job && err.name !== 'DelayedError')
        deps.log.warn(
          { tenant: tenant(), tenantId, jobId: job.id, attempts: job.attemptsMade, err: err.message },
          // The tenant queue also runs capi.send and orphans.link.
          job.name === 'webhook.process' ? 'webhook job failed' : `${job.name} job failed`,
        );
    });
    return worker;
  }

  /**
   * Stops fetching, lets active jobs finish until `deadline` (epoch ms), then aborts the rest: the
   * processor moves an aborted job back to the queue at its next step (or the lock expires and another
   * worker picks it up as stalled). Never loses a job.
   */
  async close(deadline = Date.now() + 8_000): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.unlisten?.().catch(() => {});
    await closeWorkersBy([...this.workers.values()], deadline);
    this.workers.clear();
  }
}
