import { readFileSync } from 'node:fs';
import { createDatabase, type Database } from '@mcb/db';
import { testEnv } from '@mcb/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyLogs } from './apply';

// Migration 0013 fills contact_identities from data written before it existed. The test database is
// already migrated, so the test writes contacts the old way (no identity rows) for a fresh tenant and
// runs the migration's data statement again (it is idempotent: ON CONFLICT DO NOTHING).
const migration = readFileSync(new URL('../../../drizzle/0013_contact_identities.sql', import.meta.url), 'utf8');
const fill = migration.slice(migration.indexOf('WITH RECURSIVE chain'));

let owner: Database;
beforeAll(() => {
  owner = createDatabase({ url: testEnv().databaseUrl, role: 'owner', max: 2 });
});
afterAll(async () => {
  await owner.close();
});

it('existing contacts: columns, known emails/phones, lineage and linked payments become identities of the live survivor', async () => {
  const sql = owner.sql;
  const [t] = await sql<
    { id: string }[]
  >`insert into tenants (slug, name) values (${`mig-${Date.now().toString(36)}`}, 'Mig') returning id`;
  const tenant = t!.id;
  const at = (d: number) => new Date(Date.UTC(2026, 0, d));
  // survivor ← loser ← older loser (a merge chain), as mergeInto left them: provider ids nulled.
  const [survivor] = await sql<{ id: string }[]>`
    insert into contacts (tenant_id, mc_id, email_primary, phone, known_emails, known_phones, first_seen_at)
    values (${tenant}, 'mc-live', 'Live@X.io', '+15550000001', '{old@x.io}', '{+15550000009}', ${at(1)}) returning id`;
  const [loser] = await sql<{ id: string }[]>`
    insert into contacts (tenant_id, merged_into_id, email_booking, first_seen_at) values (${tenant}, ${survivor!.id}, 'book@x.io', ${at(2)}) returning id`;
  const [older] = await sql<{ id: string }[]>`
    insert into contacts (tenant_id, merged_into_id, first_seen_at) values (${tenant}, ${loser!.id}, ${at(3)}) returning id`;
  // Lineage still knows the provider ids the merges nulled (it was moved to the survivor, or not).
  await sql`
    insert into contact_field_changes (tenant_id, contact_id, field, old_value, new_value) values
      (${tenant}, ${survivor!.id}, 'mc_id', null, 'mc-messenger'),
      (${tenant}, ${older!.id}, 'ghl_id', null, 'ghl-old'),
      (${tenant}, ${older!.id}, 'first_name', null, 'Not an identity')`;
  await sql`
    insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at, stripe_customer_id)
    values (${tenant}, ${survivor!.id}, 'cs_mig', 'stripe', 'buy_in_full', 'full_purchase', 100, 'paid', ${at(4)}, 'cus_mig')`;
  // Another live person sharing an email: the older record keeps it.
  await sql`insert into contacts (tenant_id, mc_id, email_primary, first_seen_at) values (${tenant}, 'mc-other', 'live@x.io', ${at(5)})`;

  await sql.unsafe(fill);
  await sql.unsafe(fill);

  const rows = await sql<{ kind: string; value: string; contact_id: string; merged_from_id: string | null; source: string }[]>`
    select kind, value, contact_id, merged_from_id, source from contact_identities where tenant_id = ${tenant} order by kind, value`;
  const owners = Object.fromEntries(rows.map((r) => [`${r.kind}:${r.value}`, r.contact_id]));
  expect(Object.keys(owners).sort()).toEqual(
    [
      'email:book@x.io',
      'email:live@x.io',
      'email:old@x.io',
      'ghl_id:ghl-old',
      'mc_id:mc-live',
      'mc_id:mc-messenger',
      'mc_id:mc-other',
      'phone:+15550000001',
      'phone:+15550000009',
      'stripe_customer_id:cus_mig',
    ].sort(),
  );
  const other = rows.find((r) => r.value === 'mc-other')!.contact_id;
  for (const [key, id] of Object.entries(owners)) expect(id, key).toBe(key === 'mc_id:mc-other' ? other : survivor!.id);
  expect(rows.find((r) => r.value === 'ghl-old')).toMatchObject({ merged_from_id: older!.id, source: 'migration' });
  expect(rows.find((r) => r.value === 'book@x.io')).toMatchObject({ merged_from_id: loser!.id });
});

// Migration 0029: session payments stored before 0027 get their subscription id from their log, so a
// first invoice replayed afterwards hands them its intent and a dispute of the sale reaches them.
it('a subscription sale stored before 0027 gets its subscription id; its first invoice, replayed, then hands over the intent', async () => {
  const backfill = readFileSync(new URL('../../../drizzle/0029_payments_subscription_backfill.sql', import.meta.url), 'utf8')
    .split('--> statement-breakpoint')
    .map((s) => s.trim())
    .filter(Boolean);
  const sql = owner.sql;
  const [t] = await sql<{ id: string }[]>`insert into tenants (slug, name) values (${`bf-${Date.now().toString(36)}`}, 'Bf') returning id`;
  const tenant = t!.id;
  const log = async (dedupeKey: string, payload: unknown) =>
    (
      await sql<{ id: number }[]>`
        insert into webhook_logs (tenant_id, source, dedupe_key, status, payload)
        values (${tenant}, 'stripe', ${dedupeKey}, 'processed', ${sql.json(payload as never)}) returning id`
    )[0]!.id;
  const session = (sub: unknown) => ({
    type: 'checkout.session.completed',
    data: { object: { id: 'cs_x', mode: 'subscription', subscription: sub } },
  });
  const sold = await log('evt_sold', session('sub_bf'));
  const expanded = await log('evt_expanded', session({ id: 'sub_obj' }));
  const pay = (id: string, logId: number, type = 'buy_in_full') => sql`
    insert into payments (tenant_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at, webhook_log_id, stripe_session_id)
    values (${tenant}, ${id}, 'stripe', ${type}, 'full_purchase', 4900, 'paid', now(), ${logId}, 'cs_x')`;
  await pay('cs_bf', sold);
  await pay('cs_expanded', expanded);
  await pay('re_bf', sold, 'refund');

  for (let run = 0; run < 2; run++)
    await sql.begin(async (tx) => {
      for (const statement of backfill) await tx.unsafe(statement);
    });
  const rows = await sql<{ payment_event_id: string; stripe_subscription_id: string | null }[]>`
    select payment_event_id, stripe_subscription_id from payments where tenant_id = ${tenant} order by 1`;
  expect([...rows]).toEqual([
    { payment_event_id: 'cs_bf', stripe_subscription_id: 'sub_bf' },
    { payment_event_id: 'cs_expanded', stripe_subscription_id: null },
    { payment_event_id: 're_bf', stripe_subscription_id: null },
  ]);

  // The first invoice, ignored before 0027, replayed now; then a dispute of its intent.
  const app = createDatabase({ url: testEnv().databaseUrl, role: 'app', max: 2 });
  try {
    const ctx = async (key: string) => ({ tenantId: tenant, logId: await log(key, {}), receivedAt: new Date(), dedupeKey: key });
    await applyLogs(app.sql, tenant, [
      {
        ctx: await ctx('evt_invoice'),
        events: [
          {
            source: 'stripe',
            eventType: 'invoice.paid',
            occurredAt: new Date().toISOString(),
            stripeFirstInvoice: { subscriptionId: 'sub_bf', invoiceId: 'in_bf', paymentIntentId: 'pi_bf' },
          },
        ],
        status: 'processed',
        eventType: null,
        reason: null,
      },
    ]);
    await applyLogs(app.sql, tenant, [
      {
        ctx: await ctx('evt_dispute'),
        events: [
          {
            source: 'stripe',
            eventType: 'charge.dispute.created',
            occurredAt: new Date().toISOString(),
            paymentStatusUpdates: [{ stripePaymentIntentId: 'pi_bf', status: 'disputed', occurredAt: new Date().toISOString() }],
          },
        ],
        status: 'processed',
        eventType: null,
        reason: null,
      },
    ]);
  } finally {
    await app.close();
  }
  const [sale] =
    await sql`select stripe_payment_intent_id, status from payments where tenant_id = ${tenant} and payment_event_id = 'cs_bf'`;
  expect(sale).toEqual({ stripe_payment_intent_id: 'pi_bf', status: 'disputed' });
});
