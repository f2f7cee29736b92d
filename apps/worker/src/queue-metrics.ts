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
  const read = oncePerScrape(async () => getQueueCounts(deps.queue, await listQueueRefs(deps.admin)));
  const jobs = new Gauge({
    name: 'mcb_queue_jobs',
    help: 'Jobs per queue, tenant (slug, empty for system queues) and state, read from BullMQ at scrape time',
    labelNames: ['queue', 'tenant', 'state'] as const,
    registers: [registry],
    async collect() {
      jobs.reset();
      try {
        for (const q of await read()) {
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
      const now = Date.now();
      // A failed read is logged once, by mcb_queue_jobs.
      for (const q of await read().catch(() => [])) {
        oldest.set({ queue: q.name, tenant: q.tenantSlug ?? '' }, q.oldestWaitingAt ? Math.max(0, (now - q.oldestWaitingAt) / 1000) : 0);
      }
    },
  });
}

/**
 * Wraps `read` so the gauges of one scrape (collected together) share one read; a scrape a second
 * later reads afresh.
 */
export function oncePerScrape<T>(read: () => Promise<T>, ttlMs = 1_000): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => {
    if (!pending) {
      pending = read();
      const clear = () => setTimeout(() => (pending = null), ttlMs).unref();
      pending.then(clear, clear);
    }
    return pending;
  };
}
