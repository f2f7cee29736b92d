import type { Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import { pingQueue, type QueueConnection } from '@mcb/queue';
import { Hono } from 'hono';

export interface ConsoleDeps {
  database: Database;
  queue: QueueConnection;
  log: Logger;
  adminToken: string;
}

/** The operator console: Bull Board + admin API behind `ADMIN_TOKEN` (see issue "Operator console"). */
export function createConsoleApp(deps: ConsoleDeps) {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const [pg, q] = await Promise.allSettled([deps.database.sql`select 1`, pingQueue(deps.queue)]);
    const ok = pg.status === 'fulfilled' && q.status === 'fulfilled';
    return c.json({ ok }, ok ? 200 : 503);
  });
  return app;
}
