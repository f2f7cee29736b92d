// `npm run bench -- orphans [orphans] [perTransaction] [star|chain]`: a person arriving for many orphan payments, on
// real Postgres, as a hostile signed sender can build in its own tenant (red team, stop 34: 100,000 orphans
// on one email were linked in one transaction of 39 s, and other tenants' p99 went to 7.1 s).
// For each shape — a star (`orphans` payments on one email) and a chain (email ↔ phone ↔ email …) — in a
// fresh migrated database, the person's event is applied twice, each time in a tenant of its own:
// 1. all in one transaction (`maxOrphans` past the count: what the applier did before the bound);
// 2. bounded (`perTransaction`, default maxOrphansPerTransaction), then the orphans.link steps until the backlog is empty.
// Meanwhile another tenant's contact events are applied one at a time in the same process (as on a shared
// worker) and their latency is recorded, with the event loop's delay. Prints the longest transaction, the
// total, the other tenant's p50/p99/max and the loop's max delay; checks every orphan was linked once.
// Figures are printed, never asserted. infra/bench is not a workspace package: imports are by path.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { applyLogs, linkWaitingOrphans, maxOrphansPerTransaction } from '../../packages/contacts/src/apply';
import type { PlanItem } from '../../packages/contacts/src/plan';
import { createDatabase } from '../../packages/db/src/index';
import { runMigrations } from '../../packages/db/src/migrate';
import { createTestDatabase, testServiceUrls } from '../../packages/testing/src/services';

const count = Number(process.argv[2] ?? 100_000);
const perTransaction = Number(process.argv[3] ?? maxOrphansPerTransaction);
const shapes = (process.argv[4] ?? 'star,chain').split(',') as Array<'star' | 'chain'>;
const say = (line: string) => process.stdout.write(`${line}\n`);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number);
};

const database = await createTestDatabase(testServiceUrls().postgresUrl, 'mcb_bench_orphans');
say(
  `database ${database.name}; ${count.toLocaleString()} orphans per shape, ${perTransaction.toLocaleString()} per transaction when bounded`,
);
await runMigrations(database.url);
const owner = createDatabase({ url: database.url, role: 'owner', max: 2, applicationName: 'bench-orphans' });
const app = createDatabase({ url: database.url, role: 'app', max: 10, applicationName: 'bench-orphans' });
let nextLog = 0;

async function makeTenant(slug: string): Promise<string> {
  const [row] = await owner.sql<{ id: string }[]>`insert into tenants (slug, name) values (${slug}, ${slug}) returning id`;
  return (row as { id: string }).id;
}

/** `count` orphans: a star on one email, or a chain where payment k shares its email with k-1 and its phone with k+1. */
async function storeOrphans(tenantId: string, shape: 'star' | 'chain') {
  const email = shape === 'star' ? `'star@x.io'` : `'chain-' || ((g + 1) / 2) || '@x.io'`;
  const phone = shape === 'star' ? 'null' : `'+1555' || lpad((g / 2)::text, 7, '0')`;
  await owner.sql.unsafe(`
    insert into payments (tenant_id, payment_event_id, source, payment_type, category, amount_cents, currency, status,
      customer_email, customer_email_key, customer_phone, paid_at, funnel_event)
    select '${tenantId}', 'cs_' || g, 'stripe', 'buy_in_full', 'full_purchase', 10000, 'usd', 'paid',
      ${email}, ${email}, ${phone}, timestamptz '2026-01-01' + g * interval '1 second', 'purchase_completed'
    from generate_series(0, ${count - 1}) g`);
  await owner.sql`analyze payments`;
}

async function personItem(tenantId: string, email: string, mcId: string): Promise<PlanItem> {
  const dedupeKey = `person-${nextLog++}`;
  const receivedAt = new Date(Date.UTC(2026, 1, 1));
  const [row] = await owner.sql<{ id: number }[]>`
    insert into webhook_logs (tenant_id, source, dedupe_key, received_at, status) values (${tenantId}, 'manychat', ${dedupeKey}, ${receivedAt}, 'processing')
    returning id`;
  return {
    ctx: { tenantId, logId: Number((row as { id: number }).id), receivedAt, dedupeKey },
    events: [
      {
        source: 'manychat',
        eventType: 'contact_created',
        contact: { identity: { mcId, emails: [email] }, fields: { mcId, emailPrimary: email } },
        funnelEvent: { type: 'contact_subscribed' },
      },
    ],
    status: 'processed',
    eventType: null,
    reason: null,
  };
}

/** Another tenant's contact events, one at a time until stopped: their latencies (ms). */
function otherTenant(tenantId: string) {
  const latencies: number[] = [];
  let stop = false;
  const done = (async () => {
    while (!stop) {
      const item = await personItem(tenantId, `other-${nextLog}@x.io`, `mc-other-${nextLog}`);
      const t = performance.now();
      await applyLogs(app.sql, tenantId, [item]);
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    latencies,
    stop: async () => {
      stop = true;
      await done;
    },
  };
}

async function run(shape: 'star' | 'chain', mode: 'one transaction' | 'bounded') {
  const hostile = await makeTenant(`${shape}-${mode === 'bounded' ? 'bounded' : 'one'}`);
  const other = await makeTenant(`other-${shape}-${mode === 'bounded' ? 'bounded' : 'one'}`);
  await storeOrphans(hostile, shape);
  const first = shape === 'star' ? 'star@x.io' : 'chain-0@x.io';
  const item = await personItem(hostile, first, `mc-${shape}`);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const others = otherTenant(other);
  await new Promise((r) => setTimeout(r, 300));
  loop.enable();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const rssTimer = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 50);
  const t0 = performance.now();
  const [[outcome]] = (await applyLogs(app.sql, hostile, [item], undefined, {
    maxOrphans: mode === 'bounded' ? perTransaction : count + 1,
  })) as unknown as [[{ linkedOrphans: number }]];
  const firstMs = performance.now() - t0;
  let longest = firstMs;
  let steps = 1;
  let linked = outcome.linkedOrphans;
  let exclusive = false;
  for (;;) {
    const s = performance.now();
    // As the orphans.link job runs its steps.
    const step = await linkWaitingOrphans(app.sql, hostile, { maxOrphans: perTransaction, exclusive });
    if (step.identities === 0) break;
    exclusive ||= step.exclusive;
    longest = Math.max(longest, performance.now() - s);
    linked += step.linked;
    steps++;
  }
  const totalMs = performance.now() - t0;
  clearInterval(rssTimer);
  loop.disable();
  await others.stop();
  const [check] = await owner.sql<{ linked: number; waiting: number; sales: number }[]>`
    select (select count(*)::int from payments where tenant_id = ${hostile} and contact_id is not null) as linked,
      (select count(*)::int from payments where tenant_id = ${hostile} and contact_id is null) as waiting,
      (select count(*)::int from funnel_events where tenant_id = ${hostile} and event_type = 'purchase_completed') as sales`;
  const c = check as { linked: number; waiting: number; sales: number };
  const l = others.latencies;
  say(
    `${shape}, ${mode}: ${steps} transaction(s), longest ${longest.toFixed(0)} ms, total ${(totalMs / 1000).toFixed(1)} s; ` +
      `other tenant's events (${l.length}): p50 ${pct(l, 50).toFixed(0)} ms, p99 ${pct(l, 99).toFixed(0)} ms, max ${Math.max(0, ...l).toFixed(0)} ms; ` +
      `event loop delay max ${(loop.max / 1e6).toFixed(0)} ms; RSS +${Math.round((rssPeak - rssBefore) / 1048576)} MB; ` +
      `linked ${c.linked}/${count} (${linked} by the applier's count), waiting ${c.waiting}, purchase events ${c.sales}`,
  );
}

try {
  for (const shape of shapes) {
    await run(shape, 'one transaction');
    await run(shape, 'bounded');
  }
} finally {
  await Promise.all([owner.close(), app.close()]);
  await database.drop();
}
