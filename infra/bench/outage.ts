// `npm run bench -- outage [seconds-down]`: what a provider and an operator see through faults (issue 11).
// 1. Postgres stopped during intake (its own cluster on a spare port): how fast every request gets its
//    503, whether any hangs, how long until the first 200 after Postgres is back (no receiver restart).
// 2. Redis killed mid-burst (its own redis-server, no persistence) and restarted empty, then a FLUSHALL
//    with jobs waiting: how many acked rows are left stranded (not processed) once the system settles,
//    and how long until the last one is processed. Must be 0 stranded.
// Real receiver and worker code in-process; figures are printed, never asserted.
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { createReceiver } from '../../apps/receiver/src/app';
import { workerEnvSchema } from '../../apps/worker/src/env';
import { startWorkerRuntime } from '../../apps/worker/src/runtime';
import { createLogger, type Logger } from '../../packages/core/src/index';
import { createDatabase, type Database, runMigrations } from '../../packages/db/src/index';
import { createQueueConnection, WebhookEnqueuer } from '../../packages/queue/src/index';
import { addTenant, createTenantContextLoader, generateKey, parseKeyring, setIntegration } from '../../packages/tenancy/src/index';
import { startOwnPostgres, startOwnRedis } from '../../packages/testing/src/own-services';
import { createTestDatabase, testServiceUrls } from '../../packages/testing/src/services';

const downSeconds = Number(process.argv[2] ?? 5);
const silent = createLogger({ name: 'bench', level: 'silent' }) as Logger;
const key = generateKey();
const keyring = parseKeyring(key);
const secret = `sh-${randomUUID()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number) : Number.NaN;
};
const event = () => JSON.stringify({ subscriber: { id: randomUUID(), first_name: 'Bench' }, event_type: 'contact_created' });

async function tenantOn(admin: Database) {
  const slug = `outage-${randomUUID().slice(0, 8)}`;
  const { id } = await addTenant(admin, { slug, name: 'Outage bench' });
  await setIntegration(admin, keyring, { slug, provider: 'manychat', webhookSecret: secret });
  return { id, slug };
}

console.log(`outage bench (machine load ${(loadavg()[0] as number).toFixed(1)} on the 1-min average)`);

// 1. Postgres down.
{
  const { redisUrl } = testServiceUrls();
  const pg = await startOwnPostgres();
  await runMigrations(pg.url);
  const limits = { connectTimeoutSeconds: 2, statementTimeoutMs: 10_000 };
  const app = createDatabase({ url: pg.url, role: 'app', max: 10, ...limits });
  const admin = createDatabase({ url: pg.url, role: 'admin', max: 3, ...limits });
  const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, `mcbbench-outage-${Date.now().toString(36)}`);
  const enqueuer = new WebhookEnqueuer(queue);
  const t = await tenantOn(admin);
  const tenants = createTenantContextLoader({ admin, keyring, listen: false });
  const receiver = createReceiver({ database: app, queue, log: silent, tenants, enqueuer });
  let phase: 'before' | 'down' | 'after' = 'before';
  let running = true;
  let backAt = 0;
  let firstOkAfter = Number.NaN;
  const answers: Array<{ phase: string; status: number; ms: number }> = [];
  const loops = Array.from({ length: 20 }, async () => {
    while (running) {
      const t0 = performance.now();
      const res = await Promise.race([
        Promise.resolve(
          receiver.app.request(`/api/webhooks/${t.slug}/manychat`, {
            method: 'POST',
            body: event(),
            headers: { 'x-webhook-secret': secret },
          }),
        ),
        sleep(15_000).then(() => null),
      ]);
      const ms = performance.now() - t0;
      const status = res ? res.status : 0;
      if (res) await res.arrayBuffer();
      answers.push({ phase, status, ms });
      if (phase === 'after' && status === 200 && Number.isNaN(firstOkAfter)) firstOkAfter = Date.now() - backAt;
    }
  });
  await sleep(2_000);
  phase = 'down';
  await pg.stop('fast');
  await sleep(downSeconds * 1000);
  await pg.start();
  backAt = Date.now();
  phase = 'after';
  const until = Date.now() + 30_000;
  while (Number.isNaN(firstOkAfter) && Date.now() < until) await sleep(50);
  await sleep(1_000);
  running = false;
  await Promise.all(loops);
  const down = answers.filter((a) => a.phase === 'down');
  const refused = down.filter((a) => a.status === 503).map((a) => a.ms);
  console.log(
    `Postgres down ${downSeconds} s: ${down.length} requests answered while down (${refused.length} × 503, ${down.filter((a) => a.status === 0).length} hung > 15 s, ${down.filter((a) => a.status !== 503 && a.status !== 0).length} other)`,
  );
  console.log(
    `  503 latency: p50 ${pct(refused, 50).toFixed(0)} ms, p99 ${pct(refused, 99).toFixed(0)} ms, max ${Math.max(...refused).toFixed(0)} ms (target: within 2,000 ms)`,
  );
  console.log(`  first 200 after Postgres was back: ${firstOkAfter} ms (no receiver restart)`);
  await receiver.close();
  await tenants.close();
  await Promise.all([app.close(), admin.close()]);
  await enqueuer.close();
  await queue.close();
  await pg.close();
}

// 2. Redis killed and flushed.
{
  const { postgresUrl } = testServiceUrls();
  const db = await createTestDatabase(postgresUrl, 'mcb_bench_outage');
  await runMigrations(db.url);
  const redis = await startOwnRedis();
  const prefix = `mcbbench-${Date.now().toString(36)}`;
  const admin = createDatabase({ url: db.url, role: 'admin', max: 3 });
  const app = createDatabase({ url: db.url, role: 'app', max: 10 });
  const queue = createQueueConnection({ kind: 'redis', url: redis.url }, prefix);
  const enqueuer = new WebhookEnqueuer(queue);
  const t = await tenantOn(admin);
  const tenants = createTenantContextLoader({ admin, keyring, listen: false });
  const receiver = createReceiver({ database: app, queue, log: silent, tenants, enqueuer });
  const env = workerEnvSchema.parse({
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    MCB_ENCRYPTION_KEY: key,
    WORKER_HEALTH_PORT: '0',
    LOG_LEVEL: 'silent',
  });
  const acked = new Set<number>();
  const burst = async (n: number) => {
    await Promise.all(
      Array.from({ length: n }, async () => {
        const res = await receiver.app.request(`/api/webhooks/${t.slug}/manychat`, {
          method: 'POST',
          body: event(),
          headers: { 'x-webhook-secret': secret },
        });
        const body = (await res.json()) as { id?: number };
        if (res.status === 200 && body.id) acked.add(body.id);
      }),
    );
  };
  const settle = async (label: string, t0: number) => {
    const until = Date.now() + 120_000;
    let open = Number.NaN;
    while (Date.now() < until) {
      const [row] = await admin.sql<{ open: number }[]>`
        select count(*) filter (where status in ('received', 'processing'))::int as open from webhook_logs where tenant_id = ${t.id}`;
      open = row?.open ?? 0;
      if (open === 0) break;
      await sleep(250);
    }
    const [row] = await admin.sql<{ processed: number; events: number }[]>`
      select (select count(*) from webhook_logs where tenant_id = ${t.id} and status = 'processed')::int as processed,
             (select count(*) from funnel_events where tenant_id = ${t.id})::int as events`;
    console.log(
      `${label}: ${acked.size} acked, ${row?.processed} processed, ${open} stranded, ${row?.events} funnel events (duplicates: ${(row?.events ?? 0) - (row?.processed ?? 0)}), settled ${((Date.now() - t0) / 1000).toFixed(1)} s after the fault`,
    );
  };
  const runtime = await startWorkerRuntime(env, silent);
  await burst(500);
  const killedAt = Date.now();
  await redis.kill();
  await burst(500);
  await redis.start();
  await settle('Redis killed mid-burst, restarted empty (worker running)', killedAt);
  await runtime.close();
  await burst(1_000);
  await (queue.connection as unknown as { flushall: () => Promise<unknown> }).flushall();
  const flushedAt = Date.now();
  const second = await startWorkerRuntime(env, silent);
  await settle('FLUSHALL with 1,000 jobs waiting, no worker until after it', flushedAt);
  await second.close();
  await receiver.close();
  await tenants.close();
  await Promise.all([app.close(), admin.close()]);
  await enqueuer.close();
  await queue.close();
  await redis.close();
  await db.drop();
}
process.exit(0);
