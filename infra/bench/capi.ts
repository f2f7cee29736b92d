// `npm run bench -- capi [events]`: one tenant's Conversions API backlog — 100,000 events by default
// (90 % Lead on each person's first funnel event, 10 % Purchase with its payment) — sent from a fresh,
// migrated database to the fake Graph server (its own process) in batches of 1,000.
// Budget (issue 17): 100,000 events in ≤ 60 s on this machine. Then an idle run (nothing left to send).
// infra/bench is not a workspace package: it imports the packages' public entry files by path.

import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { loadCapiTarget, runCapiSend } from '../../packages/capi/src/index';
import { createDatabase, runMigrations, withTenantSql } from '../../packages/db/src/index';
import { addTenant, createTenantContextLoader, generateKey, parseKeyring, setIntegration } from '../../packages/tenancy/src/index';
import { createTestDatabase, testServiceUrls } from '../../packages/testing/src/services';
import { cpuSeconds, startServerProcess } from './proc';

const events = Number(process.argv[2] ?? 100_000);
const budgetS = 60;
const purchases = Math.floor(events / 10);
const people = events - purchases;

const { postgresUrl } = testServiceUrls();
const db = await createTestDatabase(postgresUrl, 'mcb_bench');
await runMigrations(db.url);
const app = createDatabase({ url: db.url, role: 'app', max: 4, applicationName: 'bench-capi' });
const admin = createDatabase({ url: db.url, role: 'admin', max: 2, applicationName: 'bench-capi-admin' });
const keyring = parseKeyring(generateKey());
const token = `EAAbench${Date.now()}`;
const datasetId = '424242424242';
const { child, ...fake } = await startServerProcess('./capi-fake-process.ts', [datasetId, token], 'pipe');
const loader = createTenantContextLoader({ admin, keyring, listen: false });

try {
  const tenant = await addTenant(admin, { slug: 'bench-capi', name: 'Bench CAPI' });
  await setIntegration(admin, keyring, {
    slug: 'bench-capi',
    provider: 'meta_capi',
    credentials: { dataset_id: datasetId, access_token: token },
  });
  const t0 = performance.now();
  const ids = Array.from({ length: people }, () => randomUUID());
  const base = Math.floor((Date.now() - 3 * 24 * 3600_000) / 1000) * 1000;
  for (let from = 0; from < people; from += 10_000) {
    const chunk = ids.slice(from, from + 10_000);
    await admin.sql`
      insert into contacts (tenant_id, id, email_primary, phone, first_name, last_name, ad_id)
      select ${tenant.id}::uuid, u.id, 'person' || u.n || '@example.com', '+1555' || lpad(u.n::text, 7, '0'),
             'First' || u.n, 'Last' || u.n, '1202100000000' || (u.n % 50)
      from unnest(${chunk}::uuid[]) with ordinality as u(id, n)`;
    await admin.sql`
      insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id)
      select ${tenant.id}::uuid, u.id, 'contact_subscribed', to_timestamp(${base / 1000} + u.n + ${from}), 'manychat', 'mc-' || (u.n + ${from})
      from unnest(${chunk}::uuid[]) with ordinality as u(id, n)`;
  }
  const buyers = ids.slice(0, purchases);
  await admin.sql`
    insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, currency, status, paid_at)
    select ${tenant.id}::uuid, u.id, 'cs_' || u.n, 'stripe', 'buy_in_full', 'full_purchase', 100000 + u.n, 'usd', 'paid', to_timestamp(${base / 1000 + 3600} + u.n)
    from unnest(${buyers}::uuid[]) with ordinality as u(id, n)`;
  await admin.sql`
    insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id, data)
    select ${tenant.id}::uuid, u.id, 'purchase_completed', to_timestamp(${base / 1000 + 3600} + u.n), 'stripe', 'payment:cs_' || u.n,
           jsonb_build_object('payment_event_id', 'cs_' || u.n)
    from unnest(${buyers}::uuid[]) with ordinality as u(id, n)`;
  await admin.sql`analyze`;
  console.log(
    `capi bench: ${events.toLocaleString()} events for one tenant (${people.toLocaleString()} Leads, ${purchases.toLocaleString()} Purchases) → fake Graph (own process), 1,000 per request; seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const target = await loadCapiTarget(loader, tenant.id);
  // CPU seconds from /proc (independent of other load on this shared machine): this process, the
  // fake's process, and the Postgres backends of the app pool (created by the first run).
  const backendsCpuS = async () => {
    const pids = await admin.sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name = 'bench-capi'`;
    return pids.reduce((n, r) => n + cpuSeconds(r.pid), 0);
  };
  const ownCpuS = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const settings = { graphUrl: fake.url, apiVersion: 'v25.0' };
  const runs: Array<{ label: string; s: number }> = [];
  let cpuLine = '';
  for (const label of ['backlog send', 'idle run (nothing left)']) {
    const start = performance.now();
    const cpu0 = { own: ownCpuS(), fake: cpuSeconds(child.pid as number), pg: await backendsCpuS() };
    const r = await runCapiSend({ database: app, target, settings });
    const s = (performance.now() - start) / 1000;
    const cpu = {
      own: ownCpuS() - cpu0.own,
      fake: cpuSeconds(child.pid as number) - cpu0.fake,
      pg: (await backendsCpuS()) - cpu0.pg,
    };
    if (!cpuLine)
      cpuLine = `  CPU of the backlog send (from /proc): sender ${cpu.own.toFixed(1)} s, Postgres backends ${cpu.pg.toFixed(1)} s, fake Graph ${cpu.fake.toFixed(1)} s — ${(cpu.own + cpu.pg).toFixed(1)} s of ours; on ${availableParallelism()} idle cores ≥ ${((cpu.own + cpu.pg + cpu.fake) / availableParallelism()).toFixed(1)} s wall`;
    runs.push({ label, s });
    console.log(
      `  ${label.padEnd(26)} ${s.toFixed(2).padStart(6)} s  sent ${r.sent.toLocaleString()}, skipped ${r.skipped}, failed ${r.failed}, ${r.requests} requests, Meta received ${r.eventsReceived.toLocaleString()}${r.sent ? `  →  ${Math.round(r.sent / s).toLocaleString()} events/s, ${(s / budgetS).toFixed(2)} × the ${budgetS} s budget` : ''}`,
    );
  }
  console.log(cpuLine);
  const [row] = await withTenantSql(
    app.sql,
    tenant.id,
    (tx) => tx<{ sent: number; distinct: number }[]>`
    select count(*) filter (where status = 'sent')::int as sent, count(distinct (funnel_event_id, event_name))::int as distinct from capi_sends`,
  );
  child.stdin?.end();
  const [fakeLine] = (await once(createInterface({ input: child.stderr as NodeJS.ReadableStream }), 'line')) as [string];
  const fakeCount = JSON.parse(fakeLine) as { accepted: number; distinct: number };
  const ok = row?.sent === events && row.distinct === events && fakeCount.accepted === events && fakeCount.distinct === events;
  console.log(
    `  capi_sends: ${row?.sent.toLocaleString()} sent rows (${row?.distinct.toLocaleString()} distinct); fake accepted ${fakeCount.accepted.toLocaleString()} (${fakeCount.distinct.toLocaleString()} distinct) — ${ok ? 'every event once' : 'MISMATCH'}`,
  );
  console.log(`  machine load average (1 min) at the end: ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores`);
  const backlog = runs[0]?.s ?? Number.POSITIVE_INFINITY;
  console.log(`  result: ${backlog <= budgetS ? 'within' : 'OVER'} budget (${backlog.toFixed(2)} s of ${budgetS} s)`);
  if (!ok) process.exitCode = 1;
} finally {
  await loader.close();
  child.stdin?.end();
  await Promise.all([app.close(), admin.close()]);
  await db.drop();
}
