import { Queue } from 'bullmq';
import { defaultJobOptions, webhookJobId, webhookQueueName } from './catalog';
import type { QueueConnection } from './connection';

export interface WebhookJobRef {
  tenantId: string;
  logId: number;
  /** Replay number; a replay gets a fresh job id so a retained completed job does not swallow it. */
  replay?: number;
}

/**
 * Adds `webhook.process` jobs, one `addBulk` per tenant queue. Job ids derive from the log id, so
 * enqueuing the same log twice (receiver + outbox sweeper, two sweepers) adds one job.
 * Used by the receiver, the outbox sweeper, and replay.
 */
export class WebhookEnqueuer {
  private readonly queues = new Map<string, Queue>();
  constructor(
    private readonly conn: QueueConnection,
    private readonly attempts = 8,
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

  async enqueue(refs: WebhookJobRef[]): Promise<void> {
    const byTenant = new Map<string, WebhookJobRef[]>();
    for (const ref of refs) {
      const list = byTenant.get(ref.tenantId) ?? [];
      list.push(ref);
      byTenant.set(ref.tenantId, list);
    }
    const options = defaultJobOptions(this.attempts);
    await Promise.all(
      [...byTenant].map(([tenantId, list]) =>
        this.queueFor(tenantId).addBulk(
          list.map((ref) => ({
            name: 'webhook.process',
            data: { logId: ref.logId },
            opts: { ...options, jobId: webhookJobId(ref.logId, ref.replay) },
          })),
        ),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
