import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness';

// SPEC §6.5 (concurrency) and §6.7 (order independence) through receiver, queue and two worker runtimes.
let h: Harness;
beforeAll(async () => {
  h = await createHarness('conc', { WORKER_TENANT_CONCURRENCY: '10', WORKER_WEBHOOK_CONCURRENCY: '20' });
  await h.startWorker();
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

it('200 concurrent events for the same new person (various ids and emails) → exactly one contact', async () => {
  const t = await h.makeTenant();
  const emails = ['Sam.Lee@example.com', 'sam.booking@example.com', 'SAM.PAY@example.com'];
  const phone = '+15557770123';
  const bodies = Array.from({ length: 200 }, (_, i) => {
    const email = emails[i % 3];
    switch (i % 4) {
      case 0:
        return {
          source: 'manychat' as const,
          body: { subscriber: { id: 'mc-sam', email, last_input_text: `m${i}` }, event_type: 'contact_update' },
        };
      case 1:
        return {
          source: 'ghl' as const,
          body: {
            contact_id: 'ghl-sam',
            email,
            phone,
            delivery: i,
            customData: { event_type: 'form_filled', MC_ID: i % 8 === 1 ? 'mc-sam' : undefined },
          },
        };
      case 2:
        return {
          source: 'perspective' as const,
          body: { id: `persp-${i}`, trigger: 'conversion', funnelName: 'F', profile: { email: { value: email } }, values: { phone } },
        };
      default:
        return {
          source: 'manychat' as const,
          body: { subscriber: { id: 'mc-sam', phone, last_input_text: `p${i}` }, event_type: 'link_sent' },
        };
    }
  });
  const ids = await Promise.all(bodies.map((b) => h.deliver(t.id, b.source, b.body)));
  const logs = await h.waitForLogs(ids, 60_000);
  expect(logs.filter((l) => l.status !== 'processed')).toEqual([]);
  const contacts = await h.owner.sql`select id, mc_id, ghl_id, phone from contacts where tenant_id = ${t.id} and merged_into_id is null`;
  expect(contacts).toHaveLength(1);
  expect(contacts[0]).toMatchObject({ mc_id: 'mc-sam', ghl_id: 'ghl-sam', phone });
  const [events] = await h.owner.sql<{ n: number; owners: number }[]>`
    select count(*)::int as n, count(distinct contact_id)::int as owners from funnel_events where tenant_id = ${t.id}`;
  expect(events).toMatchObject({ n: 200, owners: 1 });
});

it('processing the same logs in shuffled orders gives the same final contact (§6.7)', async () => {
  const base = Date.parse('2026-11-01T10:00:00Z');
  const at = (h_: number) => new Date(base + h_ * 3600_000);
  // Each delivery with its own receipt time (the event time when the provider sends none).
  const deliveries = [
    {
      source: 'manychat' as const,
      at: at(0),
      body: {
        subscriber: {
          id: 'mc-o',
          first_name: 'Olly',
          email: 'olly@example.com',
          custom_fields: { AD_ID: '120200000000000001', source: 'instagram', MCB_LEAD: true },
        },
        event_type: 'contact_created',
      },
    },
    {
      source: 'manychat' as const,
      at: at(1),
      body: {
        subscriber: { id: 'mc-o', first_name: 'Oliver', custom_fields: { AD_ID: '120200000000000002', source: 'facebook' } },
        event_type: 'dm_qualified',
      },
    },
    {
      source: 'ghl' as const,
      at: at(2),
      body: {
        contact_id: 'g-o',
        email: 'olly.book@example.com',
        phone: '+15550001111',
        customData: { event_type: 'meeting_booked', MC_ID: 'mc-o' },
      },
    },
    {
      source: 'ghl' as const,
      at: at(3),
      body: { contact_id: 'g-o', email: 'oliver.book@example.com', customData: { event_type: 'meeting_attended' } },
    },
    {
      source: 'manychat' as const,
      at: at(4),
      body: { subscriber: { id: 'mc-o', first_name: '', email: 'oliver@example.com' }, event_type: 'contact_update' },
    },
    {
      source: 'perspective' as const,
      at: at(5),
      body: {
        id: 'p-o',
        trigger: 'conversion',
        funnelName: 'F',
        profile: { email: { value: 'olly@example.com' }, firstName: { value: 'Ollie' } },
      },
    },
  ];
  const finals: unknown[] = [];
  for (let round = 0; round < 4; round++) {
    const t = await h.makeTenant();
    const order = deliveries.map((_, i) => i);
    if (round === 1) order.reverse();
    if (round >= 2) order.sort(() => Math.random() - 0.5);
    const ids: number[] = [];
    for (const i of order) {
      const d = deliveries[i]!;
      ids.push(await h.store(t.id, d.source, d.body, { receivedAt: d.at }));
    }
    // One at a time in this round's order (the queue is FIFO per tenant; concurrency would reorder further).
    for (const id of ids) {
      await h.enqueuer.enqueue([{ tenantId: t.id, logId: id }]);
      await h.waitForLogs([id]);
    }
    const [c] = await h.owner.sql`
      select mc_id, ghl_id, email_primary, email_booking, email_payment, phone, first_name, stage, source, ad_id, first_seen_at
      from contacts where tenant_id = ${t.id} and merged_into_id is null`;
    const events = await h.owner
      .sql`select event_type, occurred_at from funnel_events where tenant_id = ${t.id} order by occurred_at, event_type`;
    finals.push({
      contact: c,
      events: [...events],
      count: (await h.owner.sql`select 1 from contacts where tenant_id = ${t.id} and merged_into_id is null`).length,
    });
  }
  for (const f of finals.slice(1)) expect(f).toEqual(finals[0]);
  expect(finals[0]).toMatchObject({
    count: 1,
    contact: {
      mc_id: 'mc-o',
      ghl_id: 'g-o',
      first_name: 'Ollie',
      email_primary: 'olly@example.com',
      email_booking: 'oliver.book@example.com',
      ad_id: '120200000000000001',
      source: 'instagram',
      stage: 'meeting_held',
    },
  });
});
