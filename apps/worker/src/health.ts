import type { Database } from '@mcb/db';
import { checkReadiness, type QueueConnection } from '@mcb/queue';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';

/** `/healthz` (process up), `/readyz` (Postgres and queue backend reachable), `/metrics` (Prometheus) for the worker. */
export function createWorkerHealthApp({ database, queue, registry }: { database: Database; queue: QueueConnection; registry?: Registry }) {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/metrics', async (c) => {
    if (!registry) return c.text('', 404);
    return c.text(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });
  app.get('/readyz', async (c) => {
    const ready = await checkReadiness({ database, queue });
    return c.json(ready, ready.ok ? 200 : 503);
  });
  return app;
}
