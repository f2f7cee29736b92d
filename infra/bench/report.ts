import { loadavg } from 'node:os';
import { createDatabase, runMigrations } from '../../packages/db/src/index';
import { formatCents, renderWeeklyReport } from '../../packages/emails/src/index';
import { computeReportFigures, weekContaining } from '../../packages/reports/src/index';
import { createTestDatabase, testServiceUrls } from '../../packages/testing/src/services';
import { cpuSeconds } from './proc';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const keep = process.argv.includes('--keep');
const contacts = Number(args[0] ?? 100_000);
const events = Number(args[1] ?? 1_000_000);
const runs = Number(args[2] ?? 10);
const say = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => n.toLocaleString('en-US');
const since = (t0: number) => performance.now() - t0;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

// `--reuse=<database>`: measure again on a database a `--keep` run left (no reload).
const reuse = process.argv.find((a) => a.startsWith('--reuse='))?.slice('--reuse='.length);
const baseUrl = testServiceUrls().postgresUrl;
const target = reuse
  ? { name: reuse, url: Object.assign(new URL(baseUrl), { pathname: `/${reuse}` }).toString(), drop: async () => {} }
  : await createTestDatabase(baseUrl, 'mcb_bench_report');
say(`database ${target.name}: ${fmt(contacts)} contacts, ${fmt(events)} funnel events (+ a noise tenant of a quarter that size)`);
if (!reuse) await runMigrations(target.url);
const owner = createDatabase({ url: target.url, role: 'owner', max: 1, applicationName: 'bench-report-owner' });
const admin = createDatabase({ url: target.url, role: 'admin', max: 2, applicationName: 'bench-report-load' });

const timezone = 'America/New_York';
const week = weekContaining('2026-10-26', timezone);
const dataStart = new Date(week.end.getTime() - 52 * 7 * 86_400_000);
const year = 364 * 86_400;

async function loadTenant(slug: string, n: { contacts: number; events: number; payments: number }): Promise<string> {
  const t0 = performance.now();
  const [t] = await admin.sql<{ id: string }[]>`
    insert into tenants (slug, name, owner_name, report_email, config)
    values (${slug}, ${`Bench ${slug}`}, 'Owner', 'owner@example.com', ${admin.sql.json({ timezone })}) returning id`;
  const id = t!.id;
  await admin.sql`
    insert into contacts (tenant_id, source, ad_id, created_at)
    select ${id}, (array['instagram','facebook','ghl','website'])[1 + g % 4],
           case when g % 3 = 0 then null else 'AD' || (g % 60) end,
           ${dataStart}::timestamptz + (g::float8 / ${n.contacts}) * interval '364 days'
    from generate_series(1, ${n.contacts}) g`;
  // Numbered copy to map a series value onto a contact id.
  await admin.sql`
    create temp table bench_ids as
    select id, row_number() over (order by created_at, id) as rn from contacts where tenant_id = ${id}`;
  await admin.sql`create index on bench_ids (rn)`;
  // 2% of contacts merged into the one before them (their events stay on the merged record).
  await admin.sql`
    update contacts c set merged_into_id = b2.id
    from bench_ids b1 join bench_ids b2 on b2.rn = b1.rn - 1
    where c.tenant_id = ${id} and c.id = b1.id and b1.rn % 50 = 0`;
  // Each contact gets events/contacts events, 9 h apart from near its creation, moving down the funnel
  // from one of six entry points (wrapping round the year, so every week holds about the same number).
  await admin.sql`
    insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id)
    select ${id}, b.id,
           (array['contact_subscribed','contact_updated','dm_qualified','link_sent','link_clicked','form_submitted',
                  'appointment_scheduled','appointment_held','package_sent','deposit_paid','purchase_completed',
                  'payment_plan_created','recurring_payment_received','checkout_abandoned','appointment_cancelled'])[1 + (g / ${n.contacts} + (g % ${n.contacts}) % 6) % 15],
           ${dataStart}::timestamptz
             + mod(((g % ${n.contacts})::float8 / ${n.contacts} * ${year} + (g / ${n.contacts}) * 9 * 3600)::numeric, ${year}) * interval '1 second',
           'bench', 'e' || g
    from generate_series(0, ${n.events - 1}) g
    join bench_ids b on b.rn = 1 + g % ${n.contacts}`;
  await admin.sql`
    insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at)
    select ${id}, b.id, 'p' || g,
           case when g % 5 in (2, 3) then 'denefits' else 'stripe' end,
           case when g % 5 = 4 then 'refund' when g % 5 in (2, 3) then 'buy_now_pay_later' else 'buy_in_full' end,
           (array['deposit','full_purchase','payment_plan','downpayment','refund'])[1 + g % 5],
           case when g % 5 = 4 then -(5000 + g % 20000) else 10000 + (g * 37) % 500000 end,
           case when g % 97 = 0 then 'failed' else 'paid' end,
           ${dataStart}::timestamptz + (g::float8 / ${n.payments}) * interval '364 days'
    from generate_series(1, ${n.payments}) g
    join bench_ids b on b.rn = 1 + (g * 7) % ${n.contacts}`;
  await admin.sql`
    insert into meta_ads (tenant_id, ad_id, ad_name) select ${id}, 'AD' || a, 'Ad number ' || a from generate_series(0, 59) a`;
  await admin.sql`
    insert into meta_ad_insights (tenant_id, ad_id, date, spend_cents)
    select ${id}, 'AD' || a, d::date, 1000 + (a * 131 + extract(doy from d)::int * 17) % 9000
    from generate_series(0, 59) a, generate_series(${dataStart}::date, ${week.weekEnd}::date + 7, interval '1 day') d`;
  await admin.sql`drop table bench_ids`;
  say(`loaded ${slug} in ${(since(t0) / 1000).toFixed(1)} s`);
  return id;
}

async function loadAll(): Promise<string> {
  const id = await loadTenant('bench-report', { contacts, events, payments: 30_000 });
  await loadTenant('bench-noise', { contacts: Math.ceil(contacts / 4), events: Math.ceil(events / 4), payments: 7_500 });
  // The table owner: mcb_admin may not VACUUM or ANALYZE.
  for (const table of ['contacts', 'funnel_events', 'payments', 'meta_ad_insights', 'meta_ads', 'tenants'])
    await owner.sql.unsafe(`vacuum analyze ${table}`);
  return id;
}
const tenantId = reuse ? (await admin.sql<{ id: string }[]>`select id from tenants where slug = 'bench-report'`)[0]!.id : await loadAll();
const [counts] = await admin.sql<{ contacts: number; events: number; in_week: number; people_in_week: number }[]>`
  select (select count(*) from contacts where tenant_id = ${tenantId})::int as contacts,
         (select count(*) from funnel_events where tenant_id = ${tenantId})::int as events,
         (select count(*) from funnel_events where tenant_id = ${tenantId} and occurred_at >= ${week.start} and occurred_at < ${week.end})::int as in_week,
         (select count(distinct contact_id) from funnel_events where tenant_id = ${tenantId} and occurred_at >= ${week.start} and occurred_at < ${week.end})::int as people_in_week`;
say(
  `tenant: ${fmt(counts!.contacts)} contacts, ${fmt(counts!.events)} funnel events; report week: ${fmt(counts!.in_week)} events of ${fmt(counts!.people_in_week)} contacts`,
);

// The app pool: one connection (so one backend, whose CPU time /proc shows), capturing each statement sent.
const sent: Array<{ text: string; params: unknown[] }> = [];
let capture = false;
const app = createDatabase({
  url: target.url,
  role: 'app',
  max: 1,
  applicationName: 'bench-report',
  onQuery: (text, params) => {
    if (capture) sent.push({ text, params });
  },
});
const appSql = app.sql;
const [{ pid }] = (await appSql`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
const backendCpuMs = () => cpuSeconds(pid) * 1000;

const warm0 = performance.now();
capture = true;
const figures = await computeReportFigures(app, tenantId, week);
capture = false;
say(`warm-up: ${since(warm0).toFixed(0)} ms`);
const times: number[] = [];
const cpu0 = backendCpuMs();
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  await computeReportFigures(app, tenantId, week);
  times.push(since(t0));
}
const cpuPerRun = (backendCpuMs() - cpu0) / runs;
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
const r0 = performance.now();
const email = await renderWeeklyReport({ figures, ownerName: 'Owner', tense: 'last' });
const renderMs = since(r0);

say('');
say(`report figures, week ${week.weekStart} – ${week.weekEnd} (${timezone}, ${figures.period.hours} h) and the week before, ${runs} runs:`);
say(`  wall: min ${times[0]!.toFixed(0)} ms · median ${median.toFixed(0)} ms · max ${times.at(-1)!.toFixed(0)} ms`);
say(`  Postgres backend CPU per run: ${cpuPerRun.toFixed(0)} ms (10 ms resolution per sample)`);
say(`  target ≤ 1000 ms → median wall is ${(median / 1000).toFixed(2)}× the budget; load average now ${load()} on ${2} cores`);
say(`  email render (React Email, HTML + text): ${renderMs.toFixed(0)} ms, ${fmt(email.html.length)} bytes of HTML`);
say(
  `  figures: leads ${fmt(figures.leads)}, purchases ${fmt(figures.purchases)}, appointment_held ${fmt(figures.funnel.appointment_held)}, ` +
    `cash ${formatCents(figures.revenue.cash_collected_cents, figures.currency)}, spend ${formatCents(figures.ads.spend_cents, figures.currency)}, ` +
    `top ads ${figures.ads.top.map((a) => a.ad_id).join(', ') || '—'}`,
);

// Where the time goes: each statement the figures sent, EXPLAIN ANALYZE'd as mcb_app with the tenant set.
say('');
say('statements (EXPLAIN ANALYZE, as mcb_app under RLS):');
for (const q of sent) {
  if (!/^\s*(select|with)\b/i.test(q.text) || /set_config/.test(q.text)) continue;
  const plan = (await appSql.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${tenantId}, true)`;
    return tx.unsafe(`explain (analyze, format json) ${q.text}`, q.params as never[]);
  })) as unknown as Array<{ 'QUERY PLAN': Array<{ 'Execution Time': number; Plan: { 'Actual Rows': number } }> }>;
  const p = plan[0]!['QUERY PLAN'][0]!;
  const first = q.text.replace(/\s+/g, ' ').trim().slice(0, 70);
  say(`  ${p['Execution Time'].toFixed(1).padStart(7)} ms  ${String(p.Plan['Actual Rows']).padStart(5)} rows  ${first}…`);
}

await appSql.end();
await Promise.all([admin.close(), owner.close()]);
if (keep || reuse) say(`kept database ${target.name} (measure again: npm run bench -- report --reuse=${target.name})`);
else await target.drop();
