// `npm run bench -- tenant-context [tenants]`: the cost of resolving a tenant on every webhook.
// 1. A fresh migrated database with `tenants` tenants (default 200), five sealed integrations each.
// 2. Uncached load (one query through the admin role + AES-GCM opening of 10 values): median / p95.
// 3. Cached hit: calls per second through `getTenantContext` (what the receiver does per request).
// 4. 100 concurrent misses for one slug: how many distinct loads they caused.
// 5. Cross-process invalidation: a second loader on its own pool, a writer deactivating/activating;
//    time until the reader sees each change (LISTEN/NOTIFY), median / p95 / max.
// Figures are printed, never asserted. infra/bench is not a workspace package: imports are by path.
import { createDatabase } from '../../packages/db/src/client';
import { runMigrations } from '../../packages/db/src/migrate';
import { createTenantContextLoader } from '../../packages/tenancy/src/context';
import { generateKey, parseKeyring } from '../../packages/tenancy/src/crypto';
import { setIntegration } from '../../packages/tenancy/src/integrations';
import { addTenant, setTenantActive } from '../../packages/tenancy/src/tenants';
import { createTestDatabase, testServiceUrls } from '../../packages/testing/src/services';

const tenantCount = Number(process.argv[2] ?? 200);
const say = (line: string) => process.stdout.write(`${line}\n`);
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
const fmt = (x: number) => x.toFixed(2);

const database = await createTestDatabase(testServiceUrls().postgresUrl, 'mcb_bench_tenant');
const keyring = parseKeyring(generateKey());
const admin = createDatabase({ url: database.url, role: 'admin', max: 4, applicationName: 'bench-tenant-admin' });
const readerAdmin = createDatabase({ url: database.url, role: 'admin', max: 4, applicationName: 'bench-tenant-reader' });
try {
  await runMigrations(database.url);
  const slugs: string[] = [];
  for (let i = 0; i < tenantCount; i++) {
    const t = await addTenant(admin, { slug: `bench-${i}`, name: `Bench ${i}`, timezone: 'America/New_York' });
    for (const provider of ['manychat', 'ghl', 'denefits', 'perspective'] as const) {
      await setIntegration(admin, keyring, { slug: t.slug, provider, webhookSecret: true, credentials: { api_key: `k_${i}_${provider}` } });
    }
    await setIntegration(admin, keyring, {
      slug: t.slug,
      provider: 'stripe',
      webhookSecret: `whsec_bench_${i}`,
      credentials: { secret_key: 'sk' },
    });
    slugs.push(t.slug);
  }
  say(`database ${database.name}: ${tenantCount} tenants × 5 integrations`);

  const loader = createTenantContextLoader({ admin, keyring, ttlMs: 30_000 });
  await loader.ready();

  const cold: number[] = [];
  for (let i = 0; i < 500; i++) {
    const slug = slugs[i % slugs.length] as string;
    loader.invalidate(slug);
    const t0 = performance.now();
    await loader.getTenantContext(slug);
    cold.push(performance.now() - t0);
  }
  say(`uncached load: median ${fmt(quantile(cold, 0.5))} ms, p95 ${fmt(quantile(cold, 0.95))} ms (500 loads)`);

  for (const slug of slugs) await loader.getTenantContext(slug);
  const hits = 200_000;
  const t0 = performance.now();
  for (let i = 0; i < hits; i++) await loader.getTenantContext(slugs[i % slugs.length] as string);
  const hitSeconds = (performance.now() - t0) / 1000;
  const perSecond = hits / hitSeconds;
  say(`cached hit: ${Math.round(perSecond).toLocaleString()} calls/s (${fmt((hitSeconds * 1e6) / hits)} µs each)`);
  say(`ratio uncached median / cached: ${Math.round(quantile(cold, 0.5) / ((hitSeconds * 1000) / hits)).toLocaleString()}×`);

  loader.invalidate(slugs[0]);
  const burst = await Promise.all(Array.from({ length: 100 }, () => loader.getTenantContext(slugs[0] as string)));
  say(`100 concurrent misses for one slug → ${new Set(burst).size} load(s)`);

  const reader = createTenantContextLoader({ admin: readerAdmin, keyring, ttlMs: 60_000 });
  await reader.ready();
  const seen: number[] = [];
  const target = slugs[1] as string;
  for (let i = 0; i < 50; i++) {
    await reader.getTenantContext(target).catch(() => null);
    const active = i % 2 === 1;
    const start = performance.now();
    await setTenantActive(admin, target, active);
    for (;;) {
      const visible = await reader.getTenantContext(target).then(
        () => true,
        () => false,
      );
      if (visible === active) break;
      if (performance.now() - start > 5_000) throw new Error('change not seen within 5 s');
      await new Promise((r) => setTimeout(r, 1));
    }
    seen.push(performance.now() - start);
  }
  say(
    `cross-loader invalidation (commit → seen, 50 changes): median ${fmt(quantile(seen, 0.5))} ms, p95 ${fmt(quantile(seen, 0.95))} ms, max ${fmt(Math.max(...seen))} ms`,
  );
  await reader.close();
  await loader.close();
} finally {
  await Promise.all([admin.close(), readerAdmin.close()]);
  await database.drop();
}
