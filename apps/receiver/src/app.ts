import { errorResponse, KeyedRateLimiter, type Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import { checkReadiness, type QueueConnection, WebhookEnqueuer } from '@mcb/queue';
import type { GhlPublicKeys } from '@mcb/sources';
import { noTracing, type Tracing } from '@mcb/telemetry';
import type { TenantContextLoader } from '@mcb/tenancy';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { ReceiverEnvVars } from './http';
import { type GroupCommitOptions, GroupCommitter } from './intake/group-commit';
import { isQueueReady } from './intake/queue-ready';
import { createReceiverMetrics, type ReceiverMetrics } from './metrics';
import { registerWebhookRoutes } from './routes/webhooks';
import { traceWebhookRequests, webhookRoute } from './tracing';

export interface ReceiverDeps {
  /** Role `app` (RLS): every write sets `app.tenant_id`. */
  database: Database;
  queue: QueueConnection;
  log: Logger;
  tenants: TenantContextLoader;
  /** Defaults to one built on `queue` (closed by `close()` then). */
  enqueuer?: WebhookEnqueuer;
  metrics?: ReceiverMetrics;
  /** Parsed GHL public keys; HighLevel's published keys when absent. */
  ghlPublicKeys?: GhlPublicKeys;
  /** Default 1 MiB. */
  bodyLimitBytes?: number;
  groupCommit?: Partial<GroupCommitOptions>;
  /** Injected clock (signature tolerance, rotation overlap). */
  now?: () => Date;
  /**
   * Bound on each database wait of a request (default 1,500 ms): the tenant lookup, and a free
   * transaction slot for its row (+400 ms for the commit itself). Postgres down → 503 within 2 s.
   */
  dbTimeoutMs?: number;
  /** Rejected deliveries stored per tenant per minute (default 60, as a burst too); past it only counted. */
  rejectionsStoredPerMinute?: number;
  /** Traces of webhook requests and their enqueue (default `noTracing`: no span, no SDK). */
  tracing?: Tracing;
}

export interface Receiver {
  /** The public app (webhook routes, `/healthz`, `/readyz`): what providers and probes reach. */
  app: Hono<ReceiverEnvVars>;
  /** `/metrics` only, for a listener of its own (METRICS_PORT): its series name every tenant and its traffic. */
  metricsApp: Hono;
  committer: GroupCommitter;
  metrics: ReceiverMetrics;
  enqueuer: WebhookEnqueuer;
  /** Waits for in-flight batches (call after the HTTP server stopped accepting). */
  drain: () => Promise<void>;
  /** Drains, then closes the enqueuer if this receiver created it. */
  close: () => Promise<void>;
}

export const defaultBodyLimitBytes = 1024 * 1024;

/**
 * Builds the receiver (no globals; tests build their own): request id, JSON error bodies
 * `{error:{code,message,requestId}}`, `/healthz`, `/readyz` and the webhook routes on `app`;
 * `/metrics` on `metricsApp` only, never on the public port.
 */
export function createReceiver(deps: ReceiverDeps): Receiver {
  const metrics = deps.metrics ?? createReceiverMetrics();
  const tracing = deps.tracing ?? noTracing;
  const ownEnqueuer = !deps.enqueuer;
  const enqueuer = deps.enqueuer ?? new WebhookEnqueuer(deps.queue, undefined, tracing);
  const committer = new GroupCommitter(
    { database: deps.database, enqueuer, queueReady: () => isQueueReady(deps.queue), metrics, log: deps.log },
    { maxWaitMs: deps.dbTimeoutMs ?? 1_500, maxTotalMs: (deps.dbTimeoutMs ?? 1_500) + 400, ...deps.groupCommit },
  );

  const app = new Hono<ReceiverEnvVars>();
  app.use(requestId());
  if (tracing.enabled) app.use(webhookRoute, traceWebhookRequests(tracing));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // Ready while Postgres answers: with the queue down intake goes on (SPEC §10), so the readiness
  // probe (infra/k8s, the image's HEALTHCHECK) must not take the receiver out of service then.
  app.get('/readyz', async (c) => {
    const ready = await checkReadiness(deps, { queueOptional: true });
    return c.json(ready, ready.ok ? 200 : 503);
  });
  registerWebhookRoutes(app, {
    tenants: deps.tenants,
    committer,
    metrics,
    log: deps.log,
    bodyLimitBytes: deps.bodyLimitBytes ?? defaultBodyLimitBytes,
    verifyOptions: { ghlPublicKeys: deps.ghlPublicKeys },
    now: deps.now ?? (() => new Date()),
    dbTimeoutMs: deps.dbTimeoutMs ?? 1_500,
    rejectionBudget: new KeyedRateLimiter({
      perSecond: (deps.rejectionsStoredPerMinute ?? 60) / 60,
      burst: Math.max(1, deps.rejectionsStoredPerMinute ?? 60),
    }),
  });
  app.notFound((c) => errorResponse(c, 'not_found', 'Not found'));
  app.onError((err, c) => {
    deps.log.error({ requestId: c.get('requestId'), err: err.message }, 'unhandled error');
    return errorResponse(c, 'internal_error', 'Internal error');
  });

  return {
    app,
    metricsApp: createReceiverMetricsApp(metrics),
    committer,
    metrics,
    enqueuer,
    drain: () => committer.drain(),
    close: async () => {
      await committer.drain();
      if (ownEnqueuer) await enqueuer.close();
    },
  };
}

/**
 * `/metrics` (Prometheus text) and nothing else. Served by main.ts on METRICS_PORT, apart from the
 * public port: the series carry every tenant's slug and traffic (the agency's client list), so the
 * listener is for the scraper only (docs/security.md "Listeners").
 */
export function createReceiverMetricsApp(metrics: ReceiverMetrics): Hono {
  const app = new Hono();
  app.use(requestId());
  app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }));
  app.notFound((c) => errorResponse(c, 'not_found', 'Not found'));
  return app;
}
