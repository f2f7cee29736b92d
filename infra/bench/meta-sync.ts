// `npm run bench -- meta-sync [ads] [days]`: one tenant's full Meta sync — ads with creatives, then
// ads × days daily insight rows — from the local fake Graph server into a fresh, migrated database.
// Budget (issue 6): 5,000 ads × 28 days = 140,000 insight rows in ≤ 30 s on this machine.
// infra/bench is not a workspace package: it imports the packages' public entry files by path.

import { availableParallelism, loadavg } from 'node:os';
import { createDatabase, runMigrations, withTenantSql } from '../../packages/db/src/index';
import { loadMetaTarget, lookbackRange, runTenantMetaSync } from '../../packages/meta/src/index';
import { addTenant, createTenantContextLoader, generateKey, parseKeyring, setIntegration } from '../../packages/tenancy/src/index';
import { createTestDatabase, testServiceUrls } from '../../packages/testing/src/services';
import { startServerProcess } from './proc';

const ads = Number(process.argv[2] ?? 5_000);
const days = Number(process.argv[3] ?? 28);
const budgetS = 30;

const { postgresUrl } = testServiceUrls();
const db = await createTestDatabase(postgresUrl, 'mcb_bench');
await runMigrations(db.url);
const app = createDatabase({ url: db.url, role: 'app', max: 4, applicationName: 'bench-meta' });
const admin = createDatabase({ url: db.url, role: 'admin', max: 2, applicationName: 'bench-meta-admin' });
const keyring = parseKeyring(generateKey());
const token = `EAAbench${Date.now()}`;
const adAccountId = 'act_987654321';
const { child, ...fake } = await startServerProcess('./fake-graph-process.ts', [adAccountId, token, String(ads), '500']);
const loader = createTenantContextLoader({ admin, keyring, listen: false });

try {
  const tenant = await addTenant(admin, { slug: 'bench-meta', name: 'Bench Meta', config: { meta: { lookback_days: days } } });
  await setIntegration(admin, keyring, {
    slug: 'bench-meta',
    provider: 'meta',
    credentials: { access_token: token, ad_account_id: adAccountId },
  });
  const target = await loadMetaTarget(loader, tenant.id);
  const settings = { graphUrl: fake.url, apiVersion: 'v25.0', pageSize: 500, batchSize: 1_000 };
  const range = lookbackRange(days, target.timeZone);
  console.log(
    `meta-sync bench: ${ads.toLocaleString()} ads × ${days} days = ${(ads * days).toLocaleString()} insight rows from the fake Graph server (own process), page 500, 1,000 rows/statement (${range.since} … ${range.until})`,
  );

  const runs: Array<{ label: string; s: number; rows: number; requests: number }> = [];
  for (const label of ['first sync (inserts)', 're-sync (same figures re-pulled)']) {
    const t0 = performance.now();
    const r = await runTenantMetaSync({ database: app, target, settings, range });
    const s = (performance.now() - t0) / 1000;
    runs.push({ label, s, rows: r.insightRows, requests: r.requests });
    console.log(
      `  ${label.padEnd(34)} ${s.toFixed(2).padStart(6)} s  ${r.ads.toLocaleString()} ads, ${r.insightRows.toLocaleString()} rows, ${r.requests} requests  →  ${Math.round(r.insightRows / s).toLocaleString()} rows/s, ${(s / budgetS).toFixed(2)} × the ${budgetS} s budget`,
    );
  }
  const [row] = await withTenantSql(
    app.sql,
    tenant.id,
    (tx) => tx<{ ads: number; rows: number; days: number }[]>`
    select (select count(*) from meta_ads)::int as ads, (select count(*) from meta_ad_insights)::int as rows,
           (select count(distinct date) from meta_ad_insights)::int as days`,
  );
  const ok = row?.ads === ads && row?.rows === ads * days && row?.days === days;
  console.log(
    `  stored: ${row?.ads} ads, ${row?.rows} insight rows over ${row?.days} days — ${ok ? 'complete, no duplicates' : 'MISMATCH'}`,
  );
  const worst = Math.max(...runs.map((r) => r.s));
  console.log(`  machine load average (1 min) at the end: ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores`);
  console.log(`  result: ${worst <= budgetS ? 'within' : 'OVER'} budget (slowest run ${worst.toFixed(2)} s of ${budgetS} s)`);
  if (!ok) process.exitCode = 1;
} finally {
  await loader.close();
  child.stdin?.end();
  await Promise.all([app.close(), admin.close()]);
  await db.drop();
}
