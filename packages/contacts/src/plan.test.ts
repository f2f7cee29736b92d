import type { NormalizedEvent } from '@mcb/sources';
import { seededRandom, seededShuffle, testSeed } from '@mcb/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Identity, identityKey, identityOf } from './identities';
import { type ContactRecord, identitiesOfEvents, type OrphanPayment, type PlanItem, planBatch, type WritePlan } from './plan';

const seed = testSeed('contacts planner properties');
fc.configureGlobal({ seed });

/**
 * The tables the planner's writes land in, kept in memory so plans can be chained in a property:
 * `read` gives exactly what the SQL read step gives (live contacts holding any of the identifiers,
 * all their identities, the orphans matching them) and `write` does what the SQL write step does.
 */
class Tables {
  contacts = new Map<string, ContactRecord & { mergedInto: string | null }>();
  identities = new Map<string, { id: Identity; contactId: string }>();
  payments = new Map<string, OrphanPayment & { contactId: string | null }>();
  private ids = 0;

  read(ids: Identity[]) {
    const hit = new Set<string>();
    for (const id of ids) {
      const owner = this.identities.get(identityKey(id));
      if (owner && !this.contacts.get(owner.contactId)?.mergedInto) hit.add(owner.contactId);
    }
    // Orphans are chased through the identifiers they share (as the SQL read step does).
    const wanted = new Set(ids.map(identityKey));
    const orphanIds = (p: OrphanPayment) =>
      [
        identityOf('email', p.customerEmail),
        identityOf('phone', p.customerPhone),
        identityOf('stripe_customer_id', p.stripeCustomerId),
      ].filter((i): i is Identity => i !== null);
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of this.payments.values()) {
        if (p.contactId !== null || !orphanIds(p).some((i) => wanted.has(identityKey(i)))) continue;
        for (const i of orphanIds(p))
          if (!wanted.has(identityKey(i))) {
            wanted.add(identityKey(i));
            grew = true;
          }
      }
    }
    return {
      contacts: [...hit].map((id) => structuredClone(this.contacts.get(id) as ContactRecord)),
      identities: [...this.identities.values()].filter((i) => hit.has(i.contactId)).map((i) => ({ ...i.id, contactId: i.contactId })),
      orphans: [...this.payments.values()]
        .filter((p) => p.contactId === null)
        .filter((p) => orphanIds(p).some((i) => wanted.has(identityKey(i))))
        .map(({ contactId: _c, ...o }) => structuredClone(o)),
      firstInvoices: [],
      invoicePayments: [],
    };
  }

  write(plan: WritePlan) {
    for (const m of plan.merges) {
      const loser = this.contacts.get(m.loserId)!;
      loser.mergedInto = m.survivorId;
      loser.state.values = { ...loser.state.values, mc_id: null, ghl_id: null };
      for (const i of this.identities.values()) if (i.contactId === m.loserId) i.contactId = m.survivorId;
      for (const p of this.payments.values()) if (p.contactId === m.loserId) p.contactId = m.survivorId;
    }
    for (const c of [...plan.inserts, ...plan.updates]) {
      const previous = this.contacts.get(c.id);
      this.contacts.set(c.id, {
        id: c.id,
        createdAt: previous?.createdAt ?? new Date(2030, 0, 1, 0, 0, 0, this.ids++),
        firstSeenAt: c.firstSeenAt,
        stage: c.stage,
        state: { values: { ...c.values }, tags: { ...c.tags }, meta: { ...c.meta } },
        mergedInto: c.mergedIntoId,
      });
    }
    for (const i of plan.identities) {
      const key = identityKey(i);
      if (!this.identities.has(key)) this.identities.set(key, { id: { kind: i.kind, value: i.value }, contactId: i.contactId });
    }
    for (const p of plan.payments) {
      if (this.payments.has(p.payment.paymentEventId)) continue;
      this.payments.set(p.payment.paymentEventId, {
        paymentEventId: p.payment.paymentEventId,
        source: p.payment.source,
        funnelEvent: p.payment.funnelEvent ?? null,
        paidAt: p.paidAt,
        webhookLogId: p.logId,
        customerEmail: p.payment.customerEmail ?? null,
        customerPhone: p.payment.customerPhone ?? null,
        stripeCustomerId: p.payment.stripeCustomerId ?? null,
        contactId: p.contactId,
      });
    }
    for (const l of plan.orphanLinks) {
      const p = this.payments.get(l.paymentEventId);
      if (p && p.contactId === null) p.contactId = l.contactId;
    }
  }

  apply(items: PlanItem[]): WritePlan {
    const { plan } = planBatch(this.read(identitiesOfEvents(items.flatMap((i) => i.events))), items, {
      newId: () => `c${String(this.ids++).padStart(6, '0')}`,
      now: new Date(2030, 0, 1),
    });
    this.write(plan);
    return plan;
  }

  /** Live people: the set of identity keys each holds, with its display values and linked payments. */
  people() {
    const out = new Map<string, { ids: string[]; values: Record<string, unknown>; payments: string[] }>();
    for (const c of this.contacts.values()) if (!c.mergedInto) out.set(c.id, { ids: [], values: c.state.values, payments: [] });
    for (const [key, i] of this.identities) out.get(i.contactId)?.ids.push(key);
    for (const p of this.payments.values()) if (p.contactId) out.get(p.contactId)?.payments.push(p.paymentEventId);
    return [...out.values()]
      .map((p) => ({ ...p, ids: p.ids.sort(), payments: p.payments.sort() }))
      .sort((a, b) => (a.ids.join('|') < b.ids.join('|') ? -1 : 1));
  }

  orphans(): string[] {
    return [...this.payments.values()]
      .filter((p) => !p.contactId)
      .map((p) => p.paymentEventId)
      .sort();
  }
}

// A small universe of identifiers, so events collide: two subscribers and two GHL ids per person are likely.
const mcIds = ['mc1', 'mc2', 'mc3', 'mc4'];
const ghlIds = ['g1', 'g2', 'g3'];
const emails = ['a@x.io', 'B@x.io', 'c@x.io', 'd@x.io'];
const phones = ['+15550000001', '+15550000002', '+15550000003'];
const customers = ['cus_1', 'cus_2'];

interface Spec {
  kind: 'manychat' | 'ghl' | 'stripe';
  mc?: string;
  ghl?: string;
  email?: string;
  phone?: string;
  customer?: string;
  name?: string;
  day: number;
}

const specArb: fc.Arbitrary<Spec> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('manychat' as const),
      mc: fc.constantFrom(...mcIds),
      email: fc.constantFrom(...emails),
      phone: fc.constantFrom(...phones),
      name: fc.constantFrom('Ann', 'Bea', 'Cy'),
      day: fc.integer({ min: 1, max: 9 }),
    },
    { requiredKeys: ['kind', 'mc', 'day'] },
  ),
  fc.record(
    {
      kind: fc.constant('ghl' as const),
      ghl: fc.constantFrom(...ghlIds),
      mc: fc.constantFrom(...mcIds),
      email: fc.constantFrom(...emails),
      phone: fc.constantFrom(...phones),
      name: fc.constantFrom('Ann', 'Bea', 'Cy'),
      day: fc.integer({ min: 1, max: 9 }),
    },
    { requiredKeys: ['kind', 'ghl', 'day'] },
  ),
  fc.record(
    {
      kind: fc.constant('stripe' as const),
      email: fc.constantFrom(...emails),
      phone: fc.constantFrom(...phones),
      customer: fc.constantFrom(...customers),
      day: fc.integer({ min: 1, max: 9 }),
    },
    { requiredKeys: ['kind', 'day'] },
  ),
);

function eventOf(s: Spec, n: number): NormalizedEvent {
  const at = `2026-01-0${s.day}T00:00:00.000Z`;
  if (s.kind === 'stripe') {
    return {
      source: 'stripe',
      eventType: 'checkout.session.completed',
      occurredAt: at,
      contact: { identity: { emails: s.email ? [s.email] : [], phone: s.phone, stripeCustomerId: s.customer }, fields: {} },
      payments: [
        {
          paymentEventId: `cs_${n}`,
          source: 'stripe',
          paymentType: 'buy_in_full',
          category: 'full_purchase',
          amountCents: 1000,
          currency: 'usd',
          status: 'paid',
          customerEmail: s.email,
          customerPhone: s.phone,
          stripeCustomerId: s.customer,
          paidAt: at,
          funnelEvent: 'purchase_completed',
        },
      ],
    };
  }
  const fields = {
    mcId: s.mc,
    ghlId: s.ghl,
    phone: s.phone,
    firstName: s.name,
    [s.kind === 'ghl' ? 'emailBooking' : 'emailPrimary']: s.email,
  };
  return {
    source: s.kind,
    eventType: 'x',
    occurredAt: at,
    contact: { identity: { mcId: s.mc, ghlId: s.ghl, emails: s.email ? [s.email] : [], phone: s.phone }, fields },
    funnelEvent: { type: 'contact_updated', occurredAt: at },
  };
}

/** Log ids are fixed per event (its delivery), whatever order the worker processes them in. */
function itemsOf(specs: Spec[]): PlanItem[] {
  return specs.map((s, n) => ({
    ctx: { tenantId: 't', logId: n + 1, receivedAt: new Date('2026-02-01T00:00:00Z'), dedupeKey: `k${n}` },
    events: [eventOf(s, n)],
    status: 'processed',
    eventType: null,
    reason: null,
  }));
}

/** The people the events describe: identifiers that appeared together (transitively) are one person. */
function expectedGroups(specs: Spec[]): string[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    const p = parent.get(x) ?? x;
    if (p === x) return x;
    const root = find(p);
    parent.set(x, root);
    return root;
  };
  const ids = (s: Spec) =>
    [
      identityOf('mc_id', s.mc),
      identityOf('ghl_id', s.ghl),
      identityOf('email', s.email),
      identityOf('phone', s.phone),
      identityOf('stripe_customer_id', s.customer),
    ]
      .filter((i): i is Identity => i !== null)
      .map(identityKey);
  // A payment joins people only when it (or a later person) links it: fold payments in until nothing changes.
  const people = specs.filter((s) => s.kind !== 'stripe');
  const known = new Set<string>();
  for (const s of people) {
    const [first, ...rest] = ids(s);
    for (const k of ids(s)) known.add(k);
    for (const k of rest) parent.set(find(k), find(first!));
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of specs.filter((x) => x.kind === 'stripe')) {
      const keys = ids(s);
      if (!keys.some((k) => known.has(k))) continue;
      for (const k of keys) {
        if (!known.has(k)) changed = true;
        known.add(k);
        if (find(k) !== find(keys[0]!)) {
          parent.set(find(k), find(keys[0]!));
          changed = true;
        }
      }
    }
  }
  const groups = new Map<string, string[]>();
  for (const k of known) groups.set(find(k), [...(groups.get(find(k)) ?? []), k]);
  return [...groups.values()].map((g) => g.sort()).sort((a, b) => (a.join('|') < b.join('|') ? -1 : 1));
}

const specsArb = fc.array(specArb, { minLength: 1, maxLength: 14 });

describe('planBatch (pure step) — properties', () => {
  it('every identifier a person was known by keeps matching: one live contact per linked group, whatever the order', () => {
    fc.assert(
      fc.property(specsArb, fc.integer(), (specs, shuffleSeed) => {
        const items = itemsOf(specs);
        const tables = new Tables();
        for (const item of seededShuffle(items, seededRandom(shuffleSeed))) tables.apply([item]);
        const people = tables.people();
        expect(people.map((p) => p.ids)).toEqual(expectedGroups(specs));
        // Every payment whose person is known is linked; the rest wait as orphans.
        const linked = people.flatMap((p) => p.payments).length;
        expect(linked + tables.orphans().length).toBe(specs.filter((s) => s.kind === 'stripe').length);
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('order independence (§6.7): any two processing orders give the same people with the same field values', () => {
    fc.assert(
      fc.property(specsArb, fc.integer(), fc.integer(), (specs, s1, s2) => {
        const run = (order: PlanItem[]) => {
          const tables = new Tables();
          for (const item of order) tables.apply([item]);
          return {
            people: tables.people().map(({ ids, values, payments }) => ({ ids, payments, values: stripIds(values) })),
            orphans: tables.orphans(),
          };
        };
        const items = itemsOf(specs);
        expect(run(seededShuffle(items, seededRandom(s1)))).toEqual(run(seededShuffle(items, seededRandom(s2))));
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('a batch decides what applying its logs one by one decides', () => {
    fc.assert(
      fc.property(specsArb, fc.integer({ min: 1, max: 6 }), (specs, size) => {
        const items = itemsOf(specs);
        const one = new Tables();
        for (const item of items) one.apply([item]);
        const batched = new Tables();
        for (let i = 0; i < items.length; i += size) batched.apply(items.slice(i, i + size));
        const view = (t: Tables) => ({
          people: t.people().map(({ ids, payments, values }) => ({ ids, payments, values: stripIds(values) })),
          orphans: t.orphans(),
        });
        expect(view(batched)).toEqual(view(one));
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('idempotent (§6.6): applying the same logs again plans no contact, identity, merge or lineage write', () => {
    fc.assert(
      fc.property(specsArb, (specs) => {
        const items = itemsOf(specs);
        const tables = new Tables();
        for (const item of items) tables.apply([item]);
        for (const item of items) {
          const again = tables.apply([item]);
          expect({
            inserts: again.inserts,
            updates: again.updates,
            merges: again.merges,
            identities: again.identities,
            links: again.orphanLinks,
            lineage: again.fieldChanges,
          }).toEqual({ inserts: [], updates: [], merges: [], identities: [], links: [], lineage: [] });
        }
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});

/** Provider-id columns hold the survivor's own ids (set once); which record survives may differ by order only in them. */
function stripIds(values: Record<string, unknown>) {
  const { mc_id: _m, ghl_id: _g, ...rest } = values;
  return rest;
}

describe('planBatch (pure step) — examples', () => {
  it('two ManyChat subscribers of one person merged: an event for either old id still finds the survivor', () => {
    const tables = new Tables();
    const a: Spec = { kind: 'manychat', mc: 'mc1', email: 'a@x.io', day: 1 };
    const b: Spec = { kind: 'manychat', mc: 'mc2', phone: '+15550000001', day: 2 };
    const link: Spec = { kind: 'ghl', ghl: 'g1', email: 'a@x.io', phone: '+15550000001', day: 3 };
    const items = itemsOf([a, b, link, { kind: 'manychat', mc: 'mc2', day: 4 }, { kind: 'manychat', mc: 'mc1', day: 5 }]);
    for (const item of items.slice(0, 3)) tables.apply([item]);
    expect(tables.people()).toHaveLength(1);
    const later = tables.apply([items[3]!]);
    expect(later.inserts).toEqual([]);
    tables.apply([items[4]!]);
    expect(tables.people()).toHaveLength(1);
    expect(tables.people()[0]!.ids).toEqual(expect.arrayContaining(['mc_id\u0000mc1', 'mc_id\u0000mc2', 'ghl_id\u0000g1']));
  });

  it('an orphan payment linked by a later contact: what the payment brought is credited to its own log, the rest to the contact', () => {
    const tables = new Tables();
    const [payment, person] = itemsOf([
      { kind: 'stripe', email: 'a@x.io', customer: 'cus_1', day: 1 },
      { kind: 'manychat', mc: 'mc1', email: 'a@x.io', name: 'Ann', day: 2 },
    ]);
    expect(tables.apply([payment!]).fieldChanges).toEqual([]);
    expect(tables.orphans()).toEqual(['cs_0']);
    const plan = tables.apply([person!]);
    expect(plan.orphanLinks).toHaveLength(1);
    const from = (field: string) => plan.fieldChanges.filter((c) => c.field === field).map((c) => c.logId);
    // Log 1 is the payment, log 2 the ManyChat contact that linked it.
    expect(from('stripe_customer_id')).toEqual([1]);
    expect(from('email_payment')).toEqual([1]);
    // new_lead by the contact's own event, then purchased by the payment's funnel event.
    expect(from('stage')).toEqual([2, 1]);
    expect(from('mc_id')).toEqual([2]);
    expect(from('email_primary')).toEqual([2]);
  });

  it('links a chain of 2,000 orphans that each share one identifier with the next, all in one event', () => {
    // P(i) carries email e⌈i/2⌉ and phone p⌊i/2⌋: only the first shares an identifier with the person,
    // each further one with the one before. A reviewer's 3,000 of these took 17 s of planning (one scan
    // of every orphan per hop); every one must still be linked, each once.
    const n = 2_000;
    const orphans: OrphanPayment[] = Array.from({ length: n }, (_, i) => ({
      paymentEventId: `cs_${i}`,
      source: 'stripe',
      funnelEvent: null,
      paidAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      webhookLogId: 10_000 + i,
      customerEmail: `e${Math.ceil(i / 2)}@x.io`,
      customerPhone: `+1555${String(Math.floor(i / 2)).padStart(7, '0')}`,
      stripeCustomerId: null,
    }));
    const [person] = itemsOf([{ kind: 'manychat', mc: 'mc1', email: 'e0@x.io', day: 2 }]);
    const { plan, outcomes } = planBatch({ contacts: [], identities: [], orphans, firstInvoices: [], invoicePayments: [] }, [person!], {
      newId: () => 'c1',
      now: new Date(2030, 0, 1),
    });
    expect(outcomes[0]?.[0]?.linkedOrphans).toBe(n);
    expect(new Set(plan.orphanLinks.map((l) => l.paymentEventId)).size).toBe(n);
    expect(plan.orphanLinks.every((l) => l.contactId === 'c1')).toBe(true);
    // Every identifier of the chain now belongs to the person.
    expect(plan.identities.filter((i) => i.kind === 'email')).toHaveLength(n / 2 + 1);
    expect(plan.identities.filter((i) => i.kind === 'phone')).toHaveLength(n / 2);
  });
});

describe('planBatch (pure step) — Stripe invoices of API versions from 2025-03-31', () => {
  const empty = { contacts: [], identities: [], orphans: [], firstInvoices: [], invoicePayments: [] };
  const options = { newId: () => 'c1', now: new Date(2030, 0, 1) };
  let log = 0;
  const item = (event: Omit<NormalizedEvent, 'source'>): PlanItem => {
    log++;
    return {
      ctx: { tenantId: 't', logId: log, receivedAt: new Date(2026, 0, 1), dedupeKey: `k${log}` },
      events: [{ source: 'stripe', ...event }],
      status: 'processed',
      eventType: null,
      reason: null,
    };
  };
  const session = item({
    eventType: 'checkout.session.completed',
    payments: [
      {
        paymentEventId: 'cs_1',
        source: 'stripe',
        paymentType: 'buy_in_full',
        category: 'full_purchase',
        amountCents: 4900,
        currency: 'usd',
        status: 'paid',
        stripeSubscriptionId: 'sub_1',
      },
    ],
  });
  const renewal = item({
    eventType: 'invoice.paid',
    payments: [
      {
        paymentEventId: 'in_2',
        source: 'stripe',
        paymentType: 'buy_in_full',
        category: 'recurring',
        amountCents: 4900,
        currency: 'usd',
        status: 'paid',
        stripeInvoiceId: 'in_2',
      },
    ],
  });
  const first = (eventType: string) => item({ eventType, stripeFirstInvoice: { subscriptionId: 'sub_1', invoiceId: 'in_1' } });
  const paid = (invoiceId: string, paymentIntentId: string) =>
    item({ eventType: 'invoice_payment.paid', stripeInvoicePayment: { invoiceId, paymentIntentId } });

  it('a stored invoice payment gives its intent to the session (through the first invoice) and to the renewal, and both lock the invoice', () => {
    const read = {
      ...empty,
      firstInvoices: [{ subscriptionId: 'sub_1', invoiceId: 'in_1', paymentIntentId: null }],
      invoicePayments: [
        { invoiceId: 'in_1', paymentIntentId: 'pi_1' },
        { invoiceId: 'in_2', paymentIntentId: 'pi_2' },
      ],
    };
    const { plan } = planBatch(read, [session, renewal], options);
    expect(plan.payments.map((p) => [p.payment.paymentEventId, p.payment.stripePaymentIntentId])).toEqual([
      ['cs_1', 'pi_1'],
      ['in_2', 'pi_2'],
    ]);
    expect(plan.statusRefs).toEqual(expect.arrayContaining(['pi:pi_1', 'pi:pi_2']));
    expect(plan.invoiceRefs.sort()).toEqual(['in_1', 'in_2']);
  });

  it('a first invoice sent as invoice.paid and invoice.payment_succeeded, then its invoice payment, in one batch: one row to write, with the intent', () => {
    const { plan } = planBatch(empty, [first('invoice.paid'), first('invoice.payment_succeeded'), paid('in_1', 'pi_1')], options);
    expect(plan.firstInvoices).toEqual([
      { subscriptionId: 'sub_1', invoiceId: 'in_1', paymentIntentId: 'pi_1', logId: expect.any(Number) },
    ]);
    expect(plan.invoicePayments).toEqual([{ invoiceId: 'in_1', paymentIntentId: 'pi_1', logId: expect.any(Number) }]);
    expect(plan.intentHandovers.bySubscription).toContainEqual({ subscriptionId: 'sub_1', paymentIntentId: 'pi_1' });
    expect(plan.payments).toEqual([]);
  });

  it('an invoice payment for a stored first invoice without intent completes it; a second intent for the invoice is not taken', () => {
    const read = { ...empty, firstInvoices: [{ subscriptionId: 'sub_1', invoiceId: 'in_1', paymentIntentId: null }] };
    const { plan } = planBatch(read, [paid('in_1', 'pi_1'), paid('in_1', 'pi_other')], options);
    expect(plan.firstInvoices).toEqual([
      { subscriptionId: 'sub_1', invoiceId: 'in_1', paymentIntentId: 'pi_1', logId: expect.any(Number) },
    ]);
    expect(plan.invoicePayments.map((p) => p.paymentIntentId)).toEqual(['pi_1']);
    expect(new Set(plan.intentHandovers.bySubscription.map((h) => h.paymentIntentId))).toEqual(new Set(['pi_1']));
    expect(new Set(plan.intentHandovers.byInvoice.map((h) => h.paymentIntentId))).toEqual(new Set(['pi_1']));
  });
});

// Red team, stop 34: one signed GHL event stamped 9999-12-31 set a name, email and phone newer than any
// event to come, so no genuine update could change them, and dated its funnel event in the year 9999.
describe('an event time far past its receipt', () => {
  const received = new Date('2026-03-01T12:00:00Z');
  const ghl = (logId: number, receivedAt: Date, occurredAt: string, name: string): PlanItem => ({
    ctx: { tenantId: 't', logId, receivedAt, dedupeKey: `g${logId}` },
    events: [
      {
        source: 'ghl',
        eventType: 'contact_update',
        occurredAt,
        contact: { identity: { ghlId: 'g-frozen' }, fields: { ghlId: 'g-frozen', firstName: name } },
        funnelEvent: { type: 'contact_updated', occurredAt },
      },
    ],
    status: 'processed',
    eventType: null,
    reason: null,
  });

  it('is not used: the log is dated by its receipt, and a genuine later event still updates the person', () => {
    const later = new Date(received.getTime() + 3_600_000);
    const { plan } = planBatch(
      { contacts: [], identities: [], orphans: [], firstInvoices: [], invoicePayments: [] },
      [ghl(1, received, '9999-12-31T23:59:59Z', 'Frozen'), ghl(2, later, later.toISOString(), 'Real')],
      { newId: () => 'c-1', now: later },
    );
    expect(plan.inserts.map((c) => c.values.first_name)).toEqual(['Real']);
    expect(plan.funnelEvents.map((e) => [e.logId, e.at.toISOString()])).toEqual([
      [1, received.toISOString()],
      [2, later.toISOString()],
    ]);
  });

  it('is used up to a day ahead (a zoneless local time read as UTC is at most 14 h ahead)', () => {
    const ahead = new Date(received.getTime() + 14 * 3_600_000).toISOString();
    const { plan } = planBatch(
      { contacts: [], identities: [], orphans: [], firstInvoices: [], invoicePayments: [] },
      [ghl(1, received, ahead, 'Ahead')],
      { newId: () => 'c-1', now: received },
    );
    expect(plan.funnelEvents.map((e) => e.at.toISOString())).toEqual([ahead]);
  });
});

describe('planBatch (pure step) — linkFor, the orphans.link follow-up', () => {
  const contact: ContactRecord = {
    id: 'c-ann',
    createdAt: new Date(Date.UTC(2026, 0, 1)),
    firstSeenAt: new Date(Date.UTC(2026, 0, 20)),
    stage: 'lead',
    state: { values: { email_primary: 'ann@x.io' }, tags: {}, meta: {} },
  };
  const orphan = (id: string, phone: string, day: number): OrphanPayment => ({
    paymentEventId: id,
    source: 'stripe',
    funnelEvent: 'purchase_completed',
    paidAt: new Date(Date.UTC(2026, 0, day)),
    webhookLogId: 100 + day,
    customerEmail: 'ann@x.io',
    customerPhone: phone,
    stripeCustomerId: null,
  });
  const read = {
    contacts: [contact],
    identities: [{ kind: 'email' as const, value: 'ann@x.io', contactId: 'c-ann' }],
    orphans: [orphan('cs_1', '+15550000001', 3), orphan('cs_2', '+15550000002', 5)],
    firstInvoices: [],
    invoicePayments: [],
  };

  it("links the waiting orphans of an identifier to its owner, each change credited to the orphan's own log", () => {
    const { plan, outcomes, linked } = planBatch(read, [], {
      newId: () => 'unused',
      now: new Date(),
      linkFor: [{ kind: 'email', value: 'ann@x.io' }],
    });
    expect(outcomes).toEqual([]);
    expect(linked.linkedOrphans).toBe(2);
    expect(plan.orphanLinks).toEqual([
      { paymentEventId: 'cs_1', contactId: 'c-ann' },
      { paymentEventId: 'cs_2', contactId: 'c-ann' },
    ]);
    expect(plan.funnelEvents.map((e) => [e.sourceEventId, e.logId])).toEqual([
      ['payment:cs_1', 103],
      ['payment:cs_2', 105],
    ]);
    expect(plan.identities.map((i) => [i.value, i.logId])).toEqual([
      ['+15550000001', 103],
      ['+15550000002', 105],
    ]);
    // The earliest payment now dates the person; the sale moves the stage.
    expect(plan.updates.map((c) => [c.firstSeenAt.toISOString(), c.stage])).toEqual([['2026-01-03T00:00:00.000Z', 'purchased']]);
    expect(plan.logMarks).toEqual([]);
    expect(plan.inserts).toEqual([]);
  });

  it('links nothing for an identifier nobody holds, and never creates a person', () => {
    const { plan, linked } = planBatch({ ...read, contacts: [], identities: [] }, [], {
      newId: () => 'new',
      now: new Date(),
      linkFor: [{ kind: 'email', value: 'ann@x.io' }],
    });
    expect(linked.linkedOrphans).toBe(0);
    expect(plan.orphanLinks).toEqual([]);
    expect(plan.inserts).toEqual([]);
  });
});
