// `npm run bench -- process [events] [latencySeconds] [ratePerSecond] [existingPerTenant]`: webhook processing throughput.
// 1. Drain: `events` logs (default 20,000; mixed sources from the normalizers' fixtures, 3 tenants, 20%
//    touching contacts that already exist) are stored and enqueued, then drained by 2 worker processes
//    (apps/worker, real Postgres + Redis) → events/s over the processed_at window.
// 2. Baseline, same run: the same number of jobs drained by 2 processes doing one contact upsert per job.
// 3. Latency: logs stored + enqueued at a fixed rate (default 500/s) for `latencySeconds` (default 60) with
//    the 2 workers running → received → processed p50 / p99.
// Plus the workers' peak RSS. Targets (issue 12): ≥ 1,500 events/s and ≥ 0.55 × the one-upsert drain,
// p99 ≤ 500 ms, RSS ≤ 300 MB. The workers run as production runs them: the esbuild bundle
// (infra/deploy/build.ts, built into a temporary folder); BENCH_WORKER_SOURCE=1 runs src/main.ts with tsx.
// Figures are printed, never asserted. infra/bench is not a workspace package: imports are by path.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, type Database, runMigrations, withTenantSql } from '../../packages/db/src/index';
import { createQueueConnection, WebhookEnqueuer } from '../../packages/queue/src/index';
import { dedupeKeyOf, type Source, unwrapBody } from '../../packages/sources/src/index';
import { addTenant, generateKey } from '../../packages/tenancy/src/index';
import { createTestDatabase, testServiceUrls } from '../../packages/testing/src/services';
import { apps, buildApp } from '../deploy/build';
import { productionNodeArgs } from '../deploy/dockerfile';
import { cpuSeconds, deleteQueuePrefix, freePort, redisCpuSeconds, rssMb } from './proc';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fromWorker = createRequire(`${root}apps/worker/package.json`);

const fixture = (source: string, name: string) => readFileSync(`${root}packages/sources/src/${source}/fixtures/${name}.json`, 'utf8');
const templates = {
  manychat: fixture('manychat', 'contact-created'),
  ghl: fixture('ghl', 'workflow-form-filled'),
  stripe: fixture('stripe', 'checkout-session-completed-full'),
  denefits: fixture('denefits', 'contract-created'),
  perspective: fixture('perspective', 'form-submitted'),
};

interface Person {
  mcId: string;
  email: string;
  phone: string;
}

/** One realistic body per source for a person; unique provider ids per event `i`. */
function bodyFor(source: Source, p: Person, i: number): unknown {
  const b = JSON.parse(templates[source]);
  // A delivery-unique field, so hash-based dedupe keys differ (as two real deliveries' bodies do).
  (Array.isArray(b) ? b[0] : b).delivery_seq = i;
  switch (source) {
    case 'manychat':
      b.subscriber.id = p.mcId;
      b.subscriber.email = p.email;
      b.subscriber.phone = p.phone;
      b.event_type = ['contact_created', 'contact_update', 'dm_qualified', 'link_sent', 'link_clicked'][i % 5];
      return b;
    case 'ghl':
      b.contact_id = `ghl${i}`;
      b.email = p.email;
      b.phone = p.phone;
      b.customData.MC_ID = p.mcId;
      b.customData.email = undefined;
      return b;
    case 'stripe':
      b.id = `evt_bench_${i}`;
      b.data.object.id = `cs_bench_${i}`;
      b.data.object.customer_email = null;
      b.data.object.customer_details.email = p.email;
      b.data.object.amount_total = i % 3 === 0 ? 10000 : 240000;
      return b;
    case 'denefits':
      b[0].data.contract.contract_code = `DNF${i}`;
      b[0].data.contract.customer_email = p.email;
      b[0].data.contract.customer_mobile = p.phone.slice(2);
      return b;
    case 'perspective':
      b.id = `persp${i}`;
      b.profile.email.value = p.email;
      b.values.email = p.email;
      b.profile.phone.value = p.phone;
      b.values.phone = p.phone;
      return b;
  }
}

const mix: Source[] = [
  ...Array<Source>(8).fill('manychat'),
  ...Array<Source>(5).fill('ghl'),
  ...Array<Source>(4).fill('stripe'),
  ...Array<Source>(2).fill('denefits'),
  'perspective',
];
const seededPerTenant = Number(process.argv[5] ?? 2_000);
const person = (tag: string, n: number): Person => ({
  mcId: `${tag}${n}`,
  email: `${tag}${n}@bench.example`,
  phone: `+1555${String(n).padStart(7, '0')}`,
});

/** Stores logs (one statement per 1,000) and enqueues them; returns log ids. */
async function storeLogs(
  owner: Database,
  enqueuer: WebhookEnqueuer | null,
  rows: Array<{ tenantId: string; source: Source; body: unknown }>,
) {
  const ids: number[] = [];
  for (let i = 0; i < rows.length; i += 1_000) {
    const chunk = rows.slice(i, i + 1_000);
    const texts = chunk.map((r) => JSON.stringify(r.body));
    const keys = chunk.map((r, j) => dedupeKeyOf(r.source, unwrapBody(r.body), Buffer.from(texts[j]!)));
    const inserted = await owner.sql<{ id: number; tenant_id: string }[]>`
      insert into webhook_logs (tenant_id, source, dedupe_key, payload, status, enqueued_at)
      select t, s, k, p::jsonb, 'received', now()
      from unnest(${chunk.map((r) => r.tenantId)}::uuid[], ${chunk.map((r) => r.source)}::text[], ${keys}::text[], ${texts}::text[]) as x(t, s, k, p)
      returning id, tenant_id`;
    if (enqueuer) await enqueuer.enqueue(inserted.map((r) => ({ tenantId: r.tenant_id, logId: r.id })));
    ids.push(...inserted.map((r) => r.id));
  }
  return ids;
}

/** Where the CPU goes during a phase: the worker processes, the bench database's Postgres backends, Redis. */
async function cpuSnapshot(owner: Database, dbName: string, redisUrl: string, pids: Array<number | undefined>) {
  const backends = await owner.sql<
    { pid: number }[]
  >`select pid from pg_stat_activity where datname = ${dbName} and pid <> pg_backend_pid()`;
  return {
    workers: pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0),
    postgres: backends.reduce((sum, r) => sum + cpuSeconds(r.pid), 0),
    redis: redisCpuSeconds(redisUrl),
  };
}
type CpuSnapshot = Awaited<ReturnType<typeof cpuSnapshot>>;
const perEventUs = (a: CpuSnapshot, b: CpuSnapshot, n: number) =>
  `workers ${Math.round((1e6 * (b.workers - a.workers)) / n)} µs, postgres ${Math.round((1e6 * (b.postgres - a.postgres)) / n)} µs, redis ${Math.round((1e6 * (b.redis - a.redis)) / n)} µs`;

async function waitDone(owner: Database, ids: number[], label: string): Promise<void> {
  const from = ids[0]!;
  const to = ids[ids.length - 1]!;
  for (;;) {
    const [r] = await owner.sql<{ done: number }[]>`
      select count(*)::int as done from webhook_logs where id between ${from} and ${to} and status in ('processed', 'ignored', 'failed')`;
    if (r!.done >= ids.length) return;
    process.stderr.write(`\r${label}: ${r!.done}/${ids.length}   `);
    await new Promise((res) => setTimeout(res, 500));
  }
}

async function main() {
  const events = Number(process.argv[2] ?? 20_000);
  const latencySeconds = Number(process.argv[3] ?? 60);
  const rate = Number(process.argv[4] ?? 500);
  const { postgresUrl, redisUrl } = testServiceUrls();
  const db = await createTestDatabase(postgresUrl, 'mcb_bench');
  await runMigrations(db.url);
  // Profiling (server log): BENCH_PG_LOG=1 logs every statement of the bench database with its duration;
  // BENCH_PG_LOG=explain logs each statement's plan with row and buffer counts (auto_explain, nested too).
  if (process.env.BENCH_PG_LOG) {
    const su = createDatabase({ url: db.url, role: 'owner', max: 1 });
    const settings =
      process.env.BENCH_PG_LOG === 'explain'
        ? [
            "session_preload_libraries = 'auto_explain'",
            'auto_explain.log_min_duration = 0',
            'auto_explain.log_analyze = on',
            'auto_explain.log_buffers = on',
            'auto_explain.log_timing = off',
            'auto_explain.log_nested_statements = on',
          ]
        : ['log_min_duration_statement = 0'];
    for (const setting of settings) await su.sql.unsafe(`alter database "${db.name}" set ${setting}`);
    await su.close();
  }
  const owner = createDatabase({ url: db.url, role: 'owner', max: 4 });
  const admin = createDatabase({ url: db.url, role: 'admin', max: 2 });
  const prefix = `mcbbench${Date.now().toString(36)}`;
  const conn = createQueueConnection({ kind: 'redis', url: redisUrl }, prefix);
  const enqueuer = new WebhookEnqueuer(conn, 8);
  const tenants = await Promise.all(
    [1, 2, 3].map((n) => addTenant(admin, { slug: `bench-${n}-${prefix}`.slice(0, 40), name: `Bench ${n}` })),
  );
  const children: ChildProcess[] = [];
  const buildDir = mkdtempSync(join(tmpdir(), 'mcb-bench-worker-'));
  let peakRss = 0;
  const sampler = setInterval(() => {
    for (const c of children) peakRss = Math.max(peakRss, rssMb(c.pid));
  }, 250);
  try {
    // Existing people: created through the real pipeline before timing starts.
    process.stderr.write('seeding existing contacts…\n');
    const seedRows = tenants.flatMap((t) =>
      Array.from({ length: seededPerTenant }, (_, n) => ({
        tenantId: t.id,
        source: 'manychat' as Source,
        body: bodyFor('manychat', person('seed', n), 1_000_000 + n),
      })),
    );
    const seedIds = await storeLogs(owner, enqueuer, seedRows);

    const encryptionKey = generateKey();
    const fromSource = process.env.BENCH_WORKER_SOURCE === '1';
    const workerEntry = fromSource
      ? ['--import', 'tsx', `${root}apps/worker/src/main.ts`]
      : [join(buildDir, 'apps', 'worker', 'dist', 'main.js')];
    if (!fromSource) await buildApp(apps.find((a) => a.app === 'worker')!, buildDir);
    const startWorkers = async () => {
      for (let i = 0; i < 2; i++) {
        const env = {
          ...process.env,
          DATABASE_URL: db.url,
          REDIS_URL: redisUrl,
          QUEUE_PREFIX: prefix,
          MCB_ENCRYPTION_KEY: encryptionKey,
          WORKER_HEALTH_PORT: String(await freePort()),
          LOG_LEVEL: 'warn',
          NODE_ENV: 'production',
          // BENCH_WORKER_ENV="WORKER_WEBHOOK_CONCURRENCY=800 WORKER_TENANT_CONCURRENCY=400" overrides, for tuning runs.
          ...Object.fromEntries(
            (process.env.BENCH_WORKER_ENV ?? '')
              .split(' ')
              .filter(Boolean)
              .map((kv) => kv.split('=', 2)),
          ),
        };
        // The image's Node options (heap cap); BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" adds to them.
        const nodeArgs = [...productionNodeArgs('worker'), ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
        const child = spawn(process.execPath, [...nodeArgs, ...workerEntry], {
          env,
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        children.push(child);
      }
    };
    await startWorkers();
    await waitDone(owner, seedIds, 'seed');
    process.stderr.write('\n');
    // A running system's tables have statistics (autovacuum analyzes them within its naptime, 1 min by
    // default); a database created seconds ago has none, and Postgres would plan the applier's statements
    // and its foreign-key checks as for empty tables (a tenant-wide index scan per check). Measure the
    // steady state: analyze once the seed is in, as autovacuum would have.
    await owner.sql`analyze`;

    // 1. Drain.
    const rows = Array.from({ length: events }, (_, i) => {
      const tenant = tenants[i % 3]!;
      const source = mix[i % mix.length]!;
      const existing = i % 5 === 0;
      return {
        tenantId: tenant.id,
        source,
        body: bodyFor(source, existing ? person('seed', (i * 7) % seededPerTenant) : person('new', i), i),
      };
    });
    // Pause the workers' intake while preloading: jobs go to Redis only after every log is stored.
    const ids = await storeLogs(owner, null, rows);
    process.stderr.write(`stored ${ids.length} logs; enqueuing…\n`);
    const drainCpu0 = await cpuSnapshot(
      owner,
      db.name,
      redisUrl,
      children.map((c) => c.pid),
    );
    const t0 = Date.now();
    for (let i = 0; i < ids.length; i += 2_000) {
      const slice = ids.slice(i, i + 2_000);
      await enqueuer.enqueue(slice.map((logId, j) => ({ tenantId: rows[i + j]!.tenantId, logId })));
    }
    await waitDone(owner, ids, 'drain');
    const drainCpu = perEventUs(
      drainCpu0,
      await cpuSnapshot(
        owner,
        db.name,
        redisUrl,
        children.map((c) => c.pid),
      ),
      events,
    );
    const wall = (Date.now() - t0) / 1000;
    const [w] = await owner.sql<{ secs: number; failed: number; ignored: number }[]>`
      select extract(epoch from max(processed_at) - min(processed_at))::float8 as secs,
        count(*) filter (where status = 'failed')::int as failed, count(*) filter (where status = 'ignored')::int as ignored
      from webhook_logs where id between ${ids[0]!} and ${ids[ids.length - 1]!}`;
    const drainRate = events / w!.secs;
    const [counts] = await owner.sql<{ contacts: number; events: number; payments: number }[]>`
      select (select count(*) from contacts)::int as contacts, (select count(*) from funnel_events)::int as events, (select count(*) from payments)::int as payments`;
    process.stderr.write('\n');

    // 3. Latency at a fixed intake rate (workers still running).
    const latIds: number[] = [];
    const tickMs = 100;
    const perTick = Math.round((rate * tickMs) / 1000);
    const lt0 = Date.now();
    let n = 0;
    while (Date.now() - lt0 < latencySeconds * 1000) {
      const due = lt0 + (n / perTick) * tickMs;
      if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
      const batch = Array.from({ length: perTick }, (_, j) => {
        const k = events + n + j;
        const source = mix[k % mix.length]!;
        return {
          tenantId: tenants[k % 3]!.id,
          source,
          body: bodyFor(source, k % 5 === 0 ? person('seed', k % seededPerTenant) : person('lat', k), k),
        };
      });
      latIds.push(...(await storeLogs(owner, enqueuer, batch)));
      n += perTick;
    }
    const intakeRate = latIds.length / ((Date.now() - lt0) / 1000);
    await waitDone(owner, latIds, 'latency');
    const [lat] = await owner.sql<{ p50: number; p99: number; max: number }[]>`
      select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.99) within group (order by ms) as p99, max(ms) as max
      from (select extract(epoch from processed_at - received_at)::float8 * 1000 as ms from webhook_logs
            where id between ${latIds[0]!} and ${latIds[latIds.length - 1]!}) s`;
    process.stderr.write('\n');
    const workerRss = peakRss;
    for (const c of children.splice(0)) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1_500));

    // 2. Baseline: one upsert per job, same job count, 2 processes, its own tenants and prefix.
    const baseTenants = await Promise.all(
      [1, 2, 3].map((k) => addTenant(admin, { slug: `base-${k}-${prefix}`.slice(0, 40), name: `Base ${k}` })),
    );
    const baseConn = createQueueConnection({ kind: 'redis', url: redisUrl }, `${prefix}base`);
    const baseEnq = new WebhookEnqueuer(baseConn, 8);
    for (let i = 0; i < events; i += 2_000) {
      await baseEnq.enqueue(
        Array.from({ length: Math.min(2_000, events - i) }, (_, j) => ({ tenantId: baseTenants[(i + j) % 3]!.id, logId: i + j + 1 })),
      );
    }
    const baseCpu0 = await cpuSnapshot(owner, db.name, redisUrl, []);
    for (let i = 0; i < 2; i++) {
      children.push(
        spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            fileURLToPath(import.meta.url),
            '--upsert-worker',
            db.url,
            redisUrl,
            `${prefix}base`,
            baseTenants.map((t) => t.id).join(','),
          ],
          {
            stdio: ['ignore', 'ignore', 'inherit'],
          },
        ),
      );
    }
    for (;;) {
      const left = await Promise.all(baseTenants.map((t) => baseEnq.queueFor(t.id).getJobCounts('waiting', 'active')));
      if (left.every((c) => (c.waiting ?? 0) + (c.active ?? 0) === 0)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const [b] = await owner.sql<{ secs: number; n: number }[]>`
      select extract(epoch from max(greatest(created_at, updated_at)) - min(created_at))::float8 as secs, count(*)::int as n
      from contacts where tenant_id = any(${baseTenants.map((t) => t.id)}::uuid[])`;
    const baseRate = events / b!.secs;
    const baseCpu = perEventUs(
      { ...baseCpu0, workers: 0 },
      await cpuSnapshot(
        owner,
        db.name,
        redisUrl,
        children.map((c) => c.pid),
      ),
      events,
    );
    for (const c of children.splice(0)) c.kill('SIGTERM');
    await baseEnq.close();
    await baseConn.close();

    const f = (x: number) => Math.round(x).toLocaleString('en-US');
    process.stdout.write(
      [
        '',
        `process bench — ${events} events, 3 tenants, mix manychat 40% / ghl 25% / stripe 20% / denefits 10% / perspective 5%, 20% existing contacts`,
        `drain (2 worker processes):     ${f(drainRate)} events/s  (${w!.secs.toFixed(2)} s processed window, ${wall.toFixed(2)} s wall incl. enqueue; failed ${w!.failed}, ignored ${w!.ignored})`,
        `baseline one-upsert-per-job:   ${f(baseRate)} jobs/s  (${b!.secs.toFixed(2)} s)`,
        `ratio drain / baseline:         ${(drainRate / baseRate).toFixed(2)}`,
        `CPU per event, drain:           ${drainCpu}`,
        `CPU per job, baseline:          ${baseCpu}`,
        `latency at ${f(intakeRate)} events/s intake for ${latencySeconds} s: p50 ${lat!.p50.toFixed(0)} ms, p99 ${lat!.p99.toFixed(0)} ms, max ${lat!.max.toFixed(0)} ms`,
        `worker peak RSS:                ${workerRss.toFixed(0)} MB  (${process.env.BENCH_WORKER_SOURCE === '1' ? 'src/main.ts with tsx' : 'compiled bundle, as in production'})`,
        `rows: ${counts!.contacts} contacts, ${counts!.events} funnel events, ${counts!.payments} payments`,
        'targets: ≥ 1,500 events/s and ratio ≥ 0.55, p99 ≤ 500 ms, RSS ≤ 300 MB',
        '',
      ].join('\n'),
    );
  } finally {
    clearInterval(sampler);
    for (const c of children) c.kill('SIGKILL');
    await enqueuer.close();
    await conn.close();
    await Promise.all([deleteQueuePrefix(redisUrl, prefix), deleteQueuePrefix(redisUrl, `${prefix}base`)]);
    await Promise.all([owner.close(), admin.close()]);
    // BENCH_KEEP_DB=1 keeps the database for EXPLAIN after the run (its name is printed).
    if (process.env.BENCH_KEEP_DB === '1') process.stderr.write(`kept database ${db.name}\n`);
    else await db.drop();
    rmSync(buildDir, { recursive: true, force: true });
  }
}

// Child mode: a baseline worker process doing one upsert per job.
async function upsertWorker() {
  const [, , , url, redisUrl, prefix, tenants] = process.argv;
  const database = createDatabase({ url: url!, role: 'app', max: 20 });
  const conn = createQueueConnection({ kind: 'redis', url: redisUrl! }, prefix);
  const { Worker } = fromWorker('bullmq') as typeof import('../../apps/worker/node_modules/bullmq');
  for (const tenantId of tenants!.split(',')) {
    new Worker(
      `webhooks-${tenantId}`,
      async (job: { data: { logId: number } }) => {
        const n = Number(job.data.logId);
        await withTenantSql(database.sql, tenantId, async (tx) => {
          await tx`
            insert into contacts (tenant_id, mc_id, first_name, email_primary)
            values (${tenantId}, ${`base-${n % 5 === 0 ? n % 1000 : n}`}, 'Base', ${`base${n}@example.com`})
            on conflict (tenant_id, mc_id) do update set first_name = excluded.first_name, updated_at = clock_timestamp()`;
        });
      },
      { connection: conn.connection, prefix: conn.prefix, concurrency: 20 },
    );
  }
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[2] === '--upsert-worker') await upsertWorker();
else await main();
