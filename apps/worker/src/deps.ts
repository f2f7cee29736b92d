import type { Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import type { ManyChatClient } from '@mcb/manychat';
import type { QueueConnection } from '@mcb/queue';
import type { Tracing } from '@mcb/telemetry';
import type { TenantContextLoader } from '@mcb/tenancy';
import type { WorkerEnv } from './env';
import type { WorkerMetrics } from './metrics';

/** Everything a processor may use. Built once per process in main.ts; tests build their own. */
export interface WorkerDeps {
  env: WorkerEnv;
  log: Logger;
  /** Role `mcb_app`: every tenant query runs inside `withTenantSql` / `withTenantRoundTrip`. */
  database: Database;
  /** Role `mcb_admin`: only for resolving a log's tenant and cross-tenant fan-out. */
  admin: Database;
  queue: QueueConnection;
  /** Tenant contexts with decrypted credentials (ManyChat `api_key`, Meta token, …). */
  tenants: TenantContextLoader;
  manychat: ManyChatClient;
  metrics: WorkerMetrics;
  /** Job spans (tracing.ts) and BullMQ's consumer spans; `noTracing` unless OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  tracing: Tracing;
}
