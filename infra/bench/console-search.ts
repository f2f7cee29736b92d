// `npm run bench -- console-search [rows] [tenants]`: the operator console's log search on a big table.
// 1. Loads `rows` webhook logs (default 2,000,000; ~1 KB JSON payloads with ids and emails, 60 days,
//    `tenants` tenants, default 50; 0.5% failed, 2% ignored) into a fresh migrated database, then builds
//    the search indexes of drizzle/0004 (timed, with their sizes).
// 2. Runs the real query functions (searchWebhookLogs, countWebhookLogs, getTenantStats) for the console's
//    typical searches (one tenant's as mcb_app with the tenant set, as the console runs them): median of 5
//    runs each, and the EXPLAIN (ANALYZE, BUFFERS) of the exact SQL they send, in the same scope.
// 3. Write cost of search on intake: 20,000 inserts (500 per statement) and 20,000 status updates, with
//    and without the search trigger and indexes.
// Figures are printed, never asserted. infra/bench is not a workspace package: imports are by path.
import { createHash } from 'node:crypto';
import { countWebhookLogs, createDatabase, getTenantStats, searchWebhookLogs } from '../../packages/db/src/index';
import { runMigrations } from '../../packages/db/src/migrate';
import { createTestDatabase, testServiceUrls } from '../../packages/testing/src/services';

const rows = Number(process.argv[2] ?? 2_000_000);
const tenantCount = Number(process.argv[3] ?? 50);
const say = (line: string) => process.stdout.write(`${line}\n`);
const ms = (t0: number) => performance.now() - t0;

const database = await createTestDatabase(testServiceUrls().postgresUrl, 'mcb_bench_search');
say(`database ${database.name}; ${rows.toLocaleString()} rows, ${tenantCount} tenants`);
let lastQuery: { text: string; params: unknown[] } | null = null;
const { sql } = createDatabase({
  url: database.url,
  role: 'owner',
  max: 1,
  applicationName: 'bench-console-search',
  onQuery: (text, params) => {
    lastQuery = { text, params };
  },
});

try {
  await runMigrations(database.url);
  const tenantRows = await sql<{ id: string }[]>`
    insert into tenants (slug, name) select 'bench-' || g, 'Bench ' || g from generate_series(1, ${tenantCount}) g returning id`;
  const tenantIds = tenantRows.map((t) => t.id);
  const searchIndexes = ['webhook_log_search_trgm_idx', 'webhook_logs_received_idx', 'webhook_logs_status_received_idx'];
  const indexDefs = await sql<{ indexname: string; indexdef: string }[]>`
    select indexname, indexdef from pg_indexes
    where tablename in ('webhook_logs', 'webhook_log_search') and indexname = any(${searchIndexes})`;
  for (const i of indexDefs) await sql.unsafe(`drop index ${i.indexname}`);

  // Rows spread evenly over 60 days up to now; payload shaped like a Stripe checkout event.
  const spanSeconds = 60 * 86_400;
  const load = async (from: number, to: number, status?: string) => sql`
    insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, status, error_message, attempts,
                              received_at, enqueued_at, processed_at)
    select (${tenantIds}::uuid[])[1 + (g % ${tenantCount})],
           (array['stripe','manychat','ghl','denefits','perspective'])[1 + (g / ${tenantCount}) % 5],
           (array['checkout.session.completed','contact_created','ContactCreate','contract.created','form_submitted'])[1 + (g / ${tenantCount}) % 5],
           'evt_' || g,
           '{"content-type":"application/json","stripe-signature":"[redacted]"}'::jsonb,
           jsonb_build_object('id', 'evt_' || g, 'object', 'event', 'type', 'checkout.session.completed', 'livemode', false,
             'data', jsonb_build_object('object', jsonb_build_object(
               'id', 'cs_test_' || md5(g::text), 'object', 'checkout.session', 'customer', 'cus_' || substr(md5(g::text), 1, 14),
               'customer_details', jsonb_build_object('email', 'person' || g || '@example.com', 'name', 'Person Number ' || g,
                 'phone', '+1555' || lpad((g % 10000000)::text, 7, '0')),
               'amount_total', 10000 + g % 90000, 'currency', 'usd', 'status', 'complete', 'payment_status', 'paid',
               'metadata', jsonb_build_object('campaign', 'spring sale', 'ad_id', '1202' || (g % 1000)),
               'success_url', 'https://example.com/thanks', 'cancel_url', 'https://example.com/cancel',
               'notes', 'padding to a realistic size: ' || repeat('lorem ipsum dolor sit amet ', 12)))),
           coalesce(${status ?? null}, case when g % 200 = 0 then 'failed' when g % 50 = 0 then 'ignored' else 'processed' end),
           case when g % 200 = 0 then 'ManyChat getInfo failed: HTTP 500' end, 1,
           now() - make_interval(secs => ${spanSeconds} * (1 - g::float8 / ${rows})),
           now() - make_interval(secs => ${spanSeconds} * (1 - g::float8 / ${rows})),
           now() - make_interval(secs => ${spanSeconds} * (1 - g::float8 / ${rows}))
    from generate_series(${from}::int, ${to}::int) g`;
  let t0 = performance.now();
  const chunk = 100_000;
  for (let from = 1; from <= rows; from += chunk) {
    await load(from, Math.min(rows, from + chunk - 1));
    process.stdout.write(`\rloading ${Math.min(rows, from + chunk - 1).toLocaleString()} / ${rows.toLocaleString()}`);
  }
  say(`\nloaded in ${(ms(t0) / 1000).toFixed(1)} s`);
  await sql`set maintenance_work_mem = '256MB'`;
  for (const i of indexDefs) {
    t0 = performance.now();
    await sql.unsafe(i.indexdef);
    const [size] = await sql<{ size: string }[]>`select pg_size_pretty(pg_relation_size(${i.indexname}::regclass)) as size`;
    say(`built ${i.indexname} in ${(ms(t0) / 1000).toFixed(1)} s, size ${size?.size}`);
  }
  await sql`vacuum analyze webhook_logs`;
  await sql`vacuum analyze webhook_log_search`;
  const [table] = await sql<{ heap: string; total: string; search: string }[]>`
    select pg_size_pretty(pg_relation_size('webhook_logs')) as heap, pg_size_pretty(pg_total_relation_size('webhook_logs')) as total,
           pg_size_pretty(pg_total_relation_size('webhook_log_search')) as search`;
  say(`webhook_logs heap ${table?.heap}, with indexes and toast ${table?.total}; webhook_log_search with indexes ${table?.search}`);

  // A cursor deep inside one tenant's history (half way back, at most row 10,000, newest first).
  const tenant = tenantIds[7 % tenantCount] as string;
  const depth = Math.min(10_000, Math.floor(rows / tenantCount / 2));
  const [deep] = await sql<{ received_at: Date; id: number }[]>`
    select received_at, id from webhook_logs where tenant_id = ${tenant} order by received_at desc, id desc offset ${depth} limit 1`;
  const rare = Math.floor(rows * 0.37);
  const rareEmail = `person${rare}@example.com`;
  const rareCustomer = `cus_${createHash('md5').update(String(rare)).digest('hex').slice(0, 14)}`;
  const rareTenant = tenantIds[rare % tenantCount] as string;

  // One tenant's searches run as the console runs them: as mcb_app with the tenant set (RLS, ADR 0002);
  // searches across tenants bypass RLS (the admin role; here the owner). EXPLAIN runs in the same scope.
  // `searched` is the statement the query function sent (not the transaction's COMMIT after it).
  type Run = (q: typeof sql) => Promise<unknown>;
  let searched: { text: string; params: unknown[] } | null = null;
  const inScope = async (tenantId: string | null, fn: Run) => {
    const result =
      tenantId === null
        ? await fn(sql)
        : await sql.begin(async (tx) => {
            await tx`set local role mcb_app`;
            await tx`select set_config('app.tenant_id', ${tenantId}, true)`;
            const r = await fn(tx as unknown as typeof sql);
            searched = lastQuery;
            return r;
          });
    if (tenantId === null) searched = lastQuery;
    return result;
  };
  const cases: Array<[string, string | null, Run]> = [
    ['tenant, newest page (50)', tenant, (q) => searchWebhookLogs(q, { tenantId: tenant })],
    [
      `tenant, ${depth.toLocaleString()} rows deep (keyset cursor)`,
      tenant,
      (q) => searchWebhookLogs(q, { tenantId: tenant }, { cursor: { receivedAt: deep!.received_at, id: deep!.id } }),
    ],
    ['tenant + status=failed', tenant, (q) => searchWebhookLogs(q, { tenantId: tenant, status: 'failed' })],
    [
      'tenant + source + last 24h',
      tenant,
      (q) => searchWebhookLogs(q, { tenantId: tenant, source: 'stripe', since: new Date(Date.now() - 86_400_000) }),
    ],
    ['all tenants, newest page', null, (q) => searchWebhookLogs(q, {})],
    ['all tenants + status=failed', null, (q) => searchWebhookLogs(q, { status: 'failed' })],
    ['all tenants, q = one email', null, (q) => searchWebhookLogs(q, { q: rareEmail })],
    ['tenant, q = one email', rareTenant, (q) => searchWebhookLogs(q, { tenantId: rareTenant, q: rareEmail })],
    ['all tenants, q = customer id', null, (q) => searchWebhookLogs(q, { q: rareCustomer })],
    ['tenant, q = common event type', tenant, (q) => searchWebhookLogs(q, { tenantId: tenant, q: 'contact_created' })],
    ['dry-run count: tenant + failed', tenant, (q) => countWebhookLogs(q, { tenantId: tenant, status: 'failed' })],
    [
      'dry-run count: all failed, last 7d',
      null,
      (q) => countWebhookLogs(q, { status: 'failed', since: new Date(Date.now() - 7 * 86_400_000) }),
    ],
    ['stats, all tenants, 24h', null, (q) => getTenantStats(q, { since: new Date(Date.now() - 86_400_000) })],
    ['stats, all tenants, 7d', null, (q) => getTenantStats(q, { since: new Date(Date.now() - 7 * 86_400_000) })],
  ];
  say('\n| search | median ms (5 runs) | result |');
  say('|---|---|---|');
  const plans: string[] = [];
  for (const [name, scope, run] of cases) {
    const times: number[] = [];
    let result: unknown;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      result = await inScope(scope, run);
      times.push(ms(t));
    }
    times.sort((a, b) => a - b);
    const q = searched as { text: string; params: unknown[] } | null;
    const shape = Array.isArray(result)
      ? `${result.length} tenants`
      : typeof result === 'number'
        ? `count ${result}`
        : `${(result as { items: unknown[] }).items.length} rows`;
    say(`| ${name}${scope ? ' (mcb_app, RLS)' : ''} | ${(times[2] as number).toFixed(1)} | ${shape} |`);
    if (q) {
      const plan = await inScope(scope, (s) =>
        s.unsafe(`explain (analyze, buffers, costs off, timing off, summary off) ${q.text}`, q.params as never[]),
      );
      plans.push(`### ${name}\n${(plan as Array<Record<string, string>>).map((r) => r['QUERY PLAN']).join('\n')}`);
    }
  }
  say(`\n${plans.join('\n\n')}\n`);

  // Write cost of the search indexes on intake.
  const writeRound = async (label: string, base: number) => {
    const n = 20_000;
    let t = performance.now();
    for (let from = base; from < base + n; from += 500) await load(from, from + 499, 'received');
    const insertRate = n / (ms(t) / 1000);
    const ids = await sql<{ id: number }[]>`select id from webhook_logs where status = 'received' order by id limit ${n}`;
    t = performance.now();
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500).map((r) => r.id);
      await sql`update webhook_logs set status = 'processed', processed_at = now() where id = any(${batch}::bigint[])`;
    }
    const updateRate = ids.length / (ms(t) / 1000);
    say(
      `${label}: insert ${Math.round(insertRate).toLocaleString()} rows/s, status update ${Math.round(updateRate).toLocaleString()} rows/s`,
    );
    return { insertRate, updateRate };
  };
  say('write cost (500 rows per statement, 20,000 rows):');
  const withIdx = await writeRound('  with search (triggers + indexes)   ', rows + 1);
  for (const i of indexDefs) await sql.unsafe(`drop index ${i.indexname}`);
  // The search text is written when a worker picks a log up, or at insert for any other status (drizzle/0010).
  await sql`alter table webhook_logs disable trigger webhook_logs_search_not_received, disable trigger webhook_logs_search_picked_up`;
  const without = await writeRound('  without search (triggers + indexes)', rows + 100_001);
  say(
    `  ratio with/without: insert ${(withIdx.insertRate / without.insertRate).toFixed(2)}, update ${(withIdx.updateRate / without.updateRate).toFixed(2)}`,
  );
} finally {
  await sql.end({ timeout: 5 });
  await database.drop();
}
