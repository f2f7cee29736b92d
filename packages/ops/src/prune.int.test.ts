import { randomUUID } from 'node:crypto';
import { createDatabase, type Database, runMigrations } from '@mcb/db';
import { addTenant } from '@mcb/tenancy';
import { createTestDatabase, testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneRejectedLogs } from './prune';

const env = testEnv();
// A database of its own: a pass deletes old rejected rows of the whole database.
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let admin: Database;
beforeAll(async () => {
  db = await createTestDatabase(env.databaseUrl, 'mcb_prune');
  await runMigrations(db.url);
  admin = createDatabase({ url: db.url, role: 'admin', max: 4 });
});
afterAll(async () => {
  await admin?.close();
  await db?.drop();
});

async function logs(tenantId: string, n: number, status: string, ageDays: number) {
  await admin.sql`
    insert into webhook_logs (tenant_id, source, dedupe_key, payload, raw_body, status, received_at)
    select ${tenantId}, 'manychat', ${`${status}-${ageDays}-`} || g || '-' || ${randomUUID()},
           case when ${status} = 'rejected' then null else '{}'::jsonb end,
           case when ${status} = 'rejected' then '\\x7b7d'::bytea else null end,
           ${status}, now() - ${ageDays} * interval '1 day'
    from generate_series(1, ${n}) g`;
}

const count = async (tenantId: string) =>
  Object.fromEntries(
    (
      await admin.sql<{ status: string; old: boolean; n: number }[]>`
        select status, received_at < now() - interval '7 days' as old, count(*)::int as n
        from webhook_logs where tenant_id = ${tenantId} group by 1, 2`
    ).map((r) => [`${r.status}${r.old ? ' old' : ''}`, r.n]),
  );

describe('pruneRejectedLogs (retention of rejected deliveries)', () => {
  it('deletes rejected rows past keepDays, in batches, from every tenant; accepted rows of any age and recent rejections stay', async () => {
    const a = await addTenant(admin, { slug: `pr-${randomUUID().slice(0, 8)}`, name: 'a' });
    const b = await addTenant(admin, { slug: `pr-${randomUUID().slice(0, 8)}`, name: 'b' });
    for (const t of [a, b]) {
      await logs(t.id, 120, 'rejected', 30);
      await logs(t.id, 15, 'rejected', 1);
      await logs(t.id, 10, 'processed', 30);
      await logs(t.id, 5, 'failed', 30);
    }
    expect(await pruneRejectedLogs(admin, { keepDays: 7, batchSize: 50 })).toBe(240);
    for (const t of [a, b]) expect(await count(t.id)).toEqual({ rejected: 15, 'processed old': 10, 'failed old': 5 });
    // Nothing left to delete: a second pass is a no-op.
    expect(await pruneRejectedLogs(admin, { keepDays: 7, batchSize: 50 })).toBe(0);
  });

  it('two workers pruning at once delete each row once and leave none behind', async () => {
    const t = await addTenant(admin, { slug: `pr-${randomUUID().slice(0, 8)}`, name: 'c' });
    await logs(t.id, 300, 'rejected', 10);
    const [x, y] = await Promise.all([
      pruneRejectedLogs(admin, { keepDays: 7, batchSize: 40 }),
      pruneRejectedLogs(admin, { keepDays: 7, batchSize: 40 }),
    ]);
    expect(x + y).toBe(300);
    expect(await count(t.id)).toEqual({});
  });

  it('refuses a database handle that is not the admin role', async () => {
    const app = createDatabase({ url: db.url, role: 'app', max: 1 });
    try {
      await expect(pruneRejectedLogs(app, { keepDays: 7 })).rejects.toThrow(/admin database role/);
    } finally {
      await app.close();
    }
  });
});
