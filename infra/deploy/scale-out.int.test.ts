import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, type Database, runMigrations } from '@mcb/db';
import { addTenant, parseKeyring, setIntegration } from '@mcb/tenancy';
import { createTestDatabase, testEnv } from '@mcb/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apps, buildApp } from './build';
import { httpApps } from './http-apps';
import { metricFamilies, shippedQueries } from './observability';
import { exited, freePort, until, untilAnswers } from './processes';

// SPEC §1 and §7: receivers and workers scale out as separate processes on one Postgres and one
// Redis. The compiled apps (pnpm build) run here, with a Redis Cluster hash-tagged queue prefix.
const { databaseUrl: runDatabaseUrl, redisUrl, redisPrefix } = testEnv();
const prefix = `{${redisPrefix}-scale}`;
const encryptionKey = randomBytes(32).toString('base64');
// A database of its own: these workers reconcile, process and tick (every second here) for every tenant
// of their database. On the run's shared one they ran other files' stranded rows, which also counted
// in the exactly-once sum of mcb_worker_webhook_jobs_total below, and synced other files' tenants.
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let admin: Database;
const outRoot = mkdtempSync(join(tmpdir(), 'mcb-scale-'));
/** `port`: the app's HTTP port (probes); `metricsPort`: where it serves /metrics (the receiver's own listener). */
const children: Array<{ app: string; child: ChildProcess; port: number; metricsPort: number; stderr: string[] }> = [];
const shared = 'scale-shared-secret-0001';
const stripeSecret = 'whsec_scale_out_test_secret';
const tenants: Array<{ id: string; slug: string }> = [];

function start(app: 'receiver' | 'worker', port: number, metricsPort = port) {
  const child = spawn(process.execPath, [join(outRoot, 'apps', app, 'dist', 'main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      MCB_ENCRYPTION_KEY: encryptionKey,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      [httpApps[app].portEnv]: String(port),
      [httpApps[app].metrics.portEnv]: String(metricsPort),
      WORKER_TENANT_REFRESH_MS: '500',
      REPORT_TICK_EVERY_MS: '1000',
      META_TICK_EVERY_MS: '1000',
      CAPI_TICK_EVERY_MS: '1000',
      REPORT_OUTBOX_DIR: join(outRoot, 'outbox'),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  children.push({ app, child, port, metricsPort, stderr });
}

beforeAll(async () => {
  db = await createTestDatabase(runDatabaseUrl, 'mcb_scale');
  await runMigrations(db.url);
  admin = createDatabase({ url: db.url, role: 'admin', max: 2 });
  await Promise.all(apps.filter((a) => a.app === 'receiver' || a.app === 'worker').map((a) => buildApp(a, outRoot)));
  const keyring = parseKeyring(encryptionKey);
  for (let i = 0; i < 3; i++) {
    const slug = `scale-${i}-${randomBytes(3).toString('hex')}`;
    const t = await addTenant(admin, { slug, name: `Scale ${i}` });
    for (const provider of ['manychat', 'perspective'] as const)
      await setIntegration(admin, keyring, { slug, provider, webhookSecret: shared });
    await setIntegration(admin, keyring, { slug, provider: 'stripe', webhookSecret: stripeSecret });
    tenants.push({ id: t.id, slug });
  }
  for (let i = 0; i < 2; i++) start('receiver', await freePort(), await freePort());
  for (let i = 0; i < 3; i++) start('worker', await freePort());
  await Promise.all(children.map((c) => untilAnswers(`http://127.0.0.1:${c.port}/readyz`, 60_000)));
}, 180_000);

afterAll(async () => {
  await Promise.all(
    children.map(async ({ child }) => {
      const gone = exited(child);
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(t);
    }),
  );
  await admin?.close();
  await db?.drop();
  rmSync(outRoot, { recursive: true, force: true });
}, 60_000);

/** A delivery as the provider sends it: path, headers (signed) and body. */
function delivery(tenant: { slug: string }, n: number): { source: string; body: string; headers: Record<string, string> } {
  const kind = n % 3;
  if (kind === 0) {
    const body = JSON.stringify({
      subscriber: {
        id: `mc-${tenant.slug}-${n}`,
        first_name: 'Scale',
        email: `mc${n}.${tenant.slug}@example.com`,
        custom_fields: { MCB_LEAD: true },
      },
      event_type: 'contact_created',
    });
    return { source: 'manychat', body, headers: { 'content-type': 'application/json', 'x-webhook-secret': shared } };
  }
  if (kind === 1) {
    const body = JSON.stringify({
      id: `pf-${n}`,
      funnelName: 'Scale funnel',
      funnelId: 'f-1',
      profile: { email: { value: `pf${n}.${tenant.slug}@example.com` }, firstName: { value: 'Form' } },
      meta: { convertedAt: new Date().toISOString() },
    });
    return { source: 'perspective', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${shared}` } };
  }
  const body = JSON.stringify({
    id: `evt_scale_${tenant.slug}_${n}`,
    object: 'event',
    type: 'checkout.session.completed',
    created: Math.floor(Date.now() / 1000),
    data: {
      object: {
        id: `cs_scale_${n}`,
        object: 'checkout.session',
        mode: 'payment',
        amount_total: 150_00,
        currency: 'usd',
        payment_status: 'paid',
        status: 'complete',
        customer_details: { email: `buyer${n}.${tenant.slug}@example.com`, name: 'Buyer Scale' },
        created: Math.floor(Date.now() / 1000),
      },
    },
  });
  const signature = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: stripeSecret });
  return { source: 'stripe', body, headers: { 'content-type': 'application/json', 'stripe-signature': signature } };
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

describe('2 receivers and 3 workers, as separate processes on one Postgres and one Redis', () => {
  it('every probe route the manifests and images use answers 200 on the running apps, and /metrics on its own port', async () => {
    for (const { app, port, metricsPort } of children) {
      const { probe } = httpApps[app as 'receiver' | 'worker'];
      for (const path of [probe.liveness, probe.readiness]) {
        expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, `${app} ${path}`).toBe(200);
      }
      expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status, `${app} /metrics`).toBe(200);
      // The receiver's public port never serves them: they name every tenant and its traffic.
      if (app === 'receiver') expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 'receiver public /metrics').toBe(404);
    }
  });

  it('mixed events, spread over both receivers (every delivery twice), are each processed exactly once', async () => {
    const receivers = children.filter((c) => c.app === 'receiver');
    const perTenant = 30;
    const sends = tenants.flatMap((t) => Array.from({ length: perTenant }, (_, n) => ({ t, n, d: delivery(t, n) })));
    // Each delivery goes to one receiver, then its retry to the other: the second is a duplicate. Like a
    // provider, a sender tries again on 503 (a receiver answers 503 when its database wait runs past
    // the request deadline, as it may on a loaded machine).
    const answers = await Promise.all(
      sends.map(async ({ t, n, d }) => {
        const post = async (first: number) => {
          for (let attempt = 0; ; attempt++) {
            const r = receivers[(first + attempt) % 2]!;
            const res = await fetch(`http://127.0.0.1:${r.port}/api/webhooks/${t.slug}/${d.source}`, {
              method: 'POST',
              headers: d.headers,
              body: d.body,
            });
            const answer = { status: res.status, body: (await res.json()) as { id: number; duplicate?: boolean } };
            if (res.status !== 503 || attempt === 20) return answer;
            await new Promise((r) => setTimeout(r, 250));
          }
        };
        const first = await post(n % 2);
        const retry = await post((n + 1) % 2);
        return { first, retry };
      }),
    );
    expect(answers.filter((a) => a.first.status !== 200 || a.retry.status !== 200)).toEqual([]);
    expect(answers.filter((a) => a.retry.body.duplicate === true && a.retry.body.id === a.first.body.id)).toHaveLength(sends.length);

    const ids = tenants.map((t) => t.id);
    const settled = await until(
      async () => {
        const [r] = await admin.sql<{ done: number; total: number }[]>`
          select count(*) filter (where status = 'processed')::int as done, count(*)::int as total
          from webhook_logs where tenant_id = any(${ids}) and status <> 'rejected'`;
        return r!.done === sends.length ? r : undefined;
      },
      90_000,
      'every log to be processed',
    );
    expect(settled.total).toBe(sends.length);
    const [effects] = await admin.sql<{ events: number; payments: number; dupEvents: number; dupContacts: number }[]>`
      select (select count(*) from funnel_events where tenant_id = any(${ids}))::int as events,
        (select count(*) from payments where tenant_id = any(${ids}))::int as payments,
        (select count(*) from (select 1 from funnel_events where tenant_id = any(${ids})
          group by tenant_id, webhook_log_id having count(*) > 1) d)::int as "dupEvents",
        (select count(*) from (select 1 from contacts where tenant_id = any(${ids}) and merged_into_id is null
          group by tenant_id, lower(coalesce(email_primary, email_booking, email_payment)) having count(*) > 1) d)::int as "dupContacts"`;
    // ManyChat and Perspective deliveries each make one funnel event; a Stripe checkout of an unknown
    // buyer is one payment, kept as an orphan until a contact matches it (SPEC §6.3).
    const third = tenants.length * (perTenant / 3);
    expect(effects).toEqual({ events: 2 * third, payments: third, dupEvents: 0, dupContacts: 0 });

    // Processed exactly once across the three processes: their counters add up to one run per log.
    const workers = children.filter((c) => c.app === 'worker');
    const processed = await Promise.all(workers.map((w) => metric(w.metricsPort, 'mcb_worker_webhook_jobs_total')));
    expect(processed.reduce((a, b) => a + b, 0)).toBe(sends.length);
    expect(processed.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    // Both receivers took requests.
    for (const r of receivers) expect(await metric(r.metricsPort, 'mcb_receiver_requests_total')).toBeGreaterThan(0);
  });

  it('repeatable schedulers fire once per interval, not once per worker', async () => {
    const queue = new Queue('schedules', { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix });
    try {
      // Three workers each registered every scheduler at start: still one of each.
      const keys = (await queue.getJobSchedulers()).map((s) => s.key).sort();
      expect(keys).toEqual(expect.arrayContaining(['meta-tick', 'report-tick']));
      expect(new Set(keys).size).toBe(keys.length);
      await new Promise((r) => setTimeout(r, 4_000));
      const jobs = await queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed']);
      for (const key of keys) {
        // The scheduler's slot time is in the job id (repeat:<scheduler>:<millis>): one job per slot.
        const slots = jobs.flatMap((j) => {
          const m = new RegExp(`^repeat:${key}:(\\d+)$`).exec(j.id ?? '');
          return m ? [Number(m[1])] : [];
        });
        expect(slots.length, key).toBeGreaterThanOrEqual(3);
        expect(new Set(slots).size, key).toBe(slots.length);
        const sorted = [...slots].sort((a, b) => a - b);
        for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!, key).toBeGreaterThanOrEqual(1_000);
      }
    } finally {
      await queue.close();
      await (queue.opts.connection as Redis).quit();
    }
  });

  it('every metric the dashboard, the alerts and the worker autoscaler query is served by a running app', async () => {
    const served = new Set<string>();
    for (const { metricsPort } of children) {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      for (const m of text.matchAll(/^# TYPE (\S+) /gm)) served.add(m[1]!);
    }
    const missing = shippedQueries().flatMap((q) =>
      metricFamilies(q.expr)
        .filter((f) => !served.has(f))
        .map((f) => `${q.where}: ${f}`),
    );
    expect(missing).toEqual([]);
  });
});
