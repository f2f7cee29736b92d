import type { Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import type { QueueConnection } from '@mcb/queue';
import type { WorkerEnv } from './env';

/** Everything a processor may use. Built once per process in main.ts; tests build their own. */
export interface WorkerDeps {
  env: WorkerEnv;
  log: Logger;
  /** Role `mcb_app`: every tenant query goes through `withTenant`. */
  database: Database;
  /** Role `mcb_admin`: only for resolving a log's tenant and cross-tenant fan-out. */
  admin: Database;
  queue: QueueConnection;
}
