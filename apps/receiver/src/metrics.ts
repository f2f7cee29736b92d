import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** What a webhook request ended as (the `outcome` label; one per row of the SPEC §3 table). */
export type IntakeOutcomeLabel =
  | 'accepted'
  | 'duplicate'
  | 'unknown_tenant'
  | 'unknown_source'
  | 'missing_credentials'
  | 'invalid_signature'
  | 'payload_too_large'
  | 'invalid_json'
  | 'invalid_payload'
  | 'request_timeout'
  | 'aborted'
  | 'rate_limited'
  | 'busy'
  | 'unavailable'
  | 'error';

/** The receiver's Prometheus metrics, on their own registry (each app instance, and each test, has one). */
export interface ReceiverMetrics {
  registry: Registry;
  requests: Counter<'tenant' | 'source' | 'status' | 'outcome'>;
  latency: Histogram<'source' | 'outcome'>;
  batchSize: Histogram;
  batchPhase: Histogram<'phase'>;
  enqueueFailures: Counter;
  rowsStoredRaw: Counter;
  rejectionsNotStored: Counter<'tenant' | 'credentials'>;
  bodyBudgetRefused: Counter<'tenant' | 'scope'>;
  intakeRateLimited: Counter<'tenant'>;
}

/** Creates the metrics. `defaults` adds process metrics (RSS, CPU, event-loop lag). */
export function createReceiverMetrics({ defaults = true }: { defaults?: boolean } = {}): ReceiverMetrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'mcb_receiver_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'mcb_receiver_requests_total',
      help: 'Webhook requests by tenant slug, source, HTTP status and outcome (unknown slugs/sources are counted as _unknown)',
      labelNames: ['tenant', 'source', 'status', 'outcome'],
      registers,
    }),
    latency: new Histogram({
      name: 'mcb_receiver_request_duration_seconds',
      help: 'Webhook request latency, from routing to answer',
      labelNames: ['source', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    batchSize: new Histogram({
      name: 'mcb_receiver_group_commit_batch_size',
      help: 'Rows written per group-commit transaction',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    batchPhase: new Histogram({
      name: 'mcb_receiver_group_commit_phase_seconds',
      help: 'Time per group-commit batch in each phase: commit (the transaction) and enqueue (addBulk)',
      labelNames: ['phase'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    enqueueFailures: new Counter({
      name: 'mcb_receiver_enqueue_failures_total',
      help: 'Jobs of committed rows not handed to the queue (queue down, slow or backlog full); the reconciler enqueues them',
      registers,
    }),
    rowsStoredRaw: new Counter({
      name: 'mcb_receiver_rows_stored_raw_total',
      help: 'Accepted deliveries Postgres refused as parsed, stored with their raw bytes as failed',
      registers,
    }),
    rejectionsNotStored: new Counter({
      name: 'mcb_receiver_rejections_not_stored_total',
      help: 'Rejected deliveries past their per-tenant budget of stored rejections (credentials: sent = it carried a signature or secret, none = it carried none): answered as usual, counted here only',
      labelNames: ['tenant', 'credentials'],
      registers,
    }),
    bodyBudgetRefused: new Counter({
      name: 'mcb_receiver_body_budget_refused_total',
      help: 'Requests answered 503 because the bytes of bodies held at once were at their bound (scope: process = the receiver total, tenant = the tenant share)',
      labelNames: ['tenant', 'scope'],
      registers,
    }),
    intakeRateLimited: new Counter({
      name: 'mcb_receiver_intake_rate_limited_total',
      help: 'Verified deliveries answered 429 because their tenant was past its budget of accepted intake bytes; nothing stored',
      labelNames: ['tenant'],
      registers,
    }),
  };
}
