import type { Database } from '@mcb/db';

/** The period every seeded row falls in (or just outside): `?since=2003-03-01&until=2003-04-01`. */
export const statsWindow = { since: '2003-03-01', until: '2003-04-01' } as const;

const at = (iso: string) => new Date(iso);

/**
 * Two tenants in different currencies, with figures worked out by hand (see the expectations in
 * `stats-page.int.test.ts`): `<slug>-gbp` (pounds; its name is a script tag) and `<slug>-usd` (dollars).
 * Every dated row is in March 2003 unless it is there to be left out; `waiting`, `last event` and
 * `contacts total` are all-time figures.
 */
export async function seedStatsTenants(admin: Database, prefix: string) {
  const sql = admin.sql;
  const tenant = async (slug: string, name: string, currency: string) => {
    const [row] = await sql<{ id: string }[]>`
      insert into tenants (slug, name, config) values (${slug}, ${name}, ${sql.json({ currency })}) returning id`;
    return { id: (row as { id: string }).id, slug, name };
  };
  const gbp = await tenant(`${prefix}-gbp`, '<script>alert(1)</script>', 'gbp');
  const usd = await tenant(`${prefix}-usd`, 'Bravo & Co "Dollars"', 'usd');

  let n = 0;
  const log = (t: { id: string }, status: string, receivedAt: string, extra: { retryAt?: string; source?: string } = {}) => sql`
    insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, status, error_message, retry_at, received_at, enqueued_at)
    values (${t.id}, ${extra.source ?? 'stripe'}, 'checkout.session.completed', ${`evt_stats_${n++}`}, '{}'::jsonb, '{}'::jsonb,
            ${status}, ${status === 'failed' ? 'boom' : null}, ${extra.retryAt ? at(extra.retryAt) : null}, ${at(receivedAt)},
            ${status === 'received' ? null : at(receivedAt)})`;
  const contact = async (t: { id: string }, createdAt: string, mergedInto: string | null = null) => {
    const [row] = await sql<{ id: string }[]>`
      insert into contacts (tenant_id, created_at, merged_into_id) values (${t.id}, ${at(createdAt)}, ${mergedInto}) returning id`;
    return (row as { id: string }).id;
  };
  const event = async (t: { id: string }, contactId: string, type: string, occurredAt: string) => {
    const [row] = await sql<{ id: string }[]>`
      insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id)
      values (${t.id}, ${contactId}, ${type}, ${at(occurredAt)}, 'stripe', ${`fe_${n++}`}) returning id`;
    return (row as { id: string }).id;
  };
  const pay = (t: { id: string }, category: string, cents: number, currency: string, status: string, paidAt: string) => sql`
    insert into payments (tenant_id, payment_event_id, source, payment_type, category, amount_cents, currency, status, paid_at)
    values (${t.id}, ${`pay_${n++}`}, 'stripe', 'buy_in_full', ${category}, ${cents}, ${currency}, ${status}, ${at(paidAt)})`;
  const capi = (t: { id: string }, contactId: string, eventId: string, name: string, status: string, createdAt: string) => sql`
    insert into capi_sends (tenant_id, funnel_event_id, contact_id, event_name, event_id, event_time, status, created_at)
    values (${t.id}, ${eventId}, ${contactId}, ${name}, ${`capi_${n++}`}, ${at(createdAt)}, ${status}, ${at(createdAt)})`;

  // Pounds: 9 logs in March (3 processed, 2 failed of which 1 will retry, 1 ignored, 1 rejected, 1 waiting,
  // 1 processing), 1 in February (outside). The newest accepted one is the processing log of 2003-03-20.
  for (const [status, when] of [
    ['processed', '2003-03-10T09:00:00Z'],
    ['processed', '2003-03-10T09:05:00Z'],
    ['processed', '2003-03-11T10:00:00Z'],
    ['failed', '2003-03-12T11:00:00Z'],
    ['ignored', '2003-03-13T12:00:00Z'],
    ['received', '2003-03-14T13:00:00Z'],
    ['processing', '2003-03-20T14:30:00Z'],
    ['processed', '2003-02-20T08:00:00Z'],
  ] as const)
    await log(gbp, status, when);
  await log(gbp, 'failed', '2003-03-15T15:00:00Z', { retryAt: '2003-03-15T15:05:00Z', source: 'manychat' });
  // A forged delivery, later than every accepted one: counted as rejected, never as the last event.
  await log(gbp, 'rejected', '2003-03-25T00:00:00Z');
  // Contacts: 2 new in March, 1 from 2002, 1 merged into another (never counted).
  const ann = await contact(gbp, '2003-03-10T09:00:00Z');
  const ben = await contact(gbp, '2003-03-11T10:00:00Z');
  await contact(gbp, '2002-06-01T00:00:00Z');
  await contact(gbp, '2003-03-12T00:00:00Z', ann);
  // 3 funnel events of 2 contacts in March, 1 in April (outside).
  const annLead = await event(gbp, ann, 'form_submitted', '2003-03-10T09:00:00Z');
  const annBuy = await event(gbp, ann, 'purchase_completed', '2003-03-10T09:05:00Z');
  const benLead = await event(gbp, ben, 'form_submitted', '2003-03-11T10:00:00Z');
  await event(gbp, ben, 'appointment_scheduled', '2003-04-02T10:00:00Z');
  // Cash: £497 (disputed) + £100 − £25 refund = £572.00; a failed charge and a plan are no cash; other currencies apart.
  await pay(gbp, 'full_purchase', 49_700, 'gbp', 'disputed', '2003-03-10T09:05:00Z');
  await pay(gbp, 'deposit', 10_000, 'gbp', 'paid', '2003-03-11T10:00:00Z');
  await pay(gbp, 'refund', -2_500, 'gbp', 'refunded', '2003-03-12T10:00:00Z');
  await pay(gbp, 'full_purchase', 7_000, 'gbp', 'failed', '2003-03-12T11:00:00Z');
  await pay(gbp, 'payment_plan', 900_000, 'gbp', 'active', '2003-03-12T12:00:00Z');
  await pay(gbp, 'full_purchase', 2_500, 'usd', 'paid', '2003-03-13T10:00:00Z');
  await pay(gbp, 'deposit', 5_000, 'jpy', 'paid', '2003-03-13T11:00:00Z');
  await pay(gbp, 'deposit', 99_900, 'gbp', 'paid', '2003-04-02T10:00:00Z');
  // Conversions API: 2 sent, 1 refused in March; 1 pending now.
  await capi(gbp, ann, annLead, 'Lead', 'sent', '2003-03-10T09:01:00Z');
  await capi(gbp, ann, annBuy, 'Purchase', 'sent', '2003-03-10T09:06:00Z');
  await capi(gbp, ben, benLead, 'Lead', 'failed', '2003-03-11T10:01:00Z');
  await capi(gbp, ann, annBuy, 'CompleteRegistration', 'pending', '2003-03-10T09:07:00Z');

  // Dollars: 3 processed, 1 failed (gave up), 2 rejected in March.
  for (const [status, when] of [
    ['processed', '2003-03-05T08:00:00Z'],
    ['processed', '2003-03-06T08:00:00Z'],
    ['processed', '2003-03-07T08:00:00Z'],
    ['failed', '2003-03-08T08:00:00Z'],
    ['rejected', '2003-03-08T09:00:00Z'],
    ['rejected', '2003-03-08T10:00:00Z'],
  ] as const)
    await log(usd, status, when);
  const cal = await contact(usd, '2003-03-05T08:00:00Z');
  await event(usd, cal, 'form_submitted', '2003-03-05T08:00:00Z');
  await event(usd, cal, 'purchase_completed', '2003-03-07T08:00:00Z');
  // Cash: $2,500 + $300 recurring = $2,800.00; £10 in another currency, under a lost dispute.
  await pay(usd, 'full_purchase', 250_000, 'usd', 'paid', '2003-03-07T08:00:00Z');
  await pay(usd, 'recurring', 30_000, 'usd', 'paid', '2003-03-08T08:00:00Z');
  await pay(usd, 'deposit', 1_000, 'gbp', 'dispute_lost', '2003-03-08T09:00:00Z');

  return { gbp, usd };
}
