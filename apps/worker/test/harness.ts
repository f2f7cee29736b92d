import { randomBytes } from 'node:crypto';
import { createLogger } from '@mcb/core';
import { createDatabase, type Database } from '@mcb/db';
import { createQueueConnection, type QueueConnection, WebhookEnqueuer } from '@mcb/queue';
import { dedupeKeyOf, type Source, unwrapBody } from '@mcb/sources';
import { addTenant, parseKeyring, setIntegration } from '@mcb/tenancy';
import { testEnv } from '@mcb/testing';
import { type WorkerEnv, workerEnvSchema } from '../src/env';
import { startWorkerRuntime, type WorkerRuntime } from '../src/runtime';

/** Test key for credentials at rest (never a real one). */
export const testEncryptionKey = randomBytes(32).toString('base64');

export interface Delivery {
  receivedAt?: Date;
  dedupeKey?: string;
}

/**
 * Integration harness: the run's own database, a unique BullMQ prefix, real worker runtimes started
 * in-process, and `deliver()` that stores a webhook log and enqueues it the way the receiver does.
 */
export async function createHarness(name: string, overrides: Partial<Record<keyof WorkerEnv, string>> = {}) {
  const { databaseUrl, redisUrl, redisPrefix } = testEnv();
  const prefix = `${redisPrefix}-${name}`;
  const owner = createDatabase({ url: databaseUrl, role: 'owner', max: 10 });
  const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
  const conn: QueueConnection = createQueueConnection({ kind: 'redis', url: redisUrl }, prefix);
  const enqueuer = new WebhookEnqueuer(conn, 3);
  const keyring = parseKeyring(testEncryptionKey);
  const rawEnv: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    MCB_ENCRYPTION_KEY: testEncryptionKey,
    WORKER_HEALTH_PORT: '0',
    LOG_LEVEL: 'silent',
    DATABASE_POOL_MAX: '20',
    ...overrides,
  };
  const env = workerEnvSchema.parse(rawEnv);
  const runtimes: WorkerRuntime[] = [];
  let seq = 0;

  return {
    owner,
    admin,
    conn,
    enqueuer,
    env,
    rawEnv,
    prefix,
    async startWorker(extra: Partial<WorkerEnv> = {}): Promise<WorkerRuntime> {
      const rt = await startWorkerRuntime({ ...env, ...extra }, createLogger({ name: 'test-worker', level: 'silent' }));
      runtimes.push(rt);
      return rt;
    },
    async makeTenant(config: Record<string, unknown> = {}, credentials?: { manychat?: Record<string, unknown> }) {
      const slug = `${name.slice(0, 10)}-${Math.random().toString(36).slice(2, 10)}`;
      const t = await addTenant(admin, { slug, name: `Tenant ${slug}`, config });
      if (credentials?.manychat)
        await setIntegration(admin, keyring, { slug, provider: 'manychat', credentials: credentials.manychat, webhookSecret: true });
      for (const rt of runtimes) await rt.webhooks.refresh();
      return { id: t.id, slug };
    },
    /** Stores a log as the receiver does (status received) and enqueues its job. */
    async store(tenantId: string, source: Source, payload: unknown, d: Delivery = {}): Promise<number> {
      const raw = Buffer.from(JSON.stringify(payload));
      const dedupeKey = d.dedupeKey ?? `${dedupeKeyOf(source, unwrapBody(payload), raw)}`;
      const [row] = await owner.sql<{ id: number }[]>`
        insert into webhook_logs (tenant_id, source, dedupe_key, payload, status, received_at, enqueued_at)
        values (${tenantId}, ${source}, ${dedupeKey}, ${owner.sql.json(payload as never)}, 'received', ${d.receivedAt ?? new Date(Date.now() + seq++)}, now())
        returning id`;
      return row!.id;
    },
    async deliver(tenantId: string, source: Source, payload: unknown, d: Delivery = {}): Promise<number> {
      const id = await this.store(tenantId, source, payload, d);
      await enqueuer.enqueue([{ tenantId, logId: id }]);
      return id;
    },
    async waitForLogs(
      ids: number[],
      timeoutMs = 20_000,
    ): Promise<Array<{ id: number; status: string; error_message: string | null; contact_id: string | null }>> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const rows = await owner.sql<{ id: number; status: string; error_message: string | null; contact_id: string | null }[]>`
          select id, status, error_message, contact_id from webhook_logs where id = any(${ids}::int8[]) order by id`;
        if (
          rows.length === ids.length &&
          rows.every((r) => ['processed', 'ignored', 'failed'].includes(r.status) && !r.error_message?.includes('will retry'))
        )
          return [...rows];
        if (Date.now() > end) throw new Error(`logs not finished: ${JSON.stringify(rows.filter((r) => r.status !== 'processed'))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stopWorkers() {
      for (const rt of runtimes.splice(0)) await rt.close();
    },
    async close() {
      for (const rt of runtimes) await rt.close();
      await enqueuer.close();
      await conn.close();
      await Promise.all([owner.close(), admin.close()]);
    },
  };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;

/** Non-merged contacts of a tenant with their events and payments, for assertions. */
export async function tenantState(db: Database, tenantId: string) {
  const contacts = await db.sql`
    select id, mc_id, ghl_id, email_primary, email_booking, email_payment, phone, first_name, last_name, stage, source, ad_id
    from contacts where tenant_id = ${tenantId} and merged_into_id is null order by created_at, id`;
  const events =
    await db.sql`select contact_id, event_type, source, occurred_at from funnel_events where tenant_id = ${tenantId} order by occurred_at, event_type`;
  const payments = await db.sql`
    select contact_id, payment_event_id, category, amount_cents, status from payments where tenant_id = ${tenantId} order by paid_at, payment_event_id`;
  return { contacts: [...contacts], events: [...events], payments: [...payments] };
}
