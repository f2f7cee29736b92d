import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '@mcb/core';
import { createDatabase, type Database, runMigrations } from '@mcb/db';
import { createQueueConnection, type QueueConnection, WebhookEnqueuer } from '@mcb/queue';
import { createReceiver } from '@mcb/receiver';
import { dedupeKeyOf, type Source, unwrapBody } from '@mcb/sources';
import { addTenant, createTenantContextLoader, parseKeyring, setIntegration } from '@mcb/tenancy';
import { createTestDatabase, pollUntil, testEnv } from '@mcb/testing';
import type { Job, JobState, Queue } from 'bullmq';
import { type WorkerEnv, workerEnvSchema } from '../src/env';
import { startWorkerRuntime, type WorkerRuntime } from '../src/runtime';

/** Test key for credentials at rest (never a real one). */
export const testEncryptionKey = randomBytes(32).toString('base64');

export interface Delivery {
  receivedAt?: Date;
  dedupeKey?: string;
}

/** The webhook secret every harness tenant gets for every source (Stripe's in its `whsec_` form). */
export const webhookSecret = (source: Source) => (source === 'stripe' ? 'whsec_harness_secret' : 'harness-shared-secret');

/** Headers a provider would send: Stripe's `t=…,v1=HMAC-SHA256(t.body)` scheme; the shared secret for the others. */
function signedHeaders(source: Source, body: string): Record<string, string> {
  if (source !== 'stripe') return { 'content-type': 'application/json', 'x-webhook-secret': webhookSecret(source) };
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', webhookSecret('stripe')).update(`${t}.${body}`).digest('hex');
  return { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` };
}

/**
 * Integration harness: a database of its own, a unique BullMQ prefix, real worker runtimes started
 * in-process, and `deliver()` that stores a webhook log and enqueues it the way the receiver does.
 *
 * A worker runtime works on its whole database, not on its test's tenants: its reconciler re-enqueues
 * (into its own queues) and processes every stranded row, its ticks sync and send for every tenant
 * with a Meta integration, and its reconciler's advisory lock is one per database. On the run's shared
 * database it took rows other test files were asserting on (and their leftovers, e.g. the 20,000 of
 * fairness), so each harness migrates a fresh database (~0.2 s) and drops it in `close()`.
 */
export async function createHarness(name: string, overrides: Partial<Record<keyof WorkerEnv, string>> = {}) {
  const { databaseUrl: runDatabaseUrl, redisUrl, redisPrefix } = testEnv();
  const prefix = `${redisPrefix}-${name}`;
  const own = overrides.DATABASE_URL ? null : await createTestDatabase(runDatabaseUrl, `mcb_w_${name}`);
  if (own) await runMigrations(own.url);
  const databaseUrl = overrides.DATABASE_URL ?? (own as { url: string }).url;
  const owner = createDatabase({ url: databaseUrl, role: 'owner', max: 10 });
  const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
  // A fault test may bring its own Redis (REDIS_URL override): the receiver and the enqueuer use it too.
  const conn: QueueConnection = createQueueConnection({ kind: 'redis', url: overrides.REDIS_URL ?? redisUrl }, prefix);
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
  // The real receiver (apps/receiver), in-process: verify → store → enqueue, as in production.
  const app = createDatabase({ url: databaseUrl, role: 'app', max: 4 });
  const receiverTenants = createTenantContextLoader({ admin, keyring, ttlMs: 0, listen: false });
  const receiver = createReceiver({
    database: app,
    queue: conn,
    log: createLogger({ name: 'test-receiver', level: 'silent' }),
    tenants: receiverTenants,
    enqueuer,
    // Not the 1.5 s production deadline: a loaded CI machine must not turn a delivery into a 503 here.
    dbTimeoutMs: 20_000,
  });
  const slugs = new Map<string, string>();

  return {
    owner,
    admin,
    conn,
    enqueuer,
    env,
    rawEnv,
    prefix,
    /** `log`: the runtime's logger (default silent; tests that read log lines pass their own). */
    async startWorker(
      extra: Partial<WorkerEnv> = {},
      log: Logger = createLogger({ name: 'test-worker', level: 'silent' }),
    ): Promise<WorkerRuntime> {
      const rt = await startWorkerRuntime({ ...env, ...extra }, log);
      runtimes.push(rt);
      return rt;
    },
    async makeTenant(config: Record<string, unknown> = {}, credentials?: { manychat?: Record<string, unknown> }) {
      const slug = `${name.slice(0, 10)}-${Math.random().toString(36).slice(2, 10)}`;
      const t = await addTenant(admin, { slug, name: `Tenant ${slug}`, config });
      slugs.set(t.id, slug);
      for (const source of ['manychat', 'ghl', 'stripe', 'denefits', 'perspective'] as const) {
        const creds = source === 'manychat' ? credentials?.manychat : undefined;
        await setIntegration(admin, keyring, {
          slug,
          provider: source,
          webhookSecret: webhookSecret(source),
          ...(creds ? { credentials: creds } : {}),
        });
      }
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
    /** Enqueues a stored log directly (tests that preload or need a fixed dedupe key / received_at). */
    async deliverStored(tenantId: string, source: Source, payload: unknown, d: Delivery = {}): Promise<number> {
      const id = await this.store(tenantId, source, payload, d);
      await enqueuer.enqueue([{ tenantId, logId: id }]);
      return id;
    },
    /** POSTs a signed webhook to the real receiver; returns the stored log id (200 required). */
    async deliver(tenantId: string, source: Source, payload: unknown): Promise<number> {
      return this.deliverRaw(tenantId, source, JSON.stringify(payload));
    },
    /** `deliver` of a body written as text (what JSON.stringify cannot write, e.g. integers past 2^53). */
    async deliverRaw(tenantId: string, source: Source, body: string): Promise<number> {
      const res = await receiver.app.fetch(
        new Request(`http://receiver.test/api/webhooks/${slugs.get(tenantId)}/${source}`, {
          method: 'POST',
          headers: signedHeaders(source, body),
          body,
        }),
      );
      const answer = (await res.json()) as { id?: number; duplicate?: boolean; error?: unknown };
      if (res.status !== 200 || typeof answer.id !== 'number')
        throw new Error(`receiver answered ${res.status}: ${JSON.stringify(answer)}`);
      return answer.id;
    },
    async waitForLogs(
      ids: number[],
      timeoutMs = 20_000,
    ): Promise<Array<{ id: number; status: string; error_message: string | null; contact_id: string | null }>> {
      const finished = (rows: { status: string; error_message: string | null }[]) =>
        rows.length === ids.length &&
        rows.every((r) => ['processed', 'ignored', 'failed'].includes(r.status) && !r.error_message?.includes('will retry'));
      const rows = await pollUntil(
        () => owner.sql<{ id: number; status: string; error_message: string | null; contact_id: string | null }[]>`
          select id, status, error_message, contact_id from webhook_logs where id = any(${ids}::int8[]) order by id`,
        finished,
        { timeoutMs },
      );
      if (!finished(rows)) throw new Error(`logs not finished: ${JSON.stringify(rows.filter((r) => r.status !== 'processed'))}`);
      return [...rows];
    },
    async stopWorkers() {
      for (const rt of runtimes.splice(0)) await rt.close();
    },
    async close() {
      for (const rt of runtimes) await rt.close();
      await receiver.close();
      await receiverTenants.close();
      await app.close();
      await enqueuer.close();
      await conn.close();
      await Promise.all([owner.close(), admin.close()]);
      await own?.drop();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;

/**
 * The BullMQ state a job settles in. The processor's own writes (the log row, report_runs) land
 * before it returns or throws; BullMQ moves the job to completed/failed a moment after, so a test that
 * saw the row must wait for the move, not read the state once (CI read 'active' there).
 */
export async function settledJobState(job: Job | undefined, want: JobState, timeoutMs = 10_000): Promise<string> {
  if (!job) throw new Error('no such job');
  return pollUntil(
    () => job.getState(),
    (state) => state === want,
    { timeoutMs, intervalMs: 20 },
  );
}

/**
 * Whether BullMQ ever moved the job to `delayed` (a rate limit's wait, a backoff). Read from the queue's
 * event stream after the fact: polling the state can miss a delay of a second on a loaded machine.
 */
export async function wasDelayed(conn: QueueConnection, queue: Queue, jobId: string): Promise<boolean> {
  const redis = conn.connection as unknown as { xrange(key: string, start: string, end: string): Promise<Array<[string, string[]]>> };
  const entries = await redis.xrange(queue.keys.events as string, '-', '+');
  return entries.some(([, fields]) => {
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
    return f.get('event') === 'delayed' && f.get('jobId') === jobId;
  });
}

const workerMainTs = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** How it ended (attached at spawn, so a quick exit is not missed). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Resolves once the process answers /healthz. main.ts installs its SIGTERM handler only after
   * startWorkerRuntime returns, and jobs already run before that (schedulers and the health server
   * start after the webhook workers): a SIGTERM sent earlier kills the process outright (no exit 0).
   */
  ready: Promise<void>;
}

/** The worker's main.ts as a process of its own (tsx), with the harness env and `extra`. */
export function spawnWorkerProcess(h: Harness, extra: Record<string, string> = {}, timeoutMs = 60_000): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', workerMainTs], {
    // Info level on stdout: its 'worker started' line names the health port (WORKER_HEALTH_PORT=0).
    env: { ...process.env, ...h.rawEnv, LOG_LEVEL: 'info', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = `${stderr}${d}`.slice(-4_000);
  });
  const port = new Promise<number>((resolve, reject) => {
    let pending = '';
    let found = false;
    child.stdout?.on('data', (d) => {
      if (found) return;
      const lines = `${pending}${d}`.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('"msg":"worker started"')) continue;
        found = true;
        return resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    const timer = setTimeout(() => reject(new Error(`worker process did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    timer.unref();
    void exited.then(({ code, signal }) => reject(new Error(`worker process ended (${code ?? signal}) before it started: ${stderr}`)));
  });
  const ready = (async () => {
    const p = await port;
    const healthy = () =>
      fetch(`http://127.0.0.1:${p}/healthz`, { signal: AbortSignal.timeout(5_000) }).then(
        (r) => r.ok,
        () => false,
      );
    if (!(await pollUntil(healthy, (ok) => ok, { timeoutMs })))
      throw new Error(`worker process never answered /healthz on ${p}: ${stderr}`);
  })();
  // Callers that never await `ready` (a process killed on purpose) must not see an unhandled rejection.
  ready.catch(() => {});
  return { child, exited, ready };
}

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
