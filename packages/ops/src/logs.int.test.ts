import { randomUUID } from 'node:crypto';
import {
  countWebhookLogs,
  createDatabase,
  getWebhookLogDetail,
  listWebhookLogsAfter,
  searchWebhookLogs,
  type WebhookLogFilter,
  withTenantSql,
} from '@mcb/db';
import { createQueueConnection, WebhookEnqueuer, webhookJobId } from '@mcb/queue';
import { addTenant } from '@mcb/tenancy';
import { testEnv } from '@mcb/testing';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLogContact } from './log-outcome';
import { openLog, searchLogs, withLogScope } from './logs';
import { previewReplay, replayWebhookLogIds, replayWebhookLogs } from './replay';

const env = testEnv();
const admin = createDatabase({ url: env.databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: env.databaseUrl, role: 'app', max: 2 });
const dbs = { admin, app };
const queue = createQueueConnection({ kind: 'redis', url: env.redisUrl }, `${env.redisPrefix}-oplogs`);
const enqueuer = new WebhookEnqueuer(queue);
afterAll(async () => {
  await enqueuer.close();
  await queue.close();
  await Promise.all([admin.close(), app.close()]);
});

// Two tenants with the same dedupe keys, event types and emails: only the tenant tells them apart.
const marker = `oplogs${randomUUID().slice(0, 8)}`;
const email = `${marker}@example.com`;
type Seeded = { id: string; slug: string; logs: number[]; failed: number; rejected: number };
let a: Seeded;
let b: Seeded;

async function seed(name: string): Promise<Seeded> {
  const slug = `${name}-${randomUUID().slice(0, 8)}`;
  const t = await addTenant(admin, { slug, name: slug });
  const rows = await admin.sql<{ id: number; status: string }[]>`
    insert into webhook_logs (tenant_id, source, event_type, dedupe_key, payload, status, received_at)
    select ${t.id}, 'stripe', 'checkout.session.completed', ${marker}::text || '-' || g,
           jsonb_build_object('customer_email', ${email}::text, 'n', g), s, now() - (10 - g) * interval '1 minute'
    from unnest(array['processed', 'processed', 'failed', 'rejected']::text[]) with ordinality as x(s, g)
    returning id, status`;
  const idOf = (status: string) => rows.find((r) => r.status === status)?.id as number;
  await withTenantSql(app.sql, t.id, async (tx) => {
    const [contact] = await tx<{ id: string }[]>`
      insert into contacts (tenant_id, email_primary) values (${t.id}, ${email}) returning id`;
    await tx`update webhook_logs set contact_id = ${contact?.id as string} where id = ${rows[0]?.id as number}`;
  });
  return { id: t.id, slug, logs: rows.map((r) => r.id), failed: idOf('failed'), rejected: idOf('rejected') };
}

beforeAll(async () => {
  a = await seed('opa');
  b = await seed('opb');
});

const ids = (page: { items: Array<{ id: number }> }) => page.items.map((l) => l.id).sort((x, y) => x - y);
const mine = (filter: WebhookLogFilter): WebhookLogFilter => ({ ...filter, q: filter.q ?? marker });

describe('operator reads of one tenant run on the RLS role with the tenant set (ADR 0002)', () => {
  it('a query under tenant A returns only A rows even when its filter names no tenant or tenant B', async () => {
    const noTenantFilter = await withLogScope(dbs, a.id, (sql) => searchWebhookLogs(sql, { q: marker }));
    expect(ids(noTenantFilter)).toEqual([...a.logs].sort((x, y) => x - y));
    const wrongTenantFilter = await withLogScope(dbs, a.id, (sql) => searchWebhookLogs(sql, { tenantId: b.id, q: marker }));
    expect(wrongTenantFilter.items).toEqual([]);
    // Text search (the trigram view), counts and replay batches obey the same boundary.
    expect(ids(await withLogScope(dbs, a.id, (sql) => searchWebhookLogs(sql, { tenantId: a.id, q: email })))).toEqual(
      [...a.logs].sort((x, y) => x - y),
    );
    expect(await withLogScope(dbs, a.id, (sql) => countWebhookLogs(sql, { q: marker }))).toBe(4);
    expect(await withLogScope(dbs, a.id, (sql) => countWebhookLogs(sql, { tenantId: b.id }))).toBe(0);
    const batch = await withLogScope(dbs, a.id, (sql) => listWebhookLogsAfter(sql, { q: marker }, null, 100));
    expect(batch.every((l) => l.tenantId === a.id && l.tenantSlug === a.slug)).toBe(true);
  });

  it('a log of tenant B read under tenant A is not found, nor what it produced', async () => {
    const logB = b.logs[0] as number;
    expect(await withLogScope(dbs, a.id, (sql) => getWebhookLogDetail(sql, logB))).toBeNull();
    const opened = await openLog(dbs, logB);
    expect(opened).toMatchObject({ id: logB, tenantId: b.id, tenantSlug: b.slug, status: 'processed' });
    expect(opened?.contact?.email_primary).toBe(email);
    expect(await openLog(dbs, 9_007_199_254_740_000)).toBeNull();
  });

  it('a raw body stored with a secret under an escaped name (before stop 37) is shown masked', async () => {
    const secret = `sec_${randomUUID()}`;
    const body = `[{"secret\\u005fkey":"${secret}","webhook_type":"contract.created"}]`;
    const [row] = await admin.sql<{ id: number }[]>`
      insert into webhook_logs (tenant_id, source, event_type, dedupe_key, payload, raw_body, status)
      values (${a.id}, 'denefits', 'contract.created', ${`${marker}-raw`}, '{"secret_key":"[redacted]"}'::jsonb,
              convert_to(${body}, 'UTF8'), 'processed')
      returning id`;
    try {
      const opened = await openLog(dbs, row?.id as number);
      expect(opened?.rawBody).toBe('[{"secret\\u005fkey":"[redacted]","webhook_type":"contract.created"}]');
      expect(JSON.stringify(opened)).not.toContain(secret);
    } finally {
      await admin.sql`delete from webhook_logs where id = ${row?.id as number}`;
    }
  });

  // Operator walk, stop 37: the text said "contact <id> (linked after this log was processed…)" while
  // the JSON of the same log (`mcb log --format json`, the console's API) said `"contact": null`.
  it('a log whose payment was linked to its contact later names that contact in its JSON too', async () => {
    const [row] = await admin.sql<{ id: number }[]>`
      insert into webhook_logs (tenant_id, source, event_type, dedupe_key, payload, status)
      values (${a.id}, 'stripe', 'checkout.session.completed', ${`${marker}-linked`}, '{}'::jsonb, 'processed')
      returning id`;
    const logId = row?.id as number;
    try {
      const contactId = await withTenantSql(app.sql, a.id, async (tx) => {
        const [c] = await tx<{ id: string }[]>`
          insert into contacts (tenant_id, email_payment) values (${a.id}, ${`linked-${email}`}) returning id`;
        await tx`
          insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at, webhook_log_id)
          values (${a.id}, ${c?.id as string}, ${`${marker}-pay`}, 'stripe', 'buy_in_full', 'full_purchase', 49700, 'paid', now(), ${logId})`;
        return c?.id as string;
      });
      const opened = await openLog(dbs, logId);
      expect(opened).toMatchObject({ contactId: null, contact: null, linkedContactIds: [contactId] });
      expect(describeLogContact(opened as NonNullable<typeof opened>)).toBe(
        `${contactId} (linked after this log was processed: what it booked waited for its contact)`,
      );
    } finally {
      await admin.sql`delete from payments where tenant_id = ${a.id} and webhook_log_id = ${logId}`;
      await admin.sql`delete from webhook_logs where id = ${logId}`;
    }
  });

  it('one tenant is read without the admin pool; only a search across tenants needs it', async () => {
    // An admin pool that cannot connect: every use of it fails.
    const deadAdmin = createDatabase({ url: 'postgres://nobody@127.0.0.1:1/none', role: 'admin', max: 1, connectTimeoutSeconds: 1 });
    try {
      const page = await searchLogs({ admin: deadAdmin, app }, { tenantId: a.id, q: email });
      expect(ids(page)).toEqual([...a.logs].sort((x, y) => x - y));
      await expect(searchLogs({ admin: deadAdmin, app }, { q: email })).rejects.toThrow();
    } finally {
      await deadAdmin.close();
    }
    // Across tenants (admin): both tenants' rows.
    expect(ids(await searchLogs(dbs, { q: email }))).toEqual([...a.logs, ...b.logs].sort((x, y) => x - y));
  });

  it('refuses pools with the wrong roles instead of reading with the wrong rights', async () => {
    await expect(searchLogs({ admin, app: admin }, mine({ tenantId: a.id }))).rejects.toThrow(/app role/);
    await expect(searchLogs({ admin: app, app }, mine({}))).rejects.toThrow(/admin role/);
  });

  it('the search view holds the current tenant rows only: none without a tenant, and it cannot be written', async () => {
    const [none] = await app.sql<{ n: number }[]>`select count(*)::int as n from webhook_log_search_in_tenant`;
    expect(none?.n).toBe(0);
    const seen = await withTenantSql(
      app.sql,
      a.id,
      (tx) => tx<{ tenant_id: string }[]>`select distinct tenant_id from webhook_log_search_in_tenant`,
    );
    expect(seen.map((r) => r.tenant_id)).toEqual([a.id]);
    await expect(
      withTenantSql(app.sql, a.id, (tx) => tx`delete from webhook_log_search_in_tenant where log_id = ${a.logs[0] as number}`),
    ).rejects.toThrow(/permission denied/);
    await expect(
      withTenantSql(app.sql, a.id, (tx) => tx`insert into webhook_log_search_in_tenant values (${b.id}, 1, 'x')`),
    ).rejects.toThrow(/permission denied/);
  });

  it('a one-tenant text search under RLS can use the trigram index: through the view, not on the table', async () => {
    // A tenant big enough for the plan to matter: 5,000 logs, one of them with the email searched.
    const c = await addTenant(admin, { slug: `opc-${randomUUID().slice(0, 8)}`, name: 'opc' });
    const needle = `needle-${marker}@example.com`;
    await admin.sql`
      insert into webhook_logs (tenant_id, source, event_type, dedupe_key, payload, status)
      select ${c.id}, 'stripe', 'checkout.session.completed', 'evt_c' || g,
             jsonb_build_object('customer_email', case when g = 2500 then ${needle}::text else 'person' || g || '@example.com' end),
             'processed'
      from generate_series(1, 5000) g`;
    const owner = createDatabase({ url: env.databaseUrl, role: 'owner', max: 1 });
    await owner.sql`analyze webhook_logs`;
    await owner.sql`analyze webhook_log_search`;
    await owner.close();
    let sent: { text: string; params: unknown[] } | null = null;
    const traced = postgres(env.databaseUrl, {
      max: 1,
      onnotice: () => {},
      connection: { role: 'mcb_app' },
      debug: (_c: number, text: string, params: unknown[]) => {
        sent = { text, params };
      },
    });
    try {
      const [found, throughView, onTable] = await traced.begin(async (tx) => {
        await tx`select set_config('app.tenant_id', ${c.id}, true)`;
        const page = await searchWebhookLogs(tx, { tenantId: c.id, q: needle });
        const query = sent as unknown as { text: string; params: unknown[] };
        // On a test-sized table, reading the tenant's rows and testing each is as cheap as the trigram
        // index; make testing a row dear, so the plan shows whether the index can be used at all.
        await tx`set local enable_seqscan = off`;
        await tx`set local cpu_operator_cost = 1`;
        const plan = async (text: string) =>
          (await tx.unsafe(`explain ${text}`, query.params as never[])).map((r) => r['QUERY PLAN']).join('\n');
        return [
          page.items.length,
          await plan(query.text),
          await plan(query.text.replace('webhook_log_search_in_tenant', 'webhook_log_search')),
        ];
      });
      expect(found).toBe(1);
      expect(throughView).toContain('webhook_log_search_trgm_idx');
      // The same statement on the table itself: its policy keeps LIKE off the index (why the view exists).
      expect(onTable).not.toContain('webhook_log_search_trgm_idx');
    } finally {
      await traced.end();
    }
  });
});

describe('replay reads one tenant under RLS and writes every reset under the log tenant', () => {
  it('a tenant replay previews and resets that tenant only', async () => {
    const deps = { ...dbs, enqueuer };
    const preview = await previewReplay(deps, { tenantId: a.id, status: 'failed' });
    expect(preview).toMatchObject({ matched: 1, replayable: 1, rejected: 0 });
    expect(preview.sample.map((l) => l.id)).toEqual([a.failed]);
    const summary = await replayWebhookLogs(deps, { tenantId: a.id, q: marker });
    expect(summary).toMatchObject({ matched: 4, replayed: 3, skippedCount: 1, skippedByReason: { rejected: 1 } });
    expect(summary.skipped).toEqual([{ id: a.rejected, reason: 'rejected' }]);
    const statuses = await admin.sql<{ tenant_id: string; status: string }[]>`
      select tenant_id, status from webhook_logs where id = any(${[...a.logs, ...b.logs]}::bigint[])`;
    expect(
      statuses
        .filter((r) => r.tenant_id === a.id)
        .map((r) => r.status)
        .sort(),
    ).toEqual(['received', 'received', 'received', 'rejected']);
    expect(
      statuses
        .filter((r) => r.tenant_id === b.id)
        .map((r) => r.status)
        .sort(),
    ).toEqual(['failed', 'processed', 'processed', 'rejected']);
    const jobs = await enqueuer.queueFor(a.id).getJobs(['waiting']);
    expect(jobs.map((j) => j.id).sort()).toEqual(
      a.logs
        .filter((id) => id !== a.rejected)
        .map(webhookJobId)
        .sort(),
    );
  });

  it('replay by ids across tenants resets each log under its own tenant and skips the rejected one', async () => {
    const summary = await replayWebhookLogIds({ ...dbs, enqueuer }, [b.failed, b.rejected, a.failed, 9_007_199_254_740_000]);
    expect(summary).toMatchObject({ matched: 3, replayed: 2, skippedCount: 1 });
    expect(summary.skipped).toEqual([{ id: b.rejected, reason: 'rejected' }]);
    const [row] = await admin.sql<{ status: string; enqueued: boolean }[]>`
      select status, enqueued_at is not null as enqueued from webhook_logs where id = ${b.failed}`;
    expect(row).toEqual({ status: 'received', enqueued: true });
    expect((await enqueuer.queueFor(b.id).getJobs(['waiting'])).map((j) => j.id)).toEqual([webhookJobId(b.failed)]);
  });
});
