// `npm run bench -- soak [ratePerSecond] [seconds] [workers]`: a soak at a fixed offered rate (default 500
// events/s for 300 s, 2 workers) through the whole path: HTTP → receiver process → Postgres → BullMQ →
// worker processes. ManyChat deliveries (full subscriber, no API call) for 3 tenants, 1 in 5 for a
// person seen before. Prints accepted, processed, lost (accepted, still unprocessed once processing stopped
// making progress), duplicated (a log with more than one funnel event, or a person with two contacts),
// intake and end-to-end p50/p99,
// queue depth over time, peak RSS per process; writes an HTML page with SVG plots of latency and
// queue depth per second. Figures are printed, never asserted. Runs src with tsx (as `npm start`).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createDatabase, runMigrations } from '../../packages/db/src/index';
import { createQueueConnection, WebhookEnqueuer } from '../../packages/queue/src/index';
import { addTenant, generateKey, parseKeyring, setIntegration } from '../../packages/tenancy/src/index';
import { createTestDatabase, testServiceUrls } from '../../packages/testing/src/services';
import { deleteQueuePrefix, freePort, rssMb } from './proc';

const root = fileURLToPath(new URL('../../', import.meta.url));
const rate = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 300);
const workerCount = Number(process.argv[4] ?? 2);
const secret = `soak-${randomUUID()}`;

const pct = (sorted: number[], p: number) =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number) : Number.NaN;

const urls = testServiceUrls();
const db = await createTestDatabase(urls.postgresUrl, 'mcb_soak');
await runMigrations(db.url);
const key = generateKey();
const owner = createDatabase({ url: db.url, role: 'owner', max: 4 });
const admin = createDatabase({ url: db.url, role: 'admin', max: 2 });
const prefix = `soak${Date.now().toString(36)}`;
const queue = createQueueConnection({ kind: 'redis', url: urls.redisUrl }, prefix);
const enqueuer = new WebhookEnqueuer(queue);
const tenants: Array<{ id: string; slug: string }> = [];
for (let i = 0; i < 3; i++) {
  const slug = `soak-${i}-${randomUUID().slice(0, 6)}`;
  const t = await addTenant(admin, { slug, name: `Soak ${i}` });
  await setIntegration(admin, parseKeyring(key), { slug, provider: 'manychat', webhookSecret: secret });
  tenants.push({ id: t.id, slug });
}

const baseEnv = {
  ...process.env,
  DATABASE_URL: db.url,
  REDIS_URL: urls.redisUrl,
  QUEUE_PREFIX: prefix,
  MCB_ENCRYPTION_KEY: key,
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
};
const children: ChildProcess[] = [];
const start = (name: string, entry: string, env: Record<string, string>) => {
  const child = spawn(process.execPath, ['--import', 'tsx', `${root}${entry}`], {
    env: { ...baseEnv, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return { name, child };
};
const port = await freePort();
const procs = [
  // METRICS_PORT 0: any free port for its /metrics listener (not read here), never a collision on 3003.
  start('receiver', 'apps/receiver/src/main.ts', { PORT: String(port), METRICS_PORT: '0' }),
  ...Array.from({ length: workerCount }, (_, i) =>
    start(`worker-${i + 1}`, 'apps/worker/src/main.ts', {
      WORKER_HEALTH_PORT: '0',
    }),
  ),
];
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const post = (path: string, body: string) =>
  new Promise<{ status: number; id?: number }>((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-webhook-secret': secret } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, id: (JSON.parse(text) as { id?: number }).id });
          } catch {
            resolve({ status: res.statusCode ?? 0 });
          }
        });
      },
    );
    req.on('error', () => resolve({ status: 0 }));
    req.end(body);
  });
for (let i = 0; ; i++) {
  const up = await new Promise<boolean>((r) =>
    request({ host: '127.0.0.1', port, path: '/readyz', agent: false }, (res) => r(res.statusCode === 200))
      .on('error', () => r(false))
      .end(),
  );
  if (up) break;
  if (i > 600) throw new Error('receiver did not start');
  await new Promise((r) => setTimeout(r, 100));
}
await new Promise((r) => setTimeout(r, 3_000)); // workers up

const load0 = loadavg();
const accepted: number[] = [];
const intakeMs: number[] = [];
const series: Array<{ t: number; sent: number; intakeP99: number; depth: number; processed: number; rss: number[] }> = [];
let sent = 0;
const notAccepted: Record<string, number> = {};
let secondIntake: number[] = [];
const began = Date.now();
// A running system is analyzed by autovacuum. A server with it off (this machine's CI configuration)
// never refreshes statistics, and each worker backend keeps the plans it made while the tables were
// empty — the foreign-key checks on contacts then scan the tenant's created_at index (measured: ~13,000
// index entries per check, events/s collapsing as the soak ran). The soak then does autovacuum's analyze
// itself every 30 s, and says so; SOAK_NO_ANALYZE=1 leaves the server as it is.
const [autovacuum] = await owner.sql<{ on: boolean }[]>`select current_setting('autovacuum') = 'on' as on`;
const emulateAnalyze = !autovacuum?.on && process.env.SOAK_NO_ANALYZE !== '1';
if (!autovacuum?.on)
  console.log(
    emulateAnalyze
      ? 'autovacuum is off on this server: the soak analyzes its database every 30 s, as autovacuum would'
      : 'autovacuum is off on this server and SOAK_NO_ANALYZE=1: statistics are never refreshed',
  );
const analyzer = emulateAnalyze ? setInterval(() => void owner.sql`analyze`.catch(() => {}), 30_000) : undefined;
const sampler = setInterval(async () => {
  const depths = await Promise.all(tenants.map((t) => enqueuer.queueFor(t.id).getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
  const depth = depths.reduce((a, c) => a + Object.values(c).reduce((x, y) => x + y, 0), 0);
  const [p] = await owner.sql<{ n: number }[]>`select count(*)::int as n from webhook_logs where status = 'processed'`;
  const sorted = [...secondIntake].sort((a, b) => a - b);
  secondIntake = [];
  series.push({
    t: Math.round((Date.now() - began) / 1000),
    sent,
    intakeP99: pct(sorted, 0.99),
    depth,
    processed: p?.n ?? 0,
    rss: procs.map((x) => rssMb(x.child.pid)),
  });
}, 1_000);

const inflight = new Set<Promise<void>>();
const total = rate * seconds;
for (let i = 0; i < total; i++) {
  const due = began + (i * 1000) / rate;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const tenant = tenants[i % tenants.length] as { slug: string };
  const personN = i % 5 === 0 && i > 0 ? Math.floor(i / 2) : i; // 1 in 5 for a person seen before
  const body = JSON.stringify({
    subscriber: { id: `soak${personN}`, first_name: 'Soak', email: `soak${personN}@bench.example`, custom_fields: { MCB_LEAD: true } },
    event_type: i % 5 === 0 ? 'contact_update' : 'contact_created',
    delivery_seq: i,
  });
  const t0 = performance.now();
  sent += 1;
  const p = post(`/api/webhooks/${tenant.slug}/manychat`, body).then((r) => {
    const ms = performance.now() - t0;
    if (r.status === 200 && r.id) {
      accepted.push(r.id);
      intakeMs.push(ms);
      secondIntake.push(ms);
    } else notAccepted[String(r.status || 'network error')] = (notAccepted[String(r.status || 'network error')] ?? 0) + 1;
  });
  inflight.add(p);
  void p.finally(() => inflight.delete(p));
}
await Promise.all(inflight);
const offeredSeconds = (Date.now() - began) / 1000;
// Drain: wait until every accepted log is processed, or until processing makes no progress for 60 s (a
// backlog that is still moving is waited for, up to 30 min): `lost` counts only logs left unprocessed
// once the workers stopped moving, never a backlog cut off by a timer.
const drainStarted = Date.now();
let lastProgress = Date.now();
let lastProcessed = -1;
for (;;) {
  const [r] = await owner.sql<
    { n: number }[]
  >`select count(*)::int as n from webhook_logs where id = any(${accepted}::int8[]) and status = 'processed'`;
  const n = r?.n ?? 0;
  if (n > lastProcessed) [lastProcessed, lastProgress] = [n, Date.now()];
  if (n >= accepted.length || Date.now() - lastProgress > 60_000 || Date.now() - drainStarted > 30 * 60_000) break;
  await new Promise((res) => setTimeout(res, 500));
}
const drainSeconds = Math.round((Date.now() - drainStarted) / 1000);
clearInterval(sampler);
clearInterval(analyzer);
const [stats] = await owner.sql<{ processed: number; lost: number; p50: number; p99: number }[]>`
  select count(*) filter (where status = 'processed')::int as processed,
         count(*) filter (where status <> 'processed')::int as lost,
         percentile_cont(0.5) within group (order by extract(epoch from processed_at - received_at) * 1000) as p50,
         percentile_cont(0.99) within group (order by extract(epoch from processed_at - received_at) * 1000) as p99
  from webhook_logs where id = any(${accepted}::int8[])`;
const [dup] = await owner.sql<{ logs: number; people: number }[]>`
  select (select count(*) from (select webhook_log_id from funnel_events group by tenant_id, webhook_log_id having count(*) > 1) d)::int as logs,
         (select count(*) from (select tenant_id, mc_id from contacts where merged_into_id is null group by tenant_id, mc_id having count(*) > 1) d)::int as people`;
const sortedIntake = [...intakeMs].sort((a, b) => a - b);
const peak = procs.map((p, i) => ({ name: p.name, mb: Math.max(...series.map((s) => s.rss[i] ?? 0)) }));
const load1 = loadavg();

const summary = {
  offered: { rate, seconds, sent, achievedRate: Math.round(sent / offeredSeconds) },
  accepted: accepted.length,
  notAcceptedByStatus: notAccepted,
  processed: stats?.processed ?? 0,
  lost: (stats?.lost ?? 0) + 0,
  duplicated: { logsWithTwoEvents: dup?.logs ?? 0, peopleWithTwoContacts: dup?.people ?? 0 },
  intakeMs: { p50: Math.round(pct(sortedIntake, 0.5) * 10) / 10, p99: Math.round(pct(sortedIntake, 0.99) * 10) / 10 },
  endToEndMs: { p50: Math.round(stats?.p50 ?? Number.NaN), p99: Math.round(stats?.p99 ?? Number.NaN) },
  drainSecondsAfterOffer: drainSeconds,
  queueDepth: { max: Math.max(...series.map((s) => s.depth)), end: series.at(-1)?.depth ?? 0 },
  peakRssMb: Object.fromEntries(peak.map((p) => [p.name, Math.round(p.mb)])),
  load: { start: load0.map((x) => x.toFixed(2)).join(' '), end: load1.map((x) => x.toFixed(2)).join(' ') },
};

// The plot: two SVG line charts (intake p99 per second; queue depth per second), no external assets.
const chart = (title: string, ys: number[], color: string) => {
  const w = 900;
  const h = 220;
  const max = Math.max(1, ...ys.filter(Number.isFinite));
  const pts = ys
    .map((y, i) => `${(i / Math.max(1, ys.length - 1)) * (w - 60) + 50},${h - 30 - ((Number.isFinite(y) ? y : 0) / max) * (h - 50)}`)
    .join(' ');
  return `<h2>${title}</h2><svg width="${w}" height="${h}" style="background:#fff;border:1px solid #ddd">
<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>
<text x="5" y="20" font-size="12">${Math.round(max)}</text><text x="5" y="${h - 30}" font-size="12">0</text>
<text x="50" y="${h - 8}" font-size="12">0 s</text><text x="${w - 60}" y="${h - 8}" font-size="12">${series.at(-1)?.t ?? 0} s</text></svg>`;
};
mkdirSync(`${root}infra/bench/out`, { recursive: true });
const file = `${root}infra/bench/out/soak-${new Date().toISOString().replace(/[:.]/g, '-')}.html`;
writeFileSync(
  file,
  `<!doctype html><meta charset="utf-8"><title>MCB soak</title><body style="font:14px system-ui;margin:20px">
<h1>Soak: ${rate} events/s offered for ${seconds} s, ${workerCount} workers</h1><pre>${JSON.stringify(summary, null, 2)}</pre>
${chart(
  'Intake latency, p99 per second (ms)',
  series.map((s) => s.intakeP99),
  '#c0392b',
)}
${chart(
  'Queue depth (waiting + active + delayed jobs)',
  series.map((s) => s.depth),
  '#2c3e50',
)}
${chart(
  'Processed (cumulative)',
  series.map((s) => s.processed),
  '#27ae60',
)}</body>`,
);
process.stdout.write(`${JSON.stringify(summary, null, 2)}\nplot: ${file}\n`);

for (const c of children) c.kill('SIGTERM');
await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
agent.destroy();
await enqueuer.close();
await queue.close();
await deleteQueuePrefix(urls.redisUrl, prefix);
await Promise.all([owner.close(), admin.close()]);
if (!process.env.BENCH_KEEP_DB) await db.drop();
