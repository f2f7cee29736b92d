import { createLogger, createRateLimitedWarn, onShutdown } from '@mcb/core';
import { isNotMigrated } from '@mcb/db';
import { startTracing } from '@mcb/telemetry';
import { loadWorkerEnv } from './env';
import { startWorkerRuntime } from './runtime';

const env = loadWorkerEnv();
const log = createLogger({ name: 'worker', level: env.LOG_LEVEL });
// Traces only when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise the SDK is never loaded.
const traceWarn = createRateLimitedWarn(log);
const tracing = await startTracing({
  endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
  serviceName: env.OTEL_SERVICE_NAME,
  onError: (message) => traceWarn({ err: message }, 'tracing'),
});
const runtime = await startWorkerRuntime(env, log, tracing).catch((err: Error & { code?: unknown }) => {
  // One line, not a stack: what stopped the start (the health port in use, Postgres refusing, …).
  const hint = isNotMigrated(err) ? ' (the database is not migrated: run mcb db migrate first)' : '';
  log.fatal({ err: `${err.message}${hint}` }, 'worker could not start');
  process.exit(1);
});

// SIGTERM/SIGINT: stop fetching, finish or release active jobs within SHUTDOWN_TIMEOUT_MS, then close
// Redis and Postgres (runtime.close keeps that order), then export the last spans.
onShutdown(
  [
    { name: 'worker', close: () => runtime.close(Date.now() + env.SHUTDOWN_TIMEOUT_MS - 200) },
    { name: 'tracing', close: () => tracing.shutdown() },
  ],
  log,
  env.SHUTDOWN_TIMEOUT_MS,
);
