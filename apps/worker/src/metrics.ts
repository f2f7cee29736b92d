import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Processing metrics of one worker process, served as Prometheus text on `/metrics`. */
export function createWorkerMetrics() {
  const registry = new Registry();
  const jobs = new Counter({
    name: 'mcb_worker_webhook_jobs_total',
    help: 'webhook.process jobs by tenant, source and outcome (processed, ignored, failed, retry, released)',
    labelNames: ['tenant', 'source', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'mcb_worker_webhook_duration_seconds',
    help: 'time to process one webhook job (load, normalize, apply, mark)',
    labelNames: ['source'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'mcb_worker_webhook_end_to_end_seconds',
    help: 'received_at → processed_at of processed webhook logs',
    labelNames: ['source'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const active = new Gauge({ name: 'mcb_worker_active_jobs', help: 'jobs being processed now', registers: [registry] });
  const tenantQueues = new Gauge({
    name: 'mcb_worker_tenant_queues',
    help: 'tenant webhook queues this process consumes',
    registers: [registry],
  });
  const reconciled = new Counter({
    name: 'mcb_worker_reconciled_total',
    help: 'Webhook logs the reconciler found stranded, by action: enqueued (no job), rerun (job finished, log not), failed (lost too often); orphans_link: tenants whose orphan backlog had lost its job (added again)',
    labelNames: ['action'] as const,
    registers: [registry],
  });
  return { registry, jobs, duration, latency, active, tenantQueues, reconciled };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
