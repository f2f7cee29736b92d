import { readFileSync } from 'node:fs';
import type { Source } from '@mcb/sources';
import { seededRandom, seededShuffle, testSeed } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, settledJobState } from './harness';

// Issue 12: every identifier a person was ever known by keeps matching after merges (SPEC §6.1–6.3),
// through the real receiver → queue → worker, each scenario delivered in several seeded shuffled orders
// (one log at a time, so the order is the processing order; TEST_SEED reproduces a run).
const seed = testSeed('identity scenarios (shuffled delivery orders)');
const random = seededRandom(seed);
const orders = 3;

const fixture = (source: string, name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../packages/sources/src/${source}/fixtures/${name}.json`, import.meta.url), 'utf8'));

let h: Harness;
beforeAll(async () => {
  h = await createHarness('ident', { WORKER_TENANT_CONCURRENCY: '4', WORKER_WEBHOOK_CONCURRENCY: '8' });
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

interface Delivery {
  source: Source;
  body: unknown;
}

const manychat = (id: string, extra: Record<string, unknown> = {}, eventType = 'contact_update'): Delivery => ({
  source: 'manychat',
  body: { subscriber: { id, ...extra }, event_type: eventType },
});
const ghl = (contactId: string, extra: Record<string, unknown> = {}, mcId?: string): Delivery => ({
  source: 'ghl',
  body: { contact_id: contactId, ...extra, customData: { event_type: 'form_filled', ...(mcId ? { MC_ID: mcId } : {}) } },
});
let stripeSeq = 0;
/** A paid Checkout session (Stripe's own object shape), with the given customer, email and phone. */
function stripePaid(opts: { session: string; customer?: string; email?: string; phone?: string; at: number }): Delivery {
  const body = structuredClone(fixture('stripe', 'checkout-session-completed-full')) as {
    id: string;
    created: number;
    data: { object: Record<string, unknown> };
  };
  body.id = `evt_ident_${opts.session}_${stripeSeq++}`;
  body.created = opts.at;
  const o = body.data.object;
  o.id = opts.session;
  o.customer = opts.customer ?? null;
  o.customer_email = null;
  o.payment_intent = `pi_${opts.session}`;
  o.customer_details = { ...(o.customer_details as object), email: opts.email ?? null, phone: opts.phone ?? null };
  return { source: 'stripe', body };
}

/** Funnel events as `type[@time]:source` — the time only where the provider gives one (Stripe), else it is the delivery's. */
interface Person {
  contacts: number;
  identities: string[];
  events: string[];
  payments: Array<{ id: string; status: string; linked: boolean }>;
  fields: Record<string, unknown>;
}

/** The tenant's people, independent of contact ids: what must be equal whatever the delivery order. */
async function people(tenantId: string): Promise<Person> {
  const contacts = await h.owner.sql<{ id: string }[]>`select id from contacts where tenant_id = ${tenantId} and merged_into_id is null`;
  const identities = await h.owner.sql<{ k: string }[]>`
    select i.kind || ':' || i.value as k from contact_identities i
    join contacts c on c.tenant_id = i.tenant_id and c.id = i.contact_id and c.merged_into_id is null
    where i.tenant_id = ${tenantId} order by 1`;
  const events = await h.owner.sql<{ e: string }[]>`
    select f.event_type || case when f.source = 'stripe' then '@' || to_char(f.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') else '' end
      || ':' || f.source as e
    from funnel_events f join contacts c on c.tenant_id = f.tenant_id and c.id = f.contact_id and c.merged_into_id is null
    where f.tenant_id = ${tenantId} order by 1`;
  const payments = await h.owner.sql<{ id: string; status: string; linked: boolean }[]>`
    select payment_event_id as id, status, contact_id is not null as linked from payments where tenant_id = ${tenantId} order by 1`;
  // Only the stage: "newest value wins" fields follow the delivery time when the provider sends none,
  // so a different delivery order may rightly keep a different one (SPEC §6.7).
  const [fields] = await h.owner.sql`
    select stage from contacts
    where tenant_id = ${tenantId} and merged_into_id is null order by first_seen_at limit 1`;
  return {
    contacts: contacts.length,
    identities: identities.map((r) => r.k),
    events: events.map((r) => r.e),
    payments: [...payments],
    fields: { ...(fields ?? {}) },
  };
}

/**
 * Delivers `history` in `orders` seeded shuffles (a tenant each), then `after` (the events that
 * carry only an old identifier); returns each order's people and prints the orders it tried.
 */
async function inShuffledOrders(name: string, history: Delivery[], after: Delivery[] = []): Promise<Person[]> {
  const results: Person[] = [];
  for (let n = 0; n < orders; n++) {
    const t = await h.makeTenant();
    const order = seededShuffle(
      history.map((_, i) => i),
      random,
    );
    const later = seededShuffle(
      after.map((_, i) => i),
      random,
    );
    console.info(`[seed ${seed}] ${name}: order ${order.join(',')} then ${later.join(',')}`);
    for (const i of order) {
      const d = history[i]!;
      const id = await h.deliver(t.id, d.source, d.body);
      const [log] = await h.waitForLogs([id]);
      expect(['processed', 'ignored'], `${name}: delivery ${i} → ${log?.status} ${log?.error_message}`).toContain(log?.status);
    }
    for (const i of later) {
      const d = after[i]!;
      const [log] = await h.waitForLogs([await h.deliver(t.id, d.source, d.body)]);
      expect(log?.status, `${name}: later delivery ${i}: ${log?.error_message}`).toBe('processed');
    }
    results.push(await people(t.id));
  }
  for (const r of results.slice(1)) expect(r).toEqual(results[0]);
  return results;
}

describe('identities survive every merge (receiver → queue → worker, seeded shuffles)', () => {
  it('two ManyChat subscribers of one person (Instagram, Messenger) merged, then an event for each old subscriber id → one contact', async () => {
    const [r] = await inShuffledOrders(
      'two subscribers',
      [
        manychat('sub-ig', { email: 'lena@example.com', first_name: 'Lena' }, 'contact_created'),
        manychat('sub-msg', { phone: '+15551230001' }, 'contact_created'),
        ghl('ghl-lena', { email: 'lena@example.com', phone: '+15551230001' }),
      ],
      [manychat('sub-ig', {}, 'link_sent'), manychat('sub-msg', {}, 'link_clicked')],
    );
    expect(r).toMatchObject({ contacts: 1, fields: { stage: 'form_submitted' } });
    expect(r!.identities).toEqual(
      expect.arrayContaining(['mc_id:sub-ig', 'mc_id:sub-msg', 'ghl_id:ghl-lena', 'email:lena@example.com', 'phone:+15551230001']),
    );
    expect(r!.events.filter((e) => e.startsWith('link_'))).toHaveLength(2);
  });

  it('two GHL contacts of one person merged by a ManyChat event, then an event for each old GHL id → one contact', async () => {
    const [r] = await inShuffledOrders(
      'two GHL ids',
      [
        ghl('ghl-a', { email: 'omar@example.com' }),
        ghl('ghl-b', { phone: '+15551230002' }),
        manychat('sub-omar', { email: 'omar@example.com', phone: '+15551230002' }, 'contact_created'),
      ],
      [ghl('ghl-a', { first_name: 'Omar' }), ghl('ghl-b', { last_name: 'K' })],
    );
    expect(r).toMatchObject({ contacts: 1 });
    expect(r!.identities).toEqual(expect.arrayContaining(['ghl_id:ghl-a', 'ghl_id:ghl-b', 'mc_id:sub-omar']));
  });

  it('two Stripe customers of one person merged, then a payment for each old customer alone → linked to the one contact', async () => {
    const [r] = await inShuffledOrders(
      'two Stripe customers',
      [
        manychat('sub-ivy', { email: 'ivy@example.com' }, 'contact_created'),
        manychat('sub-ivy2', { phone: '+15551230003' }, 'contact_created'),
        stripePaid({ session: 'cs_ivy_1', customer: 'cus_ivy_1', email: 'ivy@example.com', at: 1762000000 }),
        stripePaid({ session: 'cs_ivy_2', customer: 'cus_ivy_2', phone: '+15551230003', at: 1762100000 }),
        ghl('ghl-ivy', { email: 'ivy@example.com', phone: '+15551230003' }),
      ],
      [
        stripePaid({ session: 'cs_ivy_3', customer: 'cus_ivy_1', at: 1762200000 }),
        stripePaid({ session: 'cs_ivy_4', customer: 'cus_ivy_2', at: 1762300000 }),
      ],
    );
    expect(r).toMatchObject({ contacts: 1, fields: { stage: 'purchased' } });
    expect(r!.identities).toEqual(expect.arrayContaining(['stripe_customer_id:cus_ivy_1', 'stripe_customer_id:cus_ivy_2']));
    expect(r!.payments).toEqual(['cs_ivy_1', 'cs_ivy_2', 'cs_ivy_3', 'cs_ivy_4'].map((id) => ({ id, status: 'paid', linked: true })));
    expect(r!.events.filter((e) => e.startsWith('purchase_completed'))).toHaveLength(4);
  });

  it('a three-way merge (one GHL event ties a ManyChat, a GHL and a Perspective record) keeps every identifier of all three', async () => {
    const [r] = await inShuffledOrders(
      'three-way merge',
      [
        manychat('sub-noa', { email: 'noa@example.com' }, 'contact_created'),
        ghl('ghl-noa', { phone: '+15551230004' }),
        {
          source: 'perspective',
          body: { id: 'persp-noa', funnelName: 'Webinar', profile: { email: { value: 'noa.work@example.com' } }, values: {} },
        },
        ghl('ghl-noa', { email: 'noa.work@example.com' }, 'sub-noa'),
      ],
      [ghl('ghl-noa', { first_name: 'Noa' }), manychat('sub-noa', { first_name: 'Noa' })],
    );
    expect(r).toMatchObject({ contacts: 1 });
    expect(r!.identities).toEqual(
      expect.arrayContaining([
        'mc_id:sub-noa',
        'ghl_id:ghl-noa',
        'email:noa@example.com',
        'email:noa.work@example.com',
        'phone:+15551230004',
      ]),
    );
  });

  it('orphan payments are linked by phone and by Stripe customer id, with their funnel events at the payment time', async () => {
    const [r] = await inShuffledOrders('orphans by phone and customer', [
      // Known only by phone until ManyChat learns it.
      stripePaid({ session: 'cs_zed_phone', phone: '+15551230005', at: 1761000000 }),
      manychat('sub-zed', { phone: '+15551230005', email: 'zed@example.com' }, 'contact_created'),
      // Known only by Stripe customer until a later payment ties that customer to the email.
      stripePaid({ session: 'cs_zed_cus_only', customer: 'cus_zed', at: 1761100000 }),
      stripePaid({ session: 'cs_zed_cus_email', customer: 'cus_zed', email: 'zed@example.com', at: 1761200000 }),
    ]);
    expect(r).toMatchObject({ contacts: 1, fields: { stage: 'purchased' } });
    expect(r!.identities).toEqual(expect.arrayContaining(['phone:+15551230005', 'stripe_customer_id:cus_zed', 'email:zed@example.com']));
    expect(r!.payments).toEqual([
      { id: 'cs_zed_cus_email', status: 'paid', linked: true },
      { id: 'cs_zed_cus_only', status: 'paid', linked: true },
      { id: 'cs_zed_phone', status: 'paid', linked: true },
    ]);
    expect(r!.events).toEqual(
      expect.arrayContaining([
        'purchase_completed@2025-10-20T22:40:00:stripe',
        'purchase_completed@2025-10-22T02:26:40:stripe',
        'purchase_completed@2025-10-23T06:13:20:stripe',
      ]),
    );
  });

  it('a Stripe payment later disputed (then lost) and an ACH payment that fails: the newest status wins in any order', async () => {
    const paid = fixture('stripe', 'checkout-session-completed-full');
    const [r] = await inShuffledOrders('disputed and failed payments', [
      manychat('sub-dana', { email: 'dana.k@example.com' }, 'contact_created'),
      { source: 'stripe', body: paid },
      { source: 'stripe', body: fixture('stripe', 'charge-dispute-created') },
      { source: 'stripe', body: fixture('stripe', 'charge-dispute-closed') },
      { source: 'stripe', body: fixture('stripe', 'checkout-session-completed-unpaid') },
      { source: 'stripe', body: fixture('stripe', 'checkout-session-async-payment-failed') },
    ]);
    const sessionId = ((paid.data as { object: { id: string } }).object as { id: string }).id;
    // The ACH session was never paid, so nothing was booked for it; the card payment ends `dispute_lost`.
    expect(r!.payments).toEqual([{ id: sessionId, status: 'dispute_lost', linked: true }]);
    expect(r!.contacts).toBe(1);
  });

  it('a partly refunded payment later disputed: the dispute changes the sale, never the refund of it, in any order', async () => {
    const paid = fixture('stripe', 'checkout-session-completed-full');
    // A partial refund of the same charge (payment intent) that is then disputed and lost.
    const refund = structuredClone(fixture('stripe', 'charge-refunded')) as {
      data: { object: { amount_refunded: number; refunds: { data: Array<Record<string, unknown>> } } };
    };
    refund.data.object.amount_refunded = 50_000;
    refund.data.object.refunds.data[0]!.amount = 50_000;
    const [r] = await inShuffledOrders('refunded and disputed payment', [
      manychat('sub-dana', { email: 'dana.k@example.com' }, 'contact_created'),
      { source: 'stripe', body: paid },
      { source: 'stripe', body: refund },
      { source: 'stripe', body: fixture('stripe', 'charge-dispute-created') },
      { source: 'stripe', body: fixture('stripe', 'charge-dispute-closed') },
    ]);
    const sessionId = ((paid.data as { object: { id: string } }).object as { id: string }).id;
    expect(r!.payments).toEqual([
      { id: sessionId, status: 'dispute_lost', linked: true },
      { id: 're_1MoqxHLgUG5tbmjcYO7PFWn6', status: 'succeeded', linked: true },
    ]);
  });
});

describe('a dispute on the first payment of a Checkout subscription', () => {
  // Subscription-mode sessions carry no payment intent: the subscription's first invoice does, and a
  // dispute names only the intent. The sale is booked once, from the session, in any order.
  const firstIntent = 'pi_3Q0FirstLgUG5tbmjc1Abc';
  const disputeOnFirstInvoice = (name: string): Delivery => {
    const body = structuredClone(fixture('stripe', name)) as { data: { object: Record<string, unknown> } };
    body.data.object.payment_intent = firstIntent;
    body.data.object.amount = 4900;
    return { source: 'stripe', body };
  };

  it('lost: the session payment ends `dispute_lost`, one payment row, one purchase, whatever the order', async () => {
    const session = fixture('stripe', 'checkout-session-completed-subscription');
    const [r] = await inShuffledOrders('disputed subscription sale', [
      manychat('sub-maria', { email: 'maria.lopez@example.com' }, 'contact_created'),
      { source: 'stripe', body: session },
      { source: 'stripe', body: fixture('stripe', 'invoice-paid-subscription-create') },
      disputeOnFirstInvoice('charge-dispute-created'),
      disputeOnFirstInvoice('charge-dispute-closed'),
    ]);
    const sessionId = (session.data as { object: { id: string } }).object.id;
    expect(r!.payments).toEqual([{ id: sessionId, status: 'dispute_lost', linked: true }]);
    expect(r!.events.filter((e) => e.startsWith('purchase_completed'))).toHaveLength(1);
    expect(r!.contacts).toBe(1);
  });

  it('only opened: the sale is `disputed` whether the invoice came before or after the session', async () => {
    const session = fixture('stripe', 'checkout-session-completed-subscription');
    const [r] = await inShuffledOrders('open dispute on a subscription sale', [
      { source: 'stripe', body: session },
      { source: 'stripe', body: fixture('stripe', 'invoice-paid-subscription-create') },
      disputeOnFirstInvoice('charge-dispute-created'),
    ]);
    const sessionId = (session.data as { object: { id: string } }).object.id;
    expect(r!.payments).toEqual([{ id: sessionId, status: 'disputed', linked: false }]);
  });
});

describe("a tenant's phone_country (receiver → queue → worker)", () => {
  // The UK operator's report: Denefits' national customer_mobile never met the person's +44 number.
  const denefits = (code: string): Delivery => ({
    source: 'denefits',
    body: {
      webhook_type: 'contract.created',
      data: {
        contract: {
          contract_code: code,
          customer_email: 'olivia.pay@example.co.uk',
          customer_first_name: 'Olivia',
          customer_mobile: '07700900456',
          financed_amount: '2,400.00',
          downpayment_amount: 0,
          recurring_amount: '200.00',
          number_of_payments: 12,
          date_added: '2026-03-02T10:00:00.000Z',
        },
      },
    },
  });
  const olivia = manychat('mc-olivia', { email: 'olivia@example.co.uk', phone: '+44 7700 900456' }, 'contact_created');

  it('GB: the national Denefits number and the ManyChat +44 number are one person, in either order', async () => {
    for (const order of [
      [denefits('DNFGB1'), olivia],
      [olivia, denefits('DNFGB1')],
    ]) {
      const t = await h.makeTenant({ phone_country: 'GB' });
      for (const d of order) {
        const [log] = await h.waitForLogs([await h.deliver(t.id, d.source, d.body)]);
        expect(log?.status, log?.error_message ?? '').toBe('processed');
      }
      expect(await people(t.id)).toMatchObject({
        contacts: 1,
        identities: ['email:olivia.pay@example.co.uk', 'email:olivia@example.co.uk', 'mc_id:mc-olivia', 'phone:+447700900456'],
        payments: [{ id: 'DNFGB1_plan', status: 'active', linked: true }],
      });
    }
  });

  it('without a country the national number is left out (never +0…); set the country and replay: the payment is linked', async () => {
    const t = await h.makeTenant();
    const [denefitsLog] = await h.waitForLogs([await h.deliver(t.id, 'denefits', denefits('DNFGB2').body)]);
    await h.waitForLogs([await h.deliver(t.id, olivia.source, olivia.body)]);
    const [orphan] = await h.owner.sql<{ customer_phone: string | null; contact_id: string | null }[]>`
      select customer_phone, contact_id from payments where tenant_id = ${t.id}`;
    expect(orphan).toEqual({ customer_phone: null, contact_id: null });
    // What `mcb replay` does: the log back to received, its job enqueued; the worker reads the tenant's config anew.
    await h.owner.sql`update tenants set config = config || '{"phone_country":"GB"}'::jsonb where id = ${t.id}`;
    const job = await h.enqueuer.queueFor(t.id).getJob(`log-${denefitsLog!.id}`);
    expect(await settledJobState(job, 'completed')).toBe('completed');
    await h.owner.sql`update webhook_logs set status = 'received' where id = ${denefitsLog!.id}`;
    await h.enqueuer.rerun([{ tenantId: t.id, logId: denefitsLog!.id }]);
    await h.waitForLogs([denefitsLog!.id]);
    expect((await people(t.id)).payments).toEqual([{ id: 'DNFGB2_plan', status: 'active', linked: true }]);
  });
});
