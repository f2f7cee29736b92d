import type { Database } from '@mcb/db';
import { pingQueue, type QueueConnection } from '@mcb/queue';
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
    const timeout = <T>(p: Promise<T>) =>
      Promise.race([p, new Promise<never>((_, r) => setTimeout(() => r(new Error('timeout')), 1_000).unref())]);
    const [pg, q] = await Promise.allSettled([timeout(database.sql`select 1`), timeout(pingQueue(queue))]);
    const ok = pg.status === 'fulfilled' && q.status === 'fulfilled';
    return c.json(
      { ok, postgres: pg.status === 'fulfilled' ? 'ok' : 'down', queue: q.status === 'fulfilled' ? 'ok' : 'down' },
      ok ? 200 : 503,
    );
  });
  return app;
}
