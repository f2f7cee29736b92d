import type { TraceSpan, Tracing } from '@mcb/telemetry';
import { type JobsOptions, Queue } from 'bullmq';
import { defaultJobOptions, orphansLinkJob, webhookJobId, webhookQueueName } from './catalog';
import type { QueueConnection } from './connection';

export interface WebhookJobRef {
  tenantId: string;
  logId: number;
  /** Length of the stored payload (JSON text), when the enqueuer knows it: the worker's memory budget reads it. */
  bytes?: number;
  /** Serialized trace context of the request that stored the log (receiver, tracing on). */
  trace?: string;
}

/**
 * Adds `webhook.process` jobs, one `addBulk` per tenant queue. Job ids derive from the log id, so
 * enqueuing the same log twice (the receiver and the reconciler, two reconcilers) adds one job.
 * Used by the receiver and the worker's reconciler (ADR 0010); replay uses `rerun`.
 */
export class WebhookEnqueuer {
  private readonly queues = new Map<string, Queue>();
  constructor(
    private readonly conn: QueueConnection,
    private readonly attempts = 8,
    /** Receiver only: `webhook.enqueue` spans for refs that carry a trace context. */
    private readonly tracing?: Tracing,
  ) {}

  queueFor(tenantId: string): Queue {
    let q = this.queues.get(tenantId);
    if (!q) {
      q = new Queue(webhookQueueName(tenantId), { connection: this.conn.connection, prefix: this.conn.prefix });
      q.on('error', this.conn.onError(`queue ${webhookQueueName(tenantId)}`));
      this.queues.set(tenantId, q);
    }
    return q;
  }

  /**
   * Adds the tenant's `orphans.link` job (deduplicated per tenant: see `orphansLinkJob`). True when a job
   * was added; false when the tenant's job was already waiting (BullMQ then answers with that job's id).
   */
  async linkOrphans(tenantId: string): Promise<boolean> {
    const job = orphansLinkJob(tenantId, this.attempts);
    const added = await this.queueFor(tenantId).add(job.name, job.data, job.opts);
    return added.id === job.opts.jobId;
  }

  async enqueue(refs: WebhookJobRef[]): Promise<void> {
    const byTenant = new Map<string, WebhookJobRef[]>();
    for (const ref of refs) {
      const list = byTenant.get(ref.tenantId) ?? [];
      list.push(ref);
      byTenant.set(ref.tenantId, list);
    }
    const options = defaultJobOptions(this.attempts);
    await Promise.all([...byTenant].map(([tenantId, list]) => this.addBulk(this.queueFor(tenantId), list, options)));
  }

  /**
   * One tenant's jobs in one `addBulk`. With tracing on, a ref that carries its request's context gets
   * a `webhook.enqueue` span (kind producer) under it, and its job carries that span's context in
   * BullMQ's `opts.telemetry.metadata`, where the worker's BullMQ telemetry picks it up.
   */
  private async addBulk(queue: Queue, list: WebhookJobRef[], options: JobsOptions): Promise<void> {
    const spans = this.tracing?.enabled ? list.map((ref) => this.enqueueSpan(queue, ref, list.length)) : undefined;
    try {
      await queue.addBulk(
        list.map((ref, i) => {
          const metadata = spans?.[i]?.metadata();
          return {
            name: 'webhook.process',
            data: ref.bytes === undefined ? { logId: ref.logId } : { logId: ref.logId, bytes: ref.bytes },
            opts: metadata
              ? { ...options, jobId: webhookJobId(ref.logId), telemetry: { metadata } }
              : { ...options, jobId: webhookJobId(ref.logId) },
          };
        }),
      );
    } catch (err) {
      for (const span of spans ?? []) span?.fail(err);
      throw err;
    } finally {
      for (const span of spans ?? []) span?.end();
    }
  }

  private enqueueSpan(queue: Queue, ref: WebhookJobRef, batch: number): TraceSpan | undefined {
    if (!ref.trace || !this.tracing) return undefined;
    return this.tracing.startSpan('webhook.enqueue', {
      kind: 'producer',
      parent: ref.trace,
      attributes: {
        'messaging.system': 'bullmq',
        'messaging.destination.name': queue.name,
        'messaging.message.id': webhookJobId(ref.logId),
        'messaging.batch.message_count': batch,
        'mcb.tenant_id': ref.tenantId,
        'mcb.log_id': ref.logId,
      },
    });
  }

  /**
   * Replay: runs each log's processing job again under its own id `log-<id>`. A failed or completed
   * job goes back to waiting with its attempts reset (BullMQ `job.retry`); a waiting, delayed or active
   * one is left to run; a log whose job is gone (retention, a flushed Redis) gets a new one. Bull Board
   * therefore shows one job per log however often it is replayed. Throws when a job could not be moved.
   */
  async rerun(refs: WebhookJobRef[]): Promise<void> {
    const missing: WebhookJobRef[] = [];
    await Promise.all(
      refs.map(async (ref) => {
        if (!(await this.retryExisting(this.queueFor(ref.tenantId), ref.logId))) missing.push(ref);
      }),
    );
    if (missing.length > 0) await this.enqueue(missing);
  }

  /** True when the log's job exists and will run (again); false when there is no job to re-run. */
  private async retryExisting(queue: Queue, logId: number): Promise<boolean> {
    const job = await queue.getJob(webhookJobId(logId));
    if (!job) return false;
    const state = await job.getState();
    if (state !== 'failed' && state !== 'completed') return state !== 'unknown';
    try {
      await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    } catch (err) {
      // It moved meanwhile (another replay, the outbox): fine if it is now pending, an error otherwise.
      const now = await job.getState();
      if (now === 'unknown') return false;
      if (now === 'failed' || now === 'completed') throw err;
      return true;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
