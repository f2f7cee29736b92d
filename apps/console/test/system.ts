import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection, WebhookEnqueuer } from '@mcb/queue';
import { addTenant, parseKeyring, setIntegration } from '@mcb/tenancy';
import { testEnv } from '@mcb/testing';
import { startWorkerRuntime, workerEnvSchema } from '@mcb/worker';
import { createConsoleApp } from '../src/app';

export const goodManyChatKey = 'mc-good-key-0001';

/**
 * The parts an operator works with, for real: this run's database, Redis under a unique prefix, a real
 * worker runtime (the production `webhook.process` processor), the console, and a local ManyChat API
 * that answers `getInfo` only for `goodManyChatKey` (so a tenant with another key fails, and fixing
 * the key is "fixing the cause").
 */
export async function startSystem(name: string, adminToken: string) {
  const { databaseUrl, redisUrl, redisPrefix } = testEnv();
  const prefix = `${redisPrefix}-${name}`;
  const encryptionKey = randomBytes(32).toString('base64');
  const keyring = parseKeyring(encryptionKey);
  const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 4 });
  const app = createDatabase({ url: databaseUrl, role: 'app', max: 4 });
  const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, prefix);
  const enqueuer = new WebhookEnqueuer(queue, 1);

  const manychatCalls: string[] = [];
  const manychat: Server = createServer((req, res) => {
    manychatCalls.push(req.url ?? '');
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('subscriber_id') ?? '';
    if (req.headers.authorization !== `Bearer ${goodManyChatKey}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"status":"error","message":"Wrong token"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        status: 'success',
        data: { id, first_name: 'Ana', last_name: `Replay${id}`, email: `ana.${id}@example.com`, custom_fields: [] },
      }),
    );
  });
  await new Promise<void>((resolve) => manychat.listen(0, '127.0.0.1', resolve));
  const manychatUrl = `http://127.0.0.1:${(manychat.address() as AddressInfo).port}`;

  const workerEnv = workerEnvSchema.parse({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    MCB_ENCRYPTION_KEY: encryptionKey,
    WORKER_HEALTH_PORT: '0',
    WORKER_TENANT_REFRESH_MS: '200',
    MANYCHAT_API_BASE_URL: manychatUrl,
    JOB_ATTEMPTS: '1',
    LOG_LEVEL: 'silent',
  });
  const worker = await startWorkerRuntime(workerEnv, createLogger({ name: 'console-test-worker', level: 'silent' }));
  const consoleApp = createConsoleApp({
    admin,
    app,
    queue,
    log: createLogger({ name: 'console-test', level: 'silent' }),
    adminToken,
    jobAttempts: 1,
  });

  return {
    admin,
    queue,
    consoleApp,
    worker,
    manychatCalls,
    env: { databaseUrl, redisUrl, prefix, encryptionKey },
    /** A tenant whose ManyChat integration has `apiKey` (a wrong one makes every fetch fail with 401). */
    async makeTenant(apiKey: string) {
      const slug = `${name.slice(0, 8)}-${randomBytes(4).toString('hex')}`;
      const t = await addTenant(admin, { slug, name: `Tenant ${slug}` });
      await setIntegration(admin, keyring, { slug, provider: 'manychat', credentials: { api_key: apiKey }, webhookSecret: true });
      await worker.webhooks.refresh();
      return { id: t.id, slug };
    },
    /** The operator's fix: the right ManyChat key (tenancy NOTIFYs every loader to drop its cache). */
    async fixManyChatKey(slug: string) {
      await setIntegration(admin, keyring, { slug, provider: 'manychat', credentials: { api_key: goodManyChatKey } });
      await new Promise((r) => setTimeout(r, 300));
    },
    /** Stores a log as the receiver does and enqueues its job. */
    async deliver(tenantId: string, source: string, payload: unknown, dedupeKey = `k-${randomBytes(6).toString('hex')}`) {
      const [row] = await admin.sql<{ id: number }[]>`
        insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, status, enqueued_at)
        values (${tenantId}, ${source}, ${(payload as { event_type?: string; type?: string }).event_type ?? (payload as { type?: string }).type ?? null},
                ${dedupeKey}, ${admin.sql.json({ 'content-type': 'application/json', 'x-webhook-secret': 'should-never-show' })},
                ${admin.sql.json(payload as never)}, 'received', now())
        returning id`;
      const id = (row as { id: number }).id;
      await enqueuer.enqueue([{ tenantId, logId: id }]);
      return id;
    },
    async statusOf(id: number) {
      const [row] = await admin.sql<{ status: string; error_message: string | null; attempts: number; contact_id: string | null }[]>`
        select status, error_message, attempts, contact_id from webhook_logs where id = ${id}`;
      return row;
    },
    /** Polls until the log reaches one of `statuses` (and at least `minAttempts` processing attempts). */
    async waitFor(id: number, statuses: string[], minAttempts = 1, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const row = await this.statusOf(id);
        if (row && statuses.includes(row.status) && row.attempts >= minAttempts) return row;
        if (Date.now() > end) throw new Error(`log ${id} did not reach ${statuses.join('|')}: ${JSON.stringify(row)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await consoleApp.close();
      await worker.close();
      await enqueuer.close();
      await queue.close();
      await new Promise((r) => manychat.close(r));
      await Promise.all([admin.close(), app.close()]);
    },
  };
}

export type TestSystem = Awaited<ReturnType<typeof startSystem>>;
