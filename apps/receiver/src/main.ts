import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { closeHttpServer, createLogger, createRateLimitedWarn, exitOnEnvError, onShutdown, queueBackendFromEnv } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection } from '@mcb/queue';
import { startTracing } from '@mcb/telemetry';
import { createTenantContextLoader, parseKeyring, receiverMaxPendingLoads } from '@mcb/tenancy';
import { createReceiver } from './app';
import { ghlKeysFromEnv, httpServerOptions, loadReceiverEnv } from './env';

const env = loadReceiverEnv();
const log = createLogger({ name: 'receiver', level: env.LOG_LEVEL });
const ghlPublicKeys = exitOnEnvError(() => ghlKeysFromEnv(env));
// Traces only when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise the SDK is never loaded.
const traceWarn = createRateLimitedWarn(log);
const tracing = await startTracing({
  endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
  serviceName: env.OTEL_SERVICE_NAME,
  onError: (message) => traceWarn({ err: message }, 'tracing'),
});
// Every database wait on the request path is bounded: connect in DB_CONNECT_TIMEOUT_S, statements in 10 s
// server-side, and each request's wait in DB_REQUEST_TIMEOUT_MS (then 503).
const dbLimits = { connectTimeoutSeconds: env.DB_CONNECT_TIMEOUT_S, statementTimeoutMs: 10_000 };
const database = createDatabase({
  url: env.DATABASE_URL,
  role: 'app',
  max: env.DATABASE_POOL_MAX,
  applicationName: 'mcb-receiver',
  ...dbLimits,
});
// Admin path (ADR 0002): tenant-context resolution by slug.
const admin = createDatabase({ url: env.DATABASE_URL, role: 'admin', max: 3, applicationName: 'mcb-receiver-admin', ...dbLimits });
const queue = createQueueConnection(queueBackendFromEnv(env), env.QUEUE_PREFIX, { log });
const tenants = createTenantContextLoader({
  admin,
  keyring: parseKeyring(env.MCB_ENCRYPTION_KEY),
  ttlMs: env.TENANT_CACHE_TTL_MS,
  maxPending: receiverMaxPendingLoads,
});
const receiver = createReceiver({
  database,
  queue,
  log,
  tenants,
  ghlPublicKeys,
  bodyLimitBytes: env.BODY_LIMIT_BYTES,
  dbTimeoutMs: env.DB_REQUEST_TIMEOUT_MS,
  rejectionsStoredPerMinute: env.REJECTIONS_STORED_PER_MINUTE,
  credentialedRejectionsStoredPerMinute: env.CREDENTIALED_REJECTIONS_STORED_PER_MINUTE,
  bodyReadTimeoutMs: env.BODY_READ_TIMEOUT_MS,
  bodyBudgetBytes: env.BODY_BUDGET_BYTES,
  bodyBudgetPerTenantBytes: env.BODY_BUDGET_PER_TENANT_BYTES,
  intakeBytesPerTenantPerMinute: env.INTAKE_BYTES_PER_TENANT_PER_MINUTE,
  jobAttempts: env.JOB_ATTEMPTS,
  tracing,
  groupCommit: {
    windowMs: env.GROUP_COMMIT_WINDOW_MS,
    maxRows: env.GROUP_COMMIT_MAX_ROWS,
    maxConcurrent: env.GROUP_COMMIT_CONCURRENCY,
    enqueueTimeoutMs: env.ENQUEUE_TIMEOUT_MS,
  },
});

const server = serve({ fetch: receiver.app.fetch, port: env.PORT, hostname: env.HOST, serverOptions: httpServerOptions(env) }, (info) => {
  log.info({ port: info.port, tracing: tracing.enabled ? env.OTEL_SERVICE_NAME : false }, 'receiver listening');
});
// A backstop on sockets (file descriptors); memory is bounded by the body budget, not by this.
if (env.MAX_CONNECTIONS > 0) (server as Server).maxConnections = env.MAX_CONNECTIONS;
// Apart from the public port: the metrics name every tenant and its traffic (docs/security.md "Listeners").
const metricsServer = serve({ fetch: receiver.metricsApp.fetch, port: env.METRICS_PORT, hostname: env.HOST }, (info) => {
  log.info({ port: info.port }, 'receiver metrics listening');
});

onShutdown(
  [
    // Stop accepting, let in-flight requests finish (each is answered only after its commit).
    { name: 'http', close: () => closeHttpServer(server as Server) },
    { name: 'intake', close: () => receiver.close() },
    { name: 'metrics', close: () => closeHttpServer(metricsServer as Server, { drainMs: 0, idleGraceMs: 0 }) },
    { name: 'tenants', close: () => tenants.close() },
    { name: 'queue', close: () => queue.close() },
    { name: 'postgres', close: () => Promise.all([database.close(), admin.close()]) },
    { name: 'tracing', close: () => tracing.shutdown() },
  ],
  log,
  env.SHUTDOWN_TIMEOUT_MS,
);
