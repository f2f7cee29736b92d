// `npm run bench -- wide-contact [identities]`: batches of 50 events for one contact holding `identities`
// identifiers (default 150,000), as a tenant's own signed sender can build (each ManyChat event adding an
// email), applied by the real applier on real Postgres in a fresh migrated database. Every batch for that
// person used to read all of its identities (their JSON, then the planner's maps) on the worker's event loop
// that every tenant shares. Prints the median, min and max ms per batch of 7; nothing asserted.
// infra/bench is not a workspace package: imports are by path.
import { applyLogs, maxIdentitiesRead } from '../../packages/contacts/src/apply';
import type { PlanItem } from '../../packages/contacts/src/plan';
import { createDatabase } from '../../packages/db/src/index';
import { runMigrations } from '../../packages/db/src/migrate';
import { createTestDatabase, testServiceUrls } from '../../packages/testing/src/services';

const identities = Number(process.argv[2] ?? 150_000);
const say = (line: string) => process.stdout.write(`${line}\n`);
const database = await createTestDatabase(testServiceUrls().postgresUrl, 'mcb_bench_wide');
say(
  `database ${database.name}; a contact with ${identities.toLocaleString()} identities, ${maxIdentitiesRead} read beside those asked for`,
);
await runMigrations(database.url);
const owner = createDatabase({ url: database.url, role: 'owner', max: 2, applicationName: 'bench-wide-contact' });
const app = createDatabase({ url: database.url, role: 'app', max: 4, applicationName: 'bench-wide-contact' });
let seq = 0;

try {
  const [tenant] = await owner.sql<{ id: string }[]>`insert into tenants (slug, name) values ('wide-contact', 'Wide contact') returning id`;
  const tenantId = (tenant as { id: string }).id;
  const item = async (email: string): Promise<PlanItem> => {
    const dedupeKey = `wide-${seq++}`;
    const [row] = await owner.sql<{ id: number; received_at: Date }[]>`
      insert into webhook_logs (tenant_id, source, dedupe_key, status) values (${tenantId}, 'manychat', ${dedupeKey}, 'processing')
      returning id, received_at`;
    const log = row as { id: number; received_at: Date };
    return {
      ctx: { tenantId, logId: Number(log.id), receivedAt: log.received_at, dedupeKey },
      events: [
        {
          source: 'manychat',
          eventType: 'contact_update',
          contact: { identity: { mcId: 'mc-wide', emails: [email] }, fields: { mcId: 'mc-wide', emailPrimary: email } },
          funnelEvent: { type: 'contact_updated' },
        },
      ],
      status: 'processed',
      eventType: null,
      reason: null,
    };
  };
  const [outcomes] = await applyLogs(app.sql, tenantId, [await item('first@wide.example')]);
  const first = outcomes?.[0];
  await owner.sql`
    insert into contact_identities (tenant_id, kind, value, contact_id, source, first_seen_at)
    select ${tenantId}, 'email', 'w' || g || '@wide.example', ${first?.contactId ?? null}, 'manychat', now()
    from generate_series(1, ${identities}) g`;
  await owner.sql`analyze contact_identities`;
  const times: number[] = [];
  for (let r = 0; r < 7; r++) {
    const items: PlanItem[] = [];
    for (let i = 0; i < 50; i++) items.push(await item(`e${r}-${i}@wide.example`));
    const t = performance.now();
    await applyLogs(app.sql, tenantId, items);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const ms = (x: number | undefined) => (x ?? 0).toFixed(0);
  say(`batch of 50 events for the contact: median ${ms(times[3])} ms (min ${ms(times[0])}, max ${ms(times[6])}) of 7`);
} finally {
  await Promise.all([owner.close(), app.close()]);
  await database.drop();
}
