import type { Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import { getQueueCounts, listQueueRefs, queueStates } from '@mcb/ops';
import type { QueueConnection } from '@mcb/queue';
import { Gauge, type Registry } from 'prom-client';

/**
 * Queue depth, read from BullMQ when Prometheus scrapes `/metrics` (not on a timer): jobs per queue,
 * tenant and state, and the age of each queue's oldest waiting job. Every worker reports every queue,
 * so dashboards and autoscalers take `max by (queue)`. KEDA scales the workers on
 * `mcb_queue_jobs{state="waiting"}` (infra/k8s/base/worker.yaml).
 */
export function registerQueueMetrics(registry: Registry, deps: { admin: Database; queue: QueueConnection; log: Logger }): void {
  // One read serves both gauges of a scrape (prom-client collects them one after the other).
  let pending: ReturnType<typeof read> | null = null;
  const read = async () => getQueueCounts(deps.queue, await listQueueRefs(deps.admin));
  const snapshot = () => {
    pending ??= read().finally(() => setTimeout(() => (pending = null), 1_000).unref());
    return pending;
  };
  const jobs = new Gauge({
    name: 'mcb_queue_jobs',
    help: 'Jobs per queue, tenant (slug, empty for system queues) and state, read from BullMQ at scrape time',
    labelNames: ['queue', 'tenant', 'state'] as const,
    registers: [registry],
    async collect() {
      jobs.reset();
      try {
        for (const q of await snapshot()) {
          for (const state of queueStates) jobs.set({ queue: q.name, tenant: q.tenantSlug ?? '', state }, q.counts[state]);
        }
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'queue metrics unavailable');
      }
    },
  });
  const oldest = new Gauge({
    name: 'mcb_queue_oldest_waiting_seconds',
    help: 'Age of the oldest waiting job per queue and tenant (0 when none waits)',
    labelNames: ['queue', 'tenant'] as const,
    registers: [registry],
    async collect() {
      oldest.reset();
      try {
        const now = Date.now();
        for (const q of await snapshot()) {
          oldest.set({ queue: q.name, tenant: q.tenantSlug ?? '' }, q.oldestWaitingAt ? Math.max(0, (now - q.oldestWaitingAt) / 1000) : 0);
        }
      } catch {
        // Already logged by mcb_queue_jobs for this scrape.
      }
    },
  });
}
