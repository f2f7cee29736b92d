import type { Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import type { QueueConnection } from '@mcb/queue';
import { Hono } from 'hono';
import { checkReadiness } from './readiness';

export interface ReceiverDeps {
  database: Database;
  queue: QueueConnection;
  log: Logger;
}

/** Builds the receiver's Hono app from its dependencies (no globals; tests build their own). */
export function createReceiverApp(deps: ReceiverDeps) {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const ready = await checkReadiness(deps);
    return c.json(ready, ready.ok ? 200 : 503);
  });
  return app;
}
