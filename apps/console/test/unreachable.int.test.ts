import { randomBytes } from 'node:crypto';
import { createLogger } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection } from '@mcb/queue';
import { freeLoopbackPort, testEnv } from '@mcb/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/app';

// Faults walk, stop 37: with Redis down or paused, Bull Board and GET /admin/api/queues never answered
// (the queue client waits for Redis forever); with Postgres down, every page and API answered
// `500 Internal error`, the cause only in the server log. Both now answer 503 at once, saying what to check.

const env = testEnv();
const token = randomBytes(24).toString('hex');
const bearer = { authorization: `Bearer ${token}` };
const log = createLogger({ name: 'test-console', level: 'silent' });
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers) await close().catch(() => {});
});

/**
 * A console on its own pools and queue connection (closed after the file): Postgres at `databaseUrl`
 * (with `dbOptions`), Redis at `redisUrl` under a prefix of its own.
 */
function consoleOn(
  databaseUrl: string,
  redisUrl: string,
  prefix: string,
  dbOptions: { max?: number; connectTimeoutSeconds?: number; statementTimeoutMs?: number } = {},
) {
  const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2, ...dbOptions });
  const app = createDatabase({ url: databaseUrl, role: 'app', max: 2, ...dbOptions });
  const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, `${env.redisPrefix}-${prefix}`);
  const consoleApp = createConsoleApp({ admin, app, queue, log, adminToken: token, queueRefreshMs: 3_600_000 });
  closers.push(
    async () => consoleApp.close?.(),
    () => queue.close(),
    () => admin.close(),
    () => app.close(),
  );
  return consoleApp;
}

describe('the console with a backing service down', () => {
  it('Redis down: the queue pages and job counts answer 503 naming Redis, at once; the rest still works', async () => {
    const deadRedis = `redis://127.0.0.1:${await freeLoopbackPort()}`;
    const consoleApp = consoleOn(env.databaseUrl, deadRedis, 'console-deadredis');
    for (const path of ['/admin/api/queues', '/admin/queues', '/admin/queues/api/queues']) {
      const res = await consoleApp.app.request(path, { headers: bearer });
      expect(res.status, path).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('unavailable');
      expect(body.error.message).toMatch(/^The queue backend \(Redis\) did not answer within 2000 ms: .*REDIS_URL/);
    }
    // Pages that read Postgres only are not held up by Redis.
    expect((await consoleApp.app.request('/admin/api/logs?since=1h', { headers: bearer })).status).toBe(200);
  });

  it('Postgres down: 503 naming the address and what to check, not 500 Internal error', async () => {
    const deadPostgres = `postgres://postgres@127.0.0.1:${await freeLoopbackPort()}/none`;
    const consoleApp = consoleOn(deadPostgres, env.redisUrl, 'console-deadpg', { max: 1, connectTimeoutSeconds: 1 });
    const res = await consoleApp.app.request('/admin/api/logs', { headers: bearer });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('unavailable');
    expect(body.error.message).toMatch(
      /^A service the console reads did not answer \(ECONNREFUSED at 127\.0\.0\.1:\d+\): check that Postgres and Redis run/,
    );
    // A browser opening a page gets a page saying so, not the API's JSON.
    const page = await consoleApp.app.request('/admin/logs', { headers: { ...bearer, accept: 'text/html,application/xhtml+xml' } });
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/<p class="error">A service the console reads did not answer \(ECONNREFUSED at 127\.0\.0\.1:\d+\)/);
  });

  it('a query past the statement timeout is stopped in Postgres and answered 400 saying to narrow it, not left running', async () => {
    // Attacker walk, stop 38: a search matching most of a million logs ran 2.5–12 s and went on after the
    // browser gave up; eight abandoned ones kept both cores and the console's pool busy.
    const consoleApp = consoleOn(env.databaseUrl, env.redisUrl, 'console-timeout', { statementTimeoutMs: 300 });
    const owner = createDatabase({ url: env.databaseUrl, role: 'owner', max: 2 });
    closers.push(() => owner.close());
    // A search that cannot finish in time: the search table is locked by another transaction meanwhile.
    const holder = await owner.sql.reserve();
    try {
      await holder`begin`;
      await holder`lock table webhook_log_search in access exclusive mode`;
      const started = performance.now();
      const res = await consoleApp.app.request('/admin/api/logs?q=someone%40example.com', { headers: bearer });
      const ms = performance.now() - started;
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({
        code: 'bad_request',
        message:
          'The query ran past the console’s time limit (CONSOLE_STATEMENT_TIMEOUT_MS) and was stopped: narrow it — a tenant, a status, a shorter time window or a more specific search text',
      });
      expect(ms).toBeLessThan(5_000);
      // Nothing of it is left running in Postgres.
      const [running] = await owner.sql<{ n: number }[]>`
        select count(*)::int n from pg_stat_activity where state = 'active' and query like '%webhook_log_search%' and pid <> pg_backend_pid()`;
      expect(running?.n).toBe(0);
    } finally {
      await holder`rollback`.catch(() => {});
      holder.release();
    }
  });
});
