import { errorResponse, KeyedRateLimiter, type Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import { checkReadiness, type QueueConnection, WebhookEnqueuer } from '@mcb/queue';
import type { GhlPublicKeys } from '@mcb/sources';
import { noTracing, type Tracing } from '@mcb/telemetry';
import type { TenantContextLoader } from '@mcb/tenancy';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { ReceiverEnvVars } from './http';
import { BodyBudget } from './intake/body-budget';
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
  /** Defaults to one built on `queue` (closed by `close()` then), adding jobs with `jobAttempts` attempts. */
  enqueuer?: WebhookEnqueuer;
  /** Attempts of each webhook job (`JOB_ATTEMPTS`, default 8); used when the receiver builds its enqueuer. */
  jobAttempts?: number;
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
  /**
   * Rejected deliveries WITHOUT credential material (no signature, no secret) stored per tenant per
   * minute (default 60, as a burst too); past it only counted.
   */
  rejectionsStoredPerMinute?: number;
  /**
   * Rejected deliveries that carried a signature or secret (wrong, old, for another key) stored per
   * tenant per minute (default 20, as a burst too): a budget of their own, so junk cannot use it up.
   */
  credentialedRejectionsStoredPerMinute?: number;
  /** Longest a request body may take to arrive (default 15 s): past it `408 request_timeout`. */
  bodyReadTimeoutMs?: number;
  /**
   * The pace a body must keep within `bodyReadTimeoutMs` (default 2 s plus 1 s per 64 KiB arrived):
   * a sender holding its body open is cut off 2 s after its last burst (`readBodyWithLimit`).
   */
  bodyReadPace?: { graceMs: number; bytesPerSecond: number };
  /** Bytes of request bodies held at once by this receiver (default 64 MiB): past it `503` + `Retry-After`. */
  bodyBudgetBytes?: number;
  /** Each tenant's share of `bodyBudgetBytes` for large bodies (default 8 MiB; at least `bodyLimitBytes`). */
  bodyBudgetPerTenantBytes?: number;
  /** A body is large past this many bytes (default 64 KiB): `BodyBudget`. */
  bodyBudgetSmallBytes?: number;
  /**
   * Verified intake bytes per tenant per minute (default 256 MiB, as a burst too; at least
   * `bodyLimitBytes`): past it `429 rate_limited` + `Retry-After`, nothing stored.
   */
  intakeBytesPerTenantPerMinute?: number;
  /** Traces of webhook requests and their enqueue (default `noTracing`: no span, no SDK). */
  tracing?: Tracing;
}

export interface Receiver {
  /** The public app (webhook routes, `/healthz`, `/readyz`): what providers and probes reach. */
  app: Hono<ReceiverEnvVars>;
  /** `/metrics` only, for a listener of its own (METRICS_PORT): its series name every tenant and its traffic. */
  metricsApp: Hono;
  committer: GroupCommitter;
  /** Bytes of request bodies held now, in all and per tenant (`held(tenantId)`). */
  bodyBudget: BodyBudget;
  metrics: ReceiverMetrics;
  enqueuer: WebhookEnqueuer;
  /** Waits for in-flight batches (call after the HTTP server stopped accepting). */
  drain: () => Promise<void>;
  /** Drains, then closes the enqueuer if this receiver created it. */
  close: () => Promise<void>;
}

export const defaultBodyLimitBytes = 1024 * 1024;

/**
 * Defaults of the intake bounds (docs/security.md "What a sender can cost"). A real provider event is
 * 1–20 KB and arrives within milliseconds; the bounds sit far above that and only meet abuse.
 */
export const intakeDefaults = {
  rejectionsStoredPerMinute: 60,
  credentialedRejectionsStoredPerMinute: 20,
  /** A 1 MiB body (the limit) at 100 KB/s, a very slow uplink, takes ~10 s. */
  bodyReadTimeoutMs: 15_000,
  /**
   * Providers send a body at once, right after its headers. Without a pace a sender could hold 64 KiB
   * bodies for the whole 15 s: 64 MiB of the body budget for ~4.5 MB/s. With it, 2.6 s: ~25 MB/s.
   */
  bodyReadPace: { graceMs: 2_000, bytesPerSecond: 64 * 1024 },
  /** 64 bodies at the limit; with the baseline heap (~190 MB RSS) well within the pod's 384 Mi. */
  bodyBudgetBytes: 64 * 1024 * 1024,
  /** An eighth of the total: one tenant's senders leave 7/8 of it to the others. */
  bodyBudgetPerTenantBytes: 8 * 1024 * 1024,
  /**
   * ~4.5 MB/s sustained per tenant and receiver (~3,000 events/s of 1.5 KB, 220/s of the largest real
   * event, 20 KB): above any tool's real peak — a ManyChat broadcast's External Requests are never
   * retried, so a refused one is lost — while a flood of large bodies (a leaked secret) is held to it.
   */
  intakeBytesPerTenantPerMinute: 256 * 1024 * 1024,
} as const;

/**
 * Builds the receiver (no globals; tests build their own): request id, JSON error bodies
 * `{error:{code,message,requestId}}`, `/healthz`, `/readyz` and the webhook routes on `app`;
 * `/metrics` on `metricsApp` only, never on the public port.
 */
export function createReceiver(deps: ReceiverDeps): Receiver {
  const metrics = deps.metrics ?? createReceiverMetrics();
  const tracing = deps.tracing ?? noTracing;
  const ownEnqueuer = !deps.enqueuer;
  const enqueuer = deps.enqueuer ?? new WebhookEnqueuer(deps.queue, deps.jobAttempts, tracing);
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
  const bodyLimitBytes = deps.bodyLimitBytes ?? defaultBodyLimitBytes;
  const perMinute = (n: number) => new KeyedRateLimiter({ perSecond: n / 60, burst: Math.max(1, n) });
  const intakeBytesPerMinute = deps.intakeBytesPerTenantPerMinute ?? intakeDefaults.intakeBytesPerTenantPerMinute;
  const bodyBudget = new BodyBudget({
    totalBytes: deps.bodyBudgetBytes ?? intakeDefaults.bodyBudgetBytes,
    perTenantBytes: deps.bodyBudgetPerTenantBytes ?? intakeDefaults.bodyBudgetPerTenantBytes,
    smallBodyBytes: deps.bodyBudgetSmallBytes,
  });
  // A body at the limit must fit each bound, or it could never be accepted at all.
  if (bodyBudget.options.perTenantBytes < bodyLimitBytes || (bodyBudget.options.totalBytes * 3) / 4 < bodyBudget.options.perTenantBytes)
    throw new Error('receiver: the body budget must hold the body limit per tenant, and the per-tenant share must fit 3/4 of the total');
  if (intakeBytesPerMinute < bodyLimitBytes)
    throw new Error('receiver: the intake byte budget per tenant must hold at least the body limit');
  registerWebhookRoutes(app, {
    tenants: deps.tenants,
    committer,
    metrics,
    log: deps.log,
    bodyLimitBytes,
    verifyOptions: { ghlPublicKeys: deps.ghlPublicKeys },
    now: deps.now ?? (() => new Date()),
    dbTimeoutMs: deps.dbTimeoutMs ?? 1_500,
    rejectionBudgets: {
      credentialed: perMinute(deps.credentialedRejectionsStoredPerMinute ?? intakeDefaults.credentialedRejectionsStoredPerMinute),
      junk: perMinute(deps.rejectionsStoredPerMinute ?? intakeDefaults.rejectionsStoredPerMinute),
    },
    bodyReadTimeoutMs: deps.bodyReadTimeoutMs ?? intakeDefaults.bodyReadTimeoutMs,
    bodyReadPace: deps.bodyReadPace ?? intakeDefaults.bodyReadPace,
    bodyBudget,
    intakeBytes: { limiter: perMinute(intakeBytesPerMinute), perSecond: intakeBytesPerMinute / 60 },
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
    bodyBudget,
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
