import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@mcb/core';
import { createDatabase, runMigrations } from '@mcb/db';
import { createQueueConnection, WebhookEnqueuer, webhookJobId } from '@mcb/queue';
import { addTenant, parseKeyring, setIntegration } from '@mcb/tenancy';
import { createTestDatabase, pollUntil, testEnv } from '@mcb/testing';
import { startWorkerRuntime, workerEnvSchema } from '@mcb/worker';
import { createConsoleApp } from '../src/app';

export const goodManyChatKey = 'mc-good-key-0001';

/**
 * The parts an operator works with, for real: a database of its own, Redis under a unique prefix, a
 * real worker runtime (the production `webhook.process` processor), the console, and a local ManyChat
 * API that answers `getInfo` only for `goodManyChatKey` (so a tenant with another key fails, and
 * fixing the key is "fixing the cause"). Its own database because a worker runtime reconciles,
 * processes and ticks for every tenant of its database: on the run's shared one it took other test
 * files' rows (see apps/worker/test/harness.ts).
 */
export async function startSystem(name: string, adminToken: string) {
  const { databaseUrl: runDatabaseUrl, redisUrl, redisPrefix } = testEnv();
  const own = await createTestDatabase(runDatabaseUrl, `mcb_console_${name}`);
  await runMigrations(own.url);
  const databaseUrl = own.url;
  // `console-`: the receiver harness named a prefix `isolation` too, and this worker took its jobs.
  const prefix = `${redisPrefix}-console-${name}`;
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
    /**
     * The operator's fix: the right ManyChat key. Tenancy NOTIFYs every loader to drop its cache; this
     * waits until the worker's loader has the new key (it slept 300 ms, which a loaded machine overran:
     * the replay then ran with the old key and failed again).
     */
    async fixManyChatKey(slug: string) {
      await setIntegration(admin, keyring, { slug, provider: 'manychat', credentials: { api_key: goodManyChatKey } });
      const [t] = await admin.sql<{ id: string }[]>`select id from tenants where slug = ${slug}`;
      const key = await pollUntil(
        // By id: the cache entry the webhook processor reads.
        async () => (await worker.deps.tenants.getTenantContextById((t as { id: string }).id)).credentials.manychat?.credentials.api_key,
        (apiKey) => apiKey === goodManyChatKey,
        { timeoutMs: 20_000 },
      );
      if (key !== goodManyChatKey) throw new Error(`the worker never saw the new ManyChat key of ${slug}`);
    },
    /** BullMQ state of a log's job (its row is written before the job moves: a caller waits for this too). */
    async jobState(tenantId: string, logId: number) {
      return enqueuer.queueFor(tenantId).getJobState(webhookJobId(logId));
    },
    /** Polls until the log's job is in `state` (returns the last state seen, for the caller's assertion). */
    async waitForJob(tenantId: string, logId: number, state: string, timeoutMs = 20_000) {
      return pollUntil(
        () => this.jobState(tenantId, logId),
        (now) => now === state,
        { timeoutMs },
      );
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
      const reached = <R extends { status: string; attempts: number }>(row: R | undefined): row is R =>
        !!row && statuses.includes(row.status) && row.attempts >= minAttempts;
      const row = await pollUntil(() => this.statusOf(id), reached, { timeoutMs });
      if (!reached(row)) throw new Error(`log ${id} did not reach ${statuses.join('|')}: ${JSON.stringify(row)}`);
      return row;
    },
    async close() {
      await consoleApp.close();
      await worker.close();
      await enqueuer.close();
      await queue.close();
      await new Promise((r) => manychat.close(r));
      await Promise.all([admin.close(), app.close()]);
      await own.drop();
    },
  };
}

export type TestSystem = Awaited<ReturnType<typeof startSystem>>;
