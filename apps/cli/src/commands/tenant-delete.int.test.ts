import { randomBytes } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { createQueueConnection, WebhookEnqueuer } from '@mcb/queue';
import { addTenant, deleteTenant, generateKey, parseKeyring, setIntegration, setTenantActive } from '@mcb/tenancy';
import { freeLoopbackPort, testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

// An operator's review (stop 38): a client who leaves, or asks for its data to be erased, had no command
// (`tenant remove`/`delete`: unknown command; `deactivate` keeps everything).

const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const prefix = `${redisPrefix}-clidel`;
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
const conn = createQueueConnection({ kind: 'redis', url: redisUrl }, prefix);
const enqueuer = new WebhookEnqueuer(conn);
const key = generateKey();

beforeAll(() => {
  process.env.DATABASE_URL = databaseUrl;
  process.env.REDIS_URL = redisUrl;
  process.env.QUEUE_PREFIX = prefix;
  process.env.MCB_ENCRYPTION_KEY = key;
});
afterAll(async () => {
  await enqueuer.close();
  await conn.close();
  await Promise.all([admin.close(), app.close()]);
});

/** A tenant with a log (and its job), a contact with an event and a payment, an orphan payment and an integration. */
async function tenantWithData(): Promise<{ id: string; slug: string }> {
  const slug = `del-${randomBytes(4).toString('hex')}`;
  const [t] = await admin.sql<{ id: string }[]>`insert into tenants (slug, name) values (${slug}, 'Leaving Clinic') returning id`;
  const id = t!.id;
  const [log] = await admin.sql<{ id: number }[]>`
    insert into webhook_logs (tenant_id, source, dedupe_key, payload, status)
    values (${id}, 'manychat', ${`k-${slug}`}, ${admin.sql.json({ id: 'sub1', email: 'jo@example.com' })}, 'processed') returning id`;
  const [c] = await admin.sql<
    { id: string }[]
  >`insert into contacts (tenant_id, email_primary) values (${id}, 'jo@example.com') returning id`;
  await admin.sql`
    insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id)
    values (${id}, ${c!.id}, 'contact_subscribed', now(), 'manychat', ${`e-${slug}`})`;
  await admin.sql`
    insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at, customer_email) values
      (${id}, ${c!.id}, ${`p1-${slug}`}, 'stripe', 'buy_in_full', 'full_purchase', 5000, 'paid', now(), 'jo@example.com'),
      (${id}, null, ${`p2-${slug}`}, 'stripe', 'buy_in_full', 'full_purchase', 7000, 'paid', now(), 'orphan@example.com')`;
  await setIntegration(admin, parseKeyring(key), { slug, provider: 'perspective', webhookSecret: `persp-${slug}-secret-0123456789` });
  await enqueuer.enqueue([{ tenantId: id, logId: log!.id }]);
  return { id, slug };
}

/** Rows of every table with a `tenant_id` column that belong to `tenantId`. */
async function rowsLeft(tenantId: string): Promise<Record<string, number>> {
  const tables = await admin.sql<{ table_name: string }[]>`
    select c.table_name from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
    where c.column_name = 'tenant_id' and c.table_schema = 'public' and t.table_type = 'BASE TABLE' order by 1`;
  const out: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [r] = await admin.sql<{ n: number }[]>`select count(*)::int n from ${admin.sql(table_name)} where tenant_id = ${tenantId}`;
    if (r!.n > 0) out[table_name] = r!.n;
  }
  return out;
}

describe('mcb tenant delete <slug>', () => {
  it('without --yes says what would go and deletes nothing; an active tenant is refused; inactive + --yes deletes every row and its queue, and no other tenant’s', async () => {
    const leaving = await tenantWithData();
    const staying = await tenantWithData();
    const stayingBefore = await rowsLeft(staying.id);

    const plan = await mcb('tenant', 'delete', leaving.slug);
    expect(plan).toEqual({
      code: 1,
      stdout: `Would delete tenant ${leaving.slug} (Leaving Clinic, active): 1 webhook logs, 1 contacts, 1 funnel events, 2 payments, 1 integrations.\n`,
      stderr: `Nothing deleted: first run mcb tenant deactivate ${leaving.slug}, then run mcb tenant delete ${leaving.slug} --yes to delete it for good\n`,
    });
    const active = await mcb('tenant', 'delete', leaving.slug, '--yes');
    expect(active.code).toBe(1);
    expect(active.stderr).toBe(
      `Tenant ${leaving.slug} is active: deactivate it first (mcb tenant deactivate ${leaving.slug}), so that no delivery is stored while it is deleted\n`,
    );
    expect(Object.keys(await rowsLeft(leaving.id)).length).toBeGreaterThan(3);

    expect((await mcb('tenant', 'deactivate', leaving.slug)).code).toBe(0);
    expect(await enqueuer.queueFor(leaving.id).count()).toBe(1);
    const done = await mcb('tenant', 'delete', leaving.slug, '--yes');
    expect(done).toEqual({
      code: 0,
      stdout:
        `Deleted tenant ${leaving.slug} (Leaving Clinic): 1 webhook logs, 1 contacts, 1 funnel events, 2 payments, 1 integrations.\n` +
        `Removed its queue webhooks-${leaving.id}.\n`,
      stderr: '',
    });
    // Every table: nothing of it left — the orphan payment (no contact, no foreign key to the tenant) too.
    expect(await rowsLeft(leaving.id)).toEqual({});
    expect(await admin.sql`select 1 from tenants where id = ${leaving.id}`).toHaveLength(0);
    expect(await enqueuer.queueFor(leaving.id).count()).toBe(0);
    // The other tenant is untouched.
    expect(await rowsLeft(staying.id)).toEqual(stayingBefore);
    expect(await enqueuer.queueFor(staying.id).count()).toBe(1);
    await enqueuer.queueFor(staying.id).obliterate({ force: true });

    const again = await mcb('tenant', 'delete', leaving.slug, '--yes');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`Unknown tenant: ${leaving.slug}`);
  });

  it('an orphan payment a worker commits while the tenant is being deleted is deleted too, not left behind', async () => {
    // Review of stop 38: payments had no foreign key to their tenant, so an orphan (no contact) written by an
    // apply transaction that committed during the delete stayed, with the customer's email.
    const t = await addTenant(admin, { slug: `del-race-${randomBytes(4).toString('hex')}`, name: 'Race' });
    await setTenantActive(admin, t.slug, false);
    // A worker's apply transaction (workers finish an inactive tenant's queued logs), open across the delete.
    const tx = await app.sql.reserve();
    try {
      await tx`begin`;
      await tx`select set_config('app.tenant_id', ${t.id}, true)`;
      await tx`
        insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at, customer_email)
        values (${t.id}, null, 'p-race', 'stripe', 'buy_in_full', 'full_purchase', 5000, 'paid', now(), 'o@example.com')`;
      const deleting = deleteTenant(admin, t.slug);
      await new Promise((r) => setTimeout(r, 300));
      await tx`commit`;
      await deleting;
    } finally {
      tx.release();
    }
    expect(await admin.sql`select payment_event_id from payments where tenant_id = ${t.id}`).toHaveLength(0);
    // And one written after the delete is refused, not stored for a tenant that no longer exists.
    const late = await app.sql
      .begin(async (t2) => {
        await t2`select set_config('app.tenant_id', ${t.id}, true)`;
        await t2`
          insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at)
          values (${t.id}, null, 'p-late', 'stripe', 'buy_in_full', 'full_purchase', 5000, 'paid', now())`;
      })
      .catch((err: { code?: string }) => err.code);
    expect(late).toBe('23503');
  });

  it('with Redis unreachable nothing is deleted (exit 1): no queue is left that no tenant stands for', async () => {
    // Faults walk, stop 38: the tenant was deleted, its queue of 2,997 jobs stayed in Redis for good, exit 0.
    const leaving = await tenantWithData();
    expect((await mcb('tenant', 'deactivate', leaving.slug)).code).toBe(0);
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = `redis://127.0.0.1:${await freeLoopbackPort()}`;
    try {
      const refused = await mcb('tenant', 'delete', leaving.slug, '--yes');
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(
        new RegExp(
          `^Nothing deleted: its queue webhooks-${leaving.id} could not be removed \\(.+\\); run this again once Redis answers\\n$`,
        ),
      );
    } finally {
      process.env.REDIS_URL = saved;
    }
    expect(await admin.sql`select 1 from tenants where id = ${leaving.id}`).toHaveLength(1);
    expect(await enqueuer.queueFor(leaving.id).count()).toBe(1);
    // Once Redis answers, the same command deletes both.
    expect((await mcb('tenant', 'delete', leaving.slug, '--yes')).code).toBe(0);
    expect(await rowsLeft(leaving.id)).toEqual({});
    expect(await enqueuer.queueFor(leaving.id).count()).toBe(0);
  });
});
