// `npm run bench -- intake [seconds] [connections] [--log-level=info] [--cpu-prof=DIR]`: the same signed Stripe events (≈1.5 KB) against a
// bare Hono app and against the receiver (real Postgres + Redis, group commit, its own process),
// c=50 for 10 s after a 3 s warm-up each, with autocannon. Prints req/s, p50, p99, the ratio
// receiver/bare, the compiled receiver's peak RSS (started with the image's Node options) and its group-commit batch sizes. Targets (issue 4):
// ratio ≥ 0.50, p99 ≤ 50 ms, RSS ≤ 200 MB. Figures are printed, never asserted.
// Also CPU per request of every process involved (receiver, its Postgres backends, Redis,
// the load generator) and the ceiling they leave on this machine's cores.
// Flags: --cpu-prof=<dir> writes a V8 CPU profile of the receiver; --log-level=<pino level> (default info);
// --async-commit (diagnosis only) turns off synchronous_commit on the bench database.
// infra/bench is not a workspace package: it imports the packages' entry files by path, and
// autocannon/stripe from the receiver's dev dependencies.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, runMigrations } from '../../packages/db/src/index';
import { createQueueConnection, WebhookEnqueuer } from '../../packages/queue/src/index';
import { addTenant, generateKey, parseKeyring, setIntegration } from '../../packages/tenancy/src/index';
import { createTestDatabase, testServiceUrls } from '../../packages/testing/src/services';
import { apps, buildApp } from '../deploy/build';
import { productionNodeArgs } from '../deploy/dockerfile';
import { cpuSeconds, cpuSplit, freePort, peakRssMb, redisCpuSeconds } from './proc';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  '2xx': number;
}
type RequestSpec = { method: string; path: string; headers: Record<string, string>; body?: string };
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  requests: Array<{ method: string; path: string; setupRequest: (req: RequestSpec) => RequestSpec }>;
}) => Promise<AutocannonResult>;

const fromReceiver = createRequire(fileURLToPath(new URL('../../apps/receiver/package.json', import.meta.url)));
const autocannon = fromReceiver('autocannon') as Autocannon;
const Stripe = fromReceiver('stripe') as { webhooks: { generateTestHeaderString: (o: { payload: string; secret: string }) => string } };

const flags = new Map(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => a.slice(2).split('=') as [string, string]),
);
const [secondsArg, connectionsArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const seconds = Number(secondsArg ?? 10);
const connections = Number(connectionsArg ?? 50);
const cpuProfileDir = flags.get('cpu-prof');
const warmupSeconds = 3;
const availableCores = availableParallelism();
const root = fileURLToPath(new URL('../../', import.meta.url));

const { postgresUrl, redisUrl } = testServiceUrls();
const db = await createTestDatabase(postgresUrl, 'mcb_bench');
await runMigrations(db.url);
// Diagnosis only (--async-commit): shows how much of the commit time is the WAL flush. It gives up
// the durability a 2xx promises, so it is never a setting for production.
const asyncCommit = flags.has('async-commit');
if (asyncCommit) {
  const owner = createDatabase({ url: db.url, role: 'owner', max: 1 });
  await owner.sql.unsafe(`alter database "${db.name}" set synchronous_commit = off`);
  await owner.close();
}
const admin = createDatabase({ url: db.url, role: 'admin', max: 2, applicationName: 'bench-intake' });
const encryptionKey = generateKey();
const keyring = parseKeyring(encryptionKey);
const secret = `whsec_${randomUUID().replaceAll('-', '')}`;
const slug = 'bench-intake';
const tenant = await addTenant(admin, { slug, name: 'Bench Intake' });
await setIntegration(admin, keyring, { slug, provider: 'stripe', webhookSecret: secret });
const prefix = `mcbbench${Date.now().toString(36)}`;

// A realistic checkout.session.completed event (≈2 KB), unique id per request.
const template = JSON.stringify({
  id: 'evt_ID',
  object: 'event',
  api_version: '2025-10-29.clover',
  created: Math.floor(Date.now() / 1000),
  type: 'checkout.session.completed',
  livemode: false,
  pending_webhooks: 1,
  request: { id: null, idempotency_key: null },
  data: {
    object: {
      id: 'cs_test_ID',
      object: 'checkout.session',
      amount_subtotal: 250000,
      amount_total: 250000,
      currency: 'usd',
      customer: 'cus_bench123',
      customer_details: {
        email: 'jane.doe@example.com',
        name: 'Jane Doe',
        phone: '+15555550123',
        address: { country: 'US', postal_code: '94103' },
      },
      metadata: { funnel: 'webinar', ad_id: '120200000000000001', utm_source: 'facebook', utm_campaign: 'bench' },
      mode: 'payment',
      payment_intent: 'pi_bench123',
      payment_status: 'paid',
      status: 'complete',
      success_url: 'https://example.com/thanks?session_id={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://example.com/cancel',
      line_items: Array.from({ length: 6 }, (_, i) => ({
        price: `price_${i}`,
        quantity: 1,
        amount_total: 250000 / 6,
        description: `Package item ${i}`,
      })),
      automatic_tax: { enabled: false, status: null },
      payment_method_types: ['card', 'link'],
      created: Math.floor(Date.now() / 1000),
    },
  },
});
let counter = 0;
const run = `${Date.now().toString(36)}`;
function signedEvent(req: RequestSpec): RequestSpec {
  counter += 1;
  const body = template.replaceAll('_ID', `_${run}_${counter}`);
  const signature = Stripe.webhooks.generateTestHeaderString({ payload: body, secret });
  return { ...req, body, headers: { ...req.headers, 'content-type': 'application/json', 'stripe-signature': signature } };
}

async function waitHealthy(url: string, child: ChildProcess) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became healthy`);
}

function start(script: string, port: number, env: Record<string, string> = {}, nodeArgs: string[] = []): ChildProcess {
  // Compiled JavaScript runs as is; TypeScript (the bare baseline) through the tsx loader.
  const entry = script.endsWith('.js') ? [script] : ['--import', 'tsx', `${root}${script}`];
  return spawn(process.execPath, [...nodeArgs, ...entry], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** CPU seconds of the Postgres backends serving the bench database (the receiver's connections). */
async function postgresCpuSeconds(): Promise<number> {
  const rows = await admin.sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${db.name} and pid <> pg_backend_pid()`;
  return rows.reduce((sum, r) => sum + cpuSeconds(r.pid), 0);
}

/** This process's CPU seconds: autocannon and the signing of each event (the load generator). */
const ownCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/**
 * Warm-up, then the measured run; also the CPU spent in it per answered request by the server process,
 * its Postgres backends, Redis and the load generator (this process).
 */
async function drive(url: string, pid: number) {
  const requests = [{ method: 'POST', path: `/api/webhooks/${slug}/stripe`, setupRequest: signedEvent }];
  await autocannon({ url, connections, duration: warmupSeconds, requests });
  const sample = async () => [cpuSeconds(pid), await postgresCpuSeconds(), redisCpuSeconds(redisUrl), ownCpuSeconds()];
  const splitBefore = cpuSplit(pid);
  const before = await sample();
  const result = await autocannon({ url, connections, duration: seconds, requests });
  const after = await sample();
  const splitAfter = cpuSplit(pid);
  // The server's share of CPU spent in the kernel (its socket reads and writes: HTTP, Postgres, Redis, all loopback TCP here).
  const used = splitAfter.user - splitBefore.user + (splitAfter.system - splitBefore.system);
  const kernelShare = used > 0 ? (splitAfter.system - splitBefore.system) / used : 0;
  const [nodeUs, postgresUs, redisUs, loadUs] = after.map((x, i) => (1e6 * (x - (before[i] as number))) / Math.max(1, result['2xx'])) as [
    number,
    number,
    number,
    number,
  ];
  return { result, nodeUs, postgresUs, redisUs, loadUs, kernelShare };
}

// Production runs the compiled receiver (pnpm build: one plain-JS file), so the bench does too.
const buildRoot = mkdtempSync(join(tmpdir(), 'mcb-bench-intake-'));
const receiverBuild = apps.find((a) => a.app === 'receiver');
if (!receiverBuild) throw new Error('no receiver build');
await buildApp(receiverBuild, buildRoot);
const barePort = await freePort();
const recvPort = await freePort();
const recvMetricsPort = await freePort();
const bare = start('apps/receiver/bench/bare-server.ts', barePort);
const receiver = start(
  join(buildRoot, 'apps', 'receiver', 'dist', 'main.js'),
  recvPort,
  {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    QUEUE_BACKEND: 'redis',
    QUEUE_PREFIX: prefix,
    MCB_ENCRYPTION_KEY: encryptionKey,
    HOST: '127.0.0.1',
    METRICS_PORT: String(recvMetricsPort),
    LOG_LEVEL: flags.get('log-level') ?? 'info',
    NODE_ENV: 'production',
  },
  // The image's Node options (infra/docker/Dockerfile: the heap cap), as production starts it.
  // BENCH_RECEIVER_NODE_ARGS="--perf-basic-prof" adds to them (e.g. for `perf record`).
  [
    ...productionNodeArgs('receiver'),
    ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []),
    ...(process.env.BENCH_RECEIVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ],
);
const enqueuer = new WebhookEnqueuer(createQueueConnection({ kind: 'redis', url: redisUrl }, prefix));
try {
  await waitHealthy(`http://127.0.0.1:${barePort}`, bare);
  await waitHealthy(`http://127.0.0.1:${recvPort}`, receiver);
  console.log(
    `intake bench: signed Stripe events (${Buffer.byteLength(template)} B), c=${connections}, ${seconds} s after ${warmupSeconds} s warm-up, autocannon`,
  );
  const loadBefore = loadavg()[0] as number;
  const bareRun = await drive(`http://127.0.0.1:${barePort}`, bare.pid as number);
  const recvRun = await drive(`http://127.0.0.1:${recvPort}`, receiver.pid as number);
  const [b, r] = [bareRun.result, recvRun.result];
  const rss = peakRssMb(receiver.pid as number);
  // The receiver serves /metrics on its own listener (METRICS_PORT), not on the public port.
  const metrics = await (await fetch(`http://127.0.0.1:${recvMetricsPort}/metrics`)).text();
  const metric = (name: string) =>
    Number(
      metrics
        .split('\n')
        .find((l) => l.startsWith(`${name} `))
        ?.slice(name.length + 1) ?? Number.NaN,
    );
  const batches = metric('mcb_receiver_group_commit_batch_size_count');
  const batchRows = metric('mcb_receiver_group_commit_batch_size_sum');
  await new Promise((res) => setTimeout(res, 500));
  const [rows] = await admin.sql<{ n: number }[]>`select count(*)::int as n from webhook_logs where tenant_id = ${tenant.id}`;
  const jobs = await enqueuer.queueFor(tenant.id).count();
  const line = (name: string, x: AutocannonResult) =>
    `${name.padEnd(9)} ${x.requests.average.toFixed(0).padStart(6)} req/s   p50 ${String(x.latency.p50).padStart(3)} ms   p99 ${String(x.latency.p99).padStart(3)} ms   2xx ${x['2xx']}   non-2xx ${x.non2xx}   errors ${x.errors}`;
  console.log(line('bare', b));
  console.log(line('receiver', r));
  const ratio = r.requests.average / b.requests.average;
  console.log(
    `ratio receiver/bare ${ratio.toFixed(2)} (target ≥ 0.50)   receiver p99 ${r.latency.p99} ms (target ≤ 50)   receiver peak RSS ${rss.toFixed(0)} MB (target ≤ 200)`,
  );
  const us = (x: number) => `${x.toFixed(0)} µs`;
  console.log(
    `CPU per request: bare ${us(bareRun.nodeUs)} (+ load generator ${us(bareRun.loadUs)}); receiver ${us(recvRun.nodeUs)} + its Postgres backends ${us(recvRun.postgresUs)} + Redis ${us(recvRun.redisUs)} + load generator ${us(recvRun.loadUs)}`,
  );
  const pct = (x: number) => `${Math.round(100 * x)} %`;
  console.log(
    `in the kernel (system time, mostly socket I/O): bare ${pct(bareRun.kernelShare)} of its CPU (${us(bareRun.nodeUs * bareRun.kernelShare)} per request); receiver ${pct(recvRun.kernelShare)} (${us(recvRun.nodeUs * recvRun.kernelShare)})`,
  );
  // The ceiling all processes on these cores allow: even a receiver whose own work cost no more than
  // the bare server's would still pay Postgres, Redis and the load generator on the same cores.
  const floorUs = bareRun.nodeUs + recvRun.postgresUs + recvRun.redisUs + recvRun.loadUs;
  const ceiling = (availableCores * 1e6) / floorUs;
  console.log(
    `ceiling on ${availableCores} cores: a receiver costing what bare does (${us(bareRun.nodeUs)}) + Postgres + Redis + load generator = ${us(floorUs)} per request → at most ${ceiling.toFixed(0)} req/s = ${(ceiling / b.requests.average).toFixed(2)}× bare`,
  );
  console.log(
    `machine load average (1 min) ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after, on ${availableCores} cores (others' work competes)`,
  );
  const phase = (p: string) =>
    (1000 * metric(`mcb_receiver_group_commit_phase_seconds_sum{phase="${p}"}`)) /
    metric(`mcb_receiver_group_commit_phase_seconds_count{phase="${p}"}`);
  console.log(
    `group commit: ${batches} transactions, ${(batchRows / batches).toFixed(1)} rows each on average; per batch: commit ${phase('commit').toFixed(1)} ms, addBulk ${phase('enqueue').toFixed(1)} ms`,
  );
  console.log(`stored: ${rows?.n} webhook_logs rows, ${jobs} jobs waiting in the tenant queue (enqueued after each answer)`);
} finally {
  bare.kill('SIGTERM');
  receiver.kill('SIGTERM');
  await new Promise((res) => setTimeout(res, 1_500));
  await enqueuer
    .queueFor(tenant.id)
    .obliterate({ force: true })
    .catch(() => {});
  await enqueuer.close();
  await admin.close();
  await db.drop();
  rmSync(buildRoot, { recursive: true, force: true });
  process.exit(0);
}
