import {
  type ContactFields,
  type FunnelEventType,
  laterStage,
  type NormalizedEvent,
  type NormalizedPayment,
  stageForEvent,
} from '@mcb/sources';
import {
  type ContactColumn,
  type ContactState,
  compareStamps,
  type FieldChange,
  planFieldUpdates,
  type Stamp,
  stateAsIncoming,
} from './fields';
import { type Identity, IdentityList, identityKey, identityOf } from './identities';

/** The webhook log an event comes from. */
export interface ApplyContext {
  tenantId: string;
  logId: number;
  /** `webhook_logs.received_at`: the event time when the provider gives none. */
  receivedAt: Date;
  /** `webhook_logs.dedupe_key`: funnel events derive their `source_event_id` from it (SPEC §6.6). */
  dedupeKey: string;
}

/** A live contact as the planner sees it. */
export interface ContactRecord {
  id: string;
  /** Holds more identities than were read (`maxIdentitiesRead`): a merge moving it away moves identities the plan cannot name. */
  identitiesCut?: boolean;
  createdAt: Date;
  firstSeenAt: Date | null;
  stage: string | null;
  state: ContactState;
}

/** A payment waiting for its person (SPEC §6.3). */
export interface OrphanPayment {
  paymentEventId: string;
  source: string;
  funnelEvent: FunnelEventType | null;
  paidAt: Date;
  webhookLogId: number | null;
  customerEmail: string | null;
  customerPhone: string | null;
  stripeCustomerId: string | null;
}

/**
 * A subscription's first invoice as stored: its payment intent is the one of the Checkout session that
 * started it. Null while unknown (API versions from 2025-03-31): its `InvoicePayment` brings it.
 */
export interface FirstInvoice {
  subscriptionId: string;
  invoiceId: string | null;
  paymentIntentId: string | null;
}

/** The payment intent that paid a Stripe invoice, from its `invoice_payment.paid`. */
export interface InvoicePayment {
  invoiceId: string;
  paymentIntentId: string;
}

/**
 * What the read step found for a batch's identifiers: the live contacts holding any of them, every
 * identity of those contacts, and the orphans matching them; the stored first invoices of the batch's
 * subscriptions and invoices; the stored invoice payments of the batch's invoices and of those first invoices.
 */
export interface ReadState {
  contacts: ContactRecord[];
  identities: Array<Identity & { contactId: string }>;
  orphans: OrphanPayment[];
  firstInvoices: FirstInvoice[];
  invoicePayments: InvoicePayment[];
}

/** One webhook log to apply: its events (none for an ignored log) and how to mark it. */
export interface PlanItem {
  ctx: ApplyContext;
  events: NormalizedEvent[];
  status: 'processed' | 'ignored';
  /** New `webhook_logs.event_type`, or null to keep the stored one. */
  eventType: string | null;
  /** `error_message` (the reason of an ignored log); null clears it. */
  reason: string | null;
}

export interface ApplyOutcome {
  /** The surviving contact the event was applied to; null for an orphan payment or an event with no identity. */
  contactId: string | null;
  created: boolean;
  merged: string[];
  linkedOrphans: number;
  fieldChanges: number;
}

export interface PlannedContact {
  id: string;
  values: ContactState['values'];
  tags: Record<string, unknown>;
  meta: ContactState['meta'];
  stage: string | null;
  firstSeenAt: Date;
  /** For a record created and merged away in the same batch. */
  mergedIntoId: string | null;
}

export interface PlannedFunnelEvent {
  contactId: string;
  type: FunnelEventType;
  at: Date;
  source: string;
  sourceEventId: string;
  logId: number | null;
  data: Record<string, unknown>;
}

/** Every write of a batch, decided from one read. Contact ids are final survivors. */
export interface WritePlan {
  inserts: PlannedContact[];
  updates: PlannedContact[];
  /** Existing contacts merged away: their rows, events, payments, lineage and identities move to `survivorId`. */
  merges: Array<{ loserId: string; survivorId: string; logId: number | null }>;
  identities: Array<Identity & { contactId: string; source: string; logId: number | null; at: Date }>;
  payments: Array<{ payment: NormalizedPayment; contactId: string | null; paidAt: Date; logId: number }>;
  orphanLinks: Array<{ paymentEventId: string; contactId: string }>;
  statusChanges: Array<{ paymentRef: string; status: string; at: Date; logId: number }>;
  /** First invoices to store, or to complete (a stored one gains its invoice id or intent): at most one per subscription. */
  firstInvoices: Array<FirstInvoice & { logId: number }>;
  /** Invoice payments to store (the first one of each invoice is kept). */
  invoicePayments: Array<InvoicePayment & { logId: number }>;
  /**
   * Payment intents handed to stored payments that have none: the session payment of a subscription
   * (`stripe_subscription_id`), the payment booked for an invoice (`payment_event_id`). Run after the
   * payment inserts, so a payment of this batch takes its intent too.
   */
  intentHandovers: { bySubscription: Array<{ subscriptionId: string; paymentIntentId: string }>; byInvoice: InvoicePayment[] };
  /**
   * Stripe invoices whose intent this plan hands over or waits for: locked like payment refs (a renewal's
   * payment ref is its invoice id), so an `invoice_payment.paid` and the payment it is for never commit unseen by each other.
   */
  invoiceRefs: string[];
  /** Subscriptions learnt from the read (an invoice payment's first invoice): their locks are try-locked. */
  subscriptionRefs: string[];
  /** Payment refs whose status is recomputed from `payment_status_changes` after the inserts. */
  statusRefs: string[];
  funnelEvents: PlannedFunnelEvent[];
  fieldChanges: Array<FieldChange & { contactId: string; logId: number | null }>;
  logMarks: Array<{
    logId: number;
    status: 'processed' | 'ignored';
    eventType: string | null;
    contactId: string | null;
    reason: string | null;
  }>;
  /** Identities this plan inserts or moves: the write step must hold their locks. */
  touched: Identity[];
  /** A contact merged away holds identities the read did not return: their locks cannot be taken by name. */
  movesUnread: boolean;
}

interface WorldContact extends ContactRecord {
  isNew: boolean;
  mergedInto: string | null;
  original: string | null;
}

/**
 * Most a provider's own event time may be after its delivery was received. Later is no real time (a
 * zoneless local time read as UTC is at most 14 h ahead): a signed event stamped 9999-12-31 made its name,
 * email and phone newer than anything to come, so no genuine update could change them (red team, stop 34).
 * Such a time is not used; the log's `received_at` is, as for an event with no time. It depends on the log
 * alone, so the result stays the same whatever order events are processed in (SPEC §6.7).
 */
export const maxEventTimeAheadMs = 24 * 3_600_000;

/** The provider's time `value` as a Date, or null when it is absent, unreadable or past `maxEventTimeAheadMs`. */
function providerTime(value: string | null | undefined, ctx: ApplyContext): Date | null {
  const d = value ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime()) || d.getTime() - ctx.receivedAt.getTime() > maxEventTimeAheadMs) return null;
  return d;
}

function eventTime(ctx: ApplyContext, event: NormalizedEvent): Date {
  return providerTime(event.occurredAt, ctx) ?? providerTime(event.funnelEvent?.occurredAt, ctx) ?? ctx.receivedAt;
}

/** Contact fields a payment proves (stamped with the payment's own time, so linking later gives the same result). */
function fieldsOfPayment(p: {
  customerEmail?: string | null;
  customerPhone?: string | null;
  stripeCustomerId?: string | null;
}): ContactFields {
  return {
    emailPayment: p.customerEmail ?? undefined,
    phone: p.customerPhone ?? undefined,
    stripeCustomerId: p.stripeCustomerId ?? undefined,
  };
}

function addFieldIdentities(list: IdentityList, fields: ContactFields | ContactState['values']): void {
  const f = fields as Record<string, unknown>;
  list.add('mc_id', f.mcId ?? f.mc_id);
  list.add('ghl_id', f.ghlId ?? f.ghl_id);
  list.add('stripe_customer_id', f.stripeCustomerId ?? f.stripe_customer_id);
  for (const e of [f.emailPrimary ?? f.email_primary, f.emailBooking ?? f.email_booking, f.emailPayment ?? f.email_payment])
    list.add('email', e);
  list.add('phone', f.phone);
}

/** Whether `event` may create a person: one that carries someone and no payment (a payment alone never does; SPEC §6.1, §6.3). */
export function mayCreatePerson(event: NormalizedEvent): boolean {
  return (event.payments?.length ?? 0) === 0 && event.contact !== undefined;
}

/** Identities a payment carries (what an orphan can be linked by). */
export function paymentIdentities(p: {
  customerEmail?: string | null;
  customerPhone?: string | null;
  stripeCustomerId?: string | null;
}): Identity[] {
  return [
    identityOf('email', p.customerEmail),
    identityOf('phone', p.customerPhone),
    identityOf('stripe_customer_id', p.stripeCustomerId),
  ].filter((x): x is Identity => x !== null);
}

/** JSON with sorted object keys: two states compare equal whatever order their keys were set in. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function snapshotOf(c: ContactRecord): string {
  return stableJson({ v: c.state.values, t: c.state.tags, m: c.state.meta, s: c.stage, f: c.firstSeenAt?.toISOString() ?? null });
}

/** Older record first (it survives a merge): earliest first event, then creation, then id. */
function olderFirst(a: ContactRecord, b: ContactRecord): number {
  const fa = a.firstSeenAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const fb = b.firstSeenAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (fa !== fb) return fa < fb ? -1 : 1;
  if (a.createdAt.getTime() !== b.createdAt.getTime()) return a.createdAt < b.createdAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export interface PlanOptions {
  /** New contact ids (the write step inserts them as given). */
  newId: () => string;
  /** `created_at` the planner assumes for contacts it creates (ordering only). */
  now: Date;
  /**
   * The `orphans.link` follow-up (`linkWaitingOrphans`): after the items, the read orphans waiting on
   * these identifiers are linked to each identifier's owner; an identifier nobody holds links nothing.
   */
  linkFor?: Identity[];
}

/**
 * Decides every write for a batch of logs of one tenant from one read (SPEC §6.1–6.7): matching by
 * any identifier the person was ever known by, merges into the older record (identities move, never
 * drop), orphan payments linked the moment the person gains a matching identifier, field rules,
 * stage, funnel events, payments, status changes and the logs' final marks. Pure: no I/O; the events
 * are applied one after another to an in-memory view, so a batch gives what applying its logs one by
 * one would. The read must cover every identifier of every event in `items`.
 */
export function planBatch(
  read: ReadState,
  items: PlanItem[],
  options: PlanOptions,
): { plan: WritePlan; outcomes: ApplyOutcome[][]; linked: ApplyOutcome } {
  const contacts = new Map<string, WorldContact>();
  for (const c of read.contacts) contacts.set(c.id, { ...c, isNew: false, mergedInto: null, original: snapshotOf(c) });
  const owner = new Map<string, string>();
  const identityOfKey = new Map<string, Identity>();
  for (const id of read.identities) {
    owner.set(identityKey(id), id.contactId);
    identityOfKey.set(identityKey(id), { kind: id.kind, value: id.value });
  }
  // Orphans by payment event id and by each identifier they carry, so linking a person's orphans costs
  // the orphans linked, not a scan of every orphan per hop (a chain of 3,000 took 17 s that way).
  type WorldOrphan = OrphanPayment & { linked: boolean };
  const orphanById = new Map<string, WorldOrphan>();
  const orphansByIdentity = new Map<string, WorldOrphan[]>();
  const addOrphan = (o: WorldOrphan) => {
    // Two orphans with one payment event id: the first still waiting is the one a payment finds.
    const held = orphanById.get(o.paymentEventId);
    if (!held || held.linked) orphanById.set(o.paymentEventId, o);
    for (const id of paymentIdentities(o)) {
      const key = identityKey(id);
      const list = orphansByIdentity.get(key);
      if (list) list.push(o);
      else orphansByIdentity.set(key, [o]);
    }
  };
  for (const o of read.orphans) addOrphan({ ...o, linked: false });
  const plan: WritePlan = {
    inserts: [],
    updates: [],
    merges: [],
    identities: [],
    payments: [],
    orphanLinks: [],
    statusChanges: [],
    firstInvoices: [],
    invoicePayments: [],
    intentHandovers: { bySubscription: [], byInvoice: [] },
    invoiceRefs: [],
    subscriptionRefs: [],
    statusRefs: [],
    funnelEvents: [],
    fieldChanges: [],
    logMarks: [],
    touched: [],
    movesUnread: false,
  };
  const touched = new IdentityList();
  const statusRefs = new Set<string>();
  const invoiceRefs = new Set<string>();
  const subscriptionRefs = new Set<string>();
  // Stripe invoices as stored, then as this batch changes them. A session in subscription mode has no
  // payment intent: its first invoice's — the invoice's own (before API version 2025-03-31), else the one
  // its invoice payment brought. A renewal of those versions takes its invoice payment's.
  const firstInvoiceOf = new Map<string, FirstInvoice>(read.firstInvoices.map((f) => [f.subscriptionId, { ...f }]));
  const subscriptionOfInvoice = new Map<string, string>();
  for (const f of read.firstInvoices) if (f.invoiceId) subscriptionOfInvoice.set(f.invoiceId, f.subscriptionId);
  const intentOfInvoice = new Map(read.invoicePayments.map((p) => [p.invoiceId, p.paymentIntentId]));
  const firstInvoiceWrites = new Map<string, FirstInvoice & { logId: number }>();
  const intentOfSubscription = (subscriptionId: string): string | undefined => {
    const f = firstInvoiceOf.get(subscriptionId);
    if (!f) return undefined;
    // Locked by the write step: an invoice payment of that invoice in flight cannot commit unseen.
    if (f.invoiceId) invoiceRefs.add(f.invoiceId);
    return f.paymentIntentId ?? (f.invoiceId ? intentOfInvoice.get(f.invoiceId) : undefined);
  };
  /** The session payment of `subscriptionId` (stored, or inserted by this batch) takes `intent` if it has none. */
  const handOverToSubscription = (subscriptionId: string, intent: string) => {
    plan.intentHandovers.bySubscription.push({ subscriptionId, paymentIntentId: intent });
    // The session payment takes the intent now: a status stored for it (a dispute) applies.
    statusRefs.add(`pi:${intent}`);
  };
  let created = 0;

  const live = (id: string): WorldContact => {
    let c = contacts.get(id);
    while (c?.mergedInto) c = contacts.get(c.mergedInto);
    if (!c) throw new Error(`planner: unknown contact ${id}`);
    return c;
  };
  const identitiesOf = (contactId: string): Identity[] => {
    const out: Identity[] = [];
    for (const [key, who] of owner) if (who === contactId) out.push(identityOfKey.get(key) as Identity);
    return out;
  };
  /** Gives `contact` an identity it does not have yet (inserting or moving it). */
  const claim = (contact: WorldContact, id: Identity, source: string, logId: number | null, at: Date) => {
    const key = identityKey(id);
    const current = owner.get(key);
    // Owned already — by this person, or (data from before identities were tracked) by another record
    // this batch did not match: never steal it; the insert below also does nothing on conflict.
    if (current !== undefined) return;
    owner.set(key, contact.id);
    identityOfKey.set(key, id);
    plan.identities.push({ ...id, contactId: contact.id, source, logId, at });
    touched.add(id.kind, id.value);
  };

  const outcomes: ApplyOutcome[][] = [];
  for (const item of items) {
    const { ctx } = item;
    const itemOutcomes: ApplyOutcome[] = [];
    let lastContact: string | null = null;
    for (const [index, event] of item.events.entries()) {
      const out = applyEvent(ctx, event, index);
      itemOutcomes.push(out);
      lastContact = out.contactId ?? lastContact;
    }
    outcomes.push(itemOutcomes);
    plan.logMarks.push({ logId: ctx.logId, status: item.status, eventType: item.eventType, contactId: lastContact, reason: item.reason });
  }
  // The orphans.link follow-up: orphans waiting on these identifiers go to each one's owner, if any.
  const linked: ApplyOutcome = { contactId: null, created: false, merged: [], linkedOrphans: 0, fieldChanges: 0 };
  for (const id of options.linkFor ?? []) {
    const who = owner.get(identityKey(id));
    if (who === undefined) continue;
    const changes: Array<FieldChange & { logId?: number }> = [];
    const funnelEvents: Array<Omit<PlannedFunnelEvent, 'contactId'>> = [];
    const contact = linkOrphans(live(who), changes, funnelEvents, linked, null);
    recordFor(contact, changes, funnelEvents, null);
  }

  function applyEvent(ctx: ApplyContext, event: NormalizedEvent, index: number): ApplyOutcome {
    const at = eventTime(ctx, event);
    const stamp: Stamp = { at: at.toISOString(), logId: String(ctx.logId) };
    const payments = event.payments ?? [];
    const outcome: ApplyOutcome = { contactId: null, created: false, merged: [], linkedOrphans: 0, fieldChanges: 0 };

    const incoming: Array<{ fields: ContactFields; stamp: Stamp }> = [];
    const identity = identityOfEvent(event);
    const idk = event.contact?.identity;
    // A payment event contributes only what its payments prove (the same fields an orphan gives when it is
    // linked later), so the result does not depend on which came first; its identity still matches.
    if (event.contact && payments.length === 0) {
      const fields: ContactFields = { ...event.contact.fields };
      fields.mcId ??= idk?.mcId;
      fields.ghlId ??= idk?.ghlId;
      fields.stripeCustomerId ??= idk?.stripeCustomerId;
      fields.phone ??= idk?.phone;
      incoming.push({ fields, stamp });
    }
    for (const p of payments) {
      incoming.push({
        fields: fieldsOfPayment(p),
        stamp: { at: (providerTime(p.paidAt, ctx) ?? at).toISOString(), logId: String(ctx.logId) },
      });
    }
    // A payment alone never creates a person: it waits as an orphan (SPEC §6.1, §6.3).
    const mayCreate = mayCreatePerson(event);

    const found = new Map<string, WorldContact>();
    for (const id of identity.values()) {
      const who = owner.get(identityKey(id));
      if (who !== undefined) {
        const c = live(who);
        found.set(c.id, c);
      }
    }
    // Orphans still waiting (in the backlog, past the bound of one transaction) on this event's identifiers
    // may lead to someone's identifier: linked at once, they would have made it that person's, and this
    // event would match them. It does now, rather than creating a record merged into them when the orphan is
    // linked (SPEC §6.7). With no backlog no waiting orphan leads to anyone: this finds nothing.
    const reached = new Set(identity.values().map(identityKey));
    const walk = [...reached];
    for (let i = 0; i < walk.length; i++) {
      for (const o of orphansByIdentity.get(walk[i] as string) ?? []) {
        if (o.linked) continue;
        for (const id of paymentIdentities(o)) {
          const key = identityKey(id);
          if (reached.has(key)) continue;
          reached.add(key);
          walk.push(key);
          const who = owner.get(key);
          if (who !== undefined) {
            const c = live(who);
            found.set(c.id, c);
          }
        }
      }
    }
    const matched = [...found.values()].sort(olderFirst);
    let contact: WorldContact | null = matched[0] ?? null;
    // `logId` when a change came from another log than this event's (an orphan payment linked now).
    const changes: Array<FieldChange & { logId?: number }> = [];
    if (contact) {
      const survivor = contact;
      if (!survivor.firstSeenAt || at < survivor.firstSeenAt) survivor.firstSeenAt = at;
      const mergedIncoming: typeof incoming = [];
      for (const loser of matched.slice(1)) mergedIncoming.push(...merge(survivor, loser, ctx.logId, changes, outcome));
      incoming.unshift(...mergedIncoming);
    } else if (mayCreate) {
      contact = {
        id: options.newId(),
        createdAt: new Date(options.now.getTime() + created++),
        firstSeenAt: at,
        stage: null,
        state: { values: {}, tags: {}, meta: {} },
        isNew: true,
        mergedInto: null,
        original: null,
      };
      contacts.set(contact.id, contact);
      outcome.created = true;
    }

    const funnelEvents: Array<Omit<PlannedFunnelEvent, 'contactId'>> = [];
    if (contact) {
      applyFields(contact, incoming, changes);
      const own = new IdentityList();
      own.addAll(identity.values());
      addFieldIdentities(own, contact.state.values);
      for (const id of own.values()) claim(contact, id, event.source, ctx.logId, at);
      if (event.funnelEvent) {
        const fe = event.funnelEvent;
        const suffix = fe.keySuffix ?? (index > 0 ? String(index) : null);
        funnelEvents.push({
          type: fe.type,
          at: providerTime(fe.occurredAt, ctx) ?? at,
          source: event.source,
          sourceEventId: suffix ? `${ctx.dedupeKey}#${suffix}` : ctx.dedupeKey,
          logId: ctx.logId,
          data: fe.data ?? {},
        });
      }
    }

    for (const given of payments) {
      if (given.stripeInvoiceId) invoiceRefs.add(given.stripeInvoiceId);
      const intent =
        !given.stripePaymentIntentId &&
        ((given.stripeSubscriptionId && intentOfSubscription(given.stripeSubscriptionId)) ||
          (given.stripeInvoiceId && intentOfInvoice.get(given.stripeInvoiceId)));
      const p = intent ? { ...given, stripePaymentIntentId: intent } : given;
      const paidAt = providerTime(p.paidAt, ctx) ?? at;
      const known = orphanById.get(p.paymentEventId);
      const waiting = known && !known.linked ? known : undefined;
      if (!waiting) plan.payments.push({ payment: p, contactId: contact?.id ?? null, paidAt, logId: ctx.logId });
      if (!contact && !waiting) {
        addOrphan({
          paymentEventId: p.paymentEventId,
          source: p.source,
          funnelEvent: p.funnelEvent ?? null,
          paidAt,
          webhookLogId: ctx.logId,
          customerEmail: p.customerEmail ?? null,
          customerPhone: p.customerPhone ?? null,
          stripeCustomerId: p.stripeCustomerId ?? null,
          linked: false,
        });
      }
      if (contact && !waiting && p.funnelEvent)
        funnelEvents.push(paymentFunnelEvent(p.funnelEvent, p.source, p.paymentEventId, paidAt, ctx.logId));
      statusRefs.add(p.paymentEventId);
      if (p.stripePaymentIntentId) statusRefs.add(`pi:${p.stripePaymentIntentId}`);
    }
    for (const u of event.paymentStatusUpdates ?? []) {
      const ref = u.paymentEventId ?? (u.stripePaymentIntentId ? `pi:${u.stripePaymentIntentId}` : null);
      if (!ref) continue;
      plan.statusChanges.push({ paymentRef: ref, status: u.status, at: providerTime(u.occurredAt, ctx) ?? at, logId: ctx.logId });
      statusRefs.add(ref);
    }
    const first = event.stripeFirstInvoice;
    if (first) {
      // One first invoice per subscription: what is known already stays, the event completes it.
      const known = firstInvoiceOf.get(first.subscriptionId);
      const invoiceId = known?.invoiceId ?? first.invoiceId ?? null;
      const ownIntent = known?.paymentIntentId ?? first.paymentIntentId ?? null;
      const next: FirstInvoice = {
        subscriptionId: first.subscriptionId,
        invoiceId,
        paymentIntentId: ownIntent ?? (invoiceId ? (intentOfInvoice.get(invoiceId) ?? null) : null),
      };
      if (!known || known.invoiceId !== next.invoiceId || known.paymentIntentId !== next.paymentIntentId) {
        firstInvoiceOf.set(first.subscriptionId, next);
        if (invoiceId) subscriptionOfInvoice.set(invoiceId, first.subscriptionId);
        firstInvoiceWrites.set(first.subscriptionId, { ...next, logId: firstInvoiceWrites.get(first.subscriptionId)?.logId ?? ctx.logId });
      }
      if (invoiceId) invoiceRefs.add(invoiceId);
      if (next.paymentIntentId) handOverToSubscription(first.subscriptionId, next.paymentIntentId);
    }
    const paid = event.stripeInvoicePayment;
    if (paid) {
      // The first intent applied for an invoice is its intent (an invoice paid twice keeps the first).
      if (!intentOfInvoice.has(paid.invoiceId)) {
        intentOfInvoice.set(paid.invoiceId, paid.paymentIntentId);
        plan.invoicePayments.push({ ...paid, logId: ctx.logId });
      }
      const intent = intentOfInvoice.get(paid.invoiceId) as string;
      invoiceRefs.add(paid.invoiceId);
      // A renewal booked for the invoice (its payment event id is the invoice id) takes it.
      plan.intentHandovers.byInvoice.push({ invoiceId: paid.invoiceId, paymentIntentId: intent });
      statusRefs.add(`pi:${intent}`);
      // The first invoice of a subscription, stored without its intent: it and the session's payment take it.
      const subscriptionId = subscriptionOfInvoice.get(paid.invoiceId);
      const f = subscriptionId ? firstInvoiceOf.get(subscriptionId) : undefined;
      if (subscriptionId && f) {
        subscriptionRefs.add(subscriptionId);
        if (!f.paymentIntentId) {
          f.paymentIntentId = intent;
          firstInvoiceWrites.set(subscriptionId, { ...f, logId: firstInvoiceWrites.get(subscriptionId)?.logId ?? ctx.logId });
        }
        handOverToSubscription(subscriptionId, f.paymentIntentId);
      }
    }

    if (contact) {
      contact = linkOrphans(contact, changes, funnelEvents, outcome, ctx.logId);
      recordFor(contact, changes, funnelEvents, ctx.logId);
      outcome.contactId = contact.id;
    }
    outcome.fieldChanges = changes.length;
    return outcome;
  }

  /**
   * Links to `contact` every read orphan waiting on an identifier it holds (SPEC §6.3); a linked one may
   * bring more identifiers, and their orphans follow: every identifier is visited once, each orphan linked once.
   */
  function linkOrphans(
    person: WorldContact,
    changes: Array<FieldChange & { logId?: number }>,
    funnelEvents: Array<Omit<PlannedFunnelEvent, 'contactId'>>,
    outcome: ApplyOutcome,
    fallbackLogId: number | null,
  ): WorldContact {
    let contact = person;
    const frontier: string[] = [];
    const visited = new Set<string>();
    const visit = (key: string) => {
      if (visited.has(key) || owner.get(key) !== contact.id) return;
      visited.add(key);
      frontier.push(key);
    };
    // Only an identifier some waiting orphan carries can link one: the walk starts from those the person
    // holds, not from every identifier it holds (a batch of 50 events for a contact of 150,000 took 18 s).
    for (const key of orphansByIdentity.keys()) visit(key);
    for (let next = 0; next < frontier.length; next++) {
      const key = frontier[next] as string;
      const waiting = orphansByIdentity.get(key) ?? [];
      // Every orphan of a visited identifier is linked below: the next event need not look at it again.
      orphansByIdentity.delete(key);
      for (const o of waiting) {
        if (o.linked) continue;
        o.linked = true;
        outcome.linkedOrphans++;
        plan.orphanLinks.push({ paymentEventId: o.paymentEventId, contactId: contact.id });
        const brought: FieldChange[] = [];
        applyFields(
          contact,
          [{ fields: fieldsOfPayment(o), stamp: { at: o.paidAt.toISOString(), logId: String(o.webhookLogId ?? 0) } }],
          brought,
        );
        // What the payment brought is credited to the payment's log, not to the event that linked it.
        for (const ch of brought) changes.push({ ...ch, logId: o.webhookLogId ?? undefined });
        for (const id of paymentIdentities(o)) {
          // Held by another person (the orphan waited in the backlog while they came by this identifier):
          // the payment proves they are one, as when it was linked at once (SPEC §6.2, §6.7).
          const other = owner.get(identityKey(id));
          if (other !== undefined && live(other).id !== contact.id) {
            const [survivor, loser] = [contact, live(other)].sort(olderFirst) as [WorldContact, WorldContact];
            applyFields(survivor, merge(survivor, loser, o.webhookLogId ?? fallbackLogId, changes, outcome), changes);
            contact = survivor;
          }
          claim(contact, id, o.source, o.webhookLogId ?? fallbackLogId, o.paidAt);
          visit(identityKey(id));
        }
        if (!contact.firstSeenAt || o.paidAt < contact.firstSeenAt) contact.firstSeenAt = o.paidAt;
        if (o.funnelEvent) funnelEvents.push(paymentFunnelEvent(o.funnelEvent, o.source, o.paymentEventId, o.paidAt, o.webhookLogId));
      }
    }
    return contact;
  }

  /**
   * Folds `loser` into `survivor` (the older): identities move, provider ids are given up, the merge is
   * planned. Returns the loser's fields as incoming values for the survivor (applied by the caller).
   */
  function merge(
    survivor: WorldContact,
    loser: WorldContact,
    logId: number | null,
    changes: Array<FieldChange & { logId?: number }>,
    outcome: ApplyOutcome,
  ): Array<{ fields: ContactFields; stamp: Stamp }> {
    const fallback = { at: (loser.firstSeenAt ?? loser.createdAt).toISOString(), logId: '0' };
    const incoming = stateAsIncoming(loser.state, fallback);
    survivor.stage = laterStage(survivor.stage, loser.stage);
    if (loser.firstSeenAt && (!survivor.firstSeenAt || loser.firstSeenAt < survivor.firstSeenAt)) survivor.firstSeenAt = loser.firstSeenAt;
    for (const id of identitiesOf(loser.id)) {
      owner.set(identityKey(id), survivor.id);
      touched.add(id.kind, id.value);
    }
    if (loser.identitiesCut) plan.movesUnread = true;
    loser.mergedInto = survivor.id;
    // Provider ids are unique per tenant: the loser gives them up (they stay as identities).
    loser.state = { ...loser.state, values: { ...loser.state.values, mc_id: null, ghl_id: null } };
    if (!loser.isNew) plan.merges.push({ loserId: loser.id, survivorId: survivor.id, logId });
    plan.fieldChanges.push({ contactId: loser.id, field: 'merged_into_id', oldValue: null, newValue: survivor.id, logId });
    changes.push({ field: 'merged_from', oldValue: null, newValue: loser.id });
    outcome.merged.push(loser.id);
    return incoming;
  }

  /** The funnel events and field changes of `contact` into the plan, with the stage they move it to. */
  function recordFor(
    contact: WorldContact,
    changes: Array<FieldChange & { logId?: number }>,
    funnelEvents: Array<Omit<PlannedFunnelEvent, 'contactId'>>,
    fallbackLogId: number | null,
  ) {
    for (const fe of funnelEvents) {
      const s = stageForEvent(fe.type);
      if (s && laterStage(contact.stage, s) !== contact.stage) {
        changes.push({ field: 'stage', oldValue: contact.stage, newValue: s, logId: fe.logId ?? undefined });
        contact.stage = s;
      }
      plan.funnelEvents.push({ ...fe, contactId: contact.id });
    }
    for (const ch of changes) plan.fieldChanges.push({ ...ch, contactId: contact.id, logId: ch.logId ?? fallbackLogId });
  }

  function applyFields(contact: WorldContact, incoming: Array<{ fields: ContactFields; stamp: Stamp }>, changes: FieldChange[]) {
    if (incoming.length === 0) return;
    const fieldPlan = planFieldUpdates(contact.state, incoming);
    contact.state = {
      values: { ...contact.state.values, ...fieldPlan.set },
      tags: fieldPlan.tags ?? contact.state.tags,
      meta: fieldPlan.meta,
    };
    changes.push(...fieldPlan.changes);
  }

  // Final ids: everything points at the survivor a merge left.
  const finalId = (id: string) => live(id).id;
  for (const c of contacts.values()) {
    const planned: PlannedContact = {
      id: c.id,
      values: c.state.values,
      tags: c.state.tags,
      meta: c.state.meta,
      stage: c.stage,
      firstSeenAt: c.firstSeenAt ?? c.createdAt,
      mergedIntoId: c.mergedInto ? finalId(c.id) : null,
    };
    if (c.isNew) plan.inserts.push(planned);
    else if (!c.mergedInto && snapshotOf(c) !== c.original) plan.updates.push(planned);
  }
  // A new record merged into another new one must be inserted after it (merged_into_id references it).
  plan.inserts.sort((a, b) => (a.mergedIntoId ? 1 : 0) - (b.mergedIntoId ? 1 : 0));
  for (const m of plan.merges) m.survivorId = finalId(m.survivorId);
  for (const i of plan.identities) i.contactId = finalId(i.contactId);
  for (const p of plan.payments) p.contactId = p.contactId ? finalId(p.contactId) : null;
  for (const l of plan.orphanLinks) l.contactId = finalId(l.contactId);
  for (const f of plan.funnelEvents) f.contactId = finalId(f.contactId);
  for (const f of plan.fieldChanges) if (f.field !== 'merged_into_id') f.contactId = finalId(f.contactId);
  for (const f of plan.fieldChanges) if (f.field === 'merged_into_id') f.newValue = finalId(f.newValue as string);
  for (const m of plan.logMarks) m.contactId = m.contactId ? finalId(m.contactId) : null;
  for (const list of outcomes) for (const o of list) o.contactId = o.contactId ? finalId(o.contactId) : null;
  plan.statusRefs = [...statusRefs];
  plan.firstInvoices = [...firstInvoiceWrites.values()];
  plan.invoiceRefs = [...invoiceRefs];
  plan.subscriptionRefs = [...subscriptionRefs];
  plan.touched = touched.values();
  return { plan, outcomes, linked };
}

function paymentFunnelEvent(type: FunnelEventType, source: string, paymentEventId: string, at: Date, logId: number | null) {
  return { type, at, source, sourceEventId: `payment:${paymentEventId}`, logId, data: { payment_event_id: paymentEventId } };
}

/** Every identifier one event carries: its identity keys, its contact fields (not for a payment event), its payments'. */
function identityOfEvent(event: NormalizedEvent): IdentityList {
  const list = new IdentityList();
  const idk = event.contact?.identity;
  if (idk) {
    list.add('mc_id', idk.mcId);
    list.add('ghl_id', idk.ghlId);
    list.add('stripe_customer_id', idk.stripeCustomerId);
    list.add('phone', idk.phone);
    for (const e of idk.emails ?? []) list.add('email', e);
  }
  if (event.contact && !(event.payments?.length ?? 0)) addFieldIdentities(list, event.contact.fields);
  for (const p of event.payments ?? []) list.addAll(paymentIdentities(p));
  return list;
}

/** Every Stripe subscription the events of a batch name (a session that started one, a first invoice): locked and read with them. */
export function subscriptionsOfEvents(events: Iterable<NormalizedEvent>): string[] {
  const ids = new Set<string>();
  for (const event of events) {
    if (event.stripeFirstInvoice) ids.add(event.stripeFirstInvoice.subscriptionId);
    for (const p of event.payments ?? []) if (p.stripeSubscriptionId) ids.add(p.stripeSubscriptionId);
  }
  return [...ids];
}

/**
 * Every payment status ref the events of a batch name (payments, their intents and invoices, status
 * changes, first invoices' intents and invoices, invoice payments' invoices and intents): locked with the
 * identities. A payment that takes its intent from a stored invoice learns that ref (and a session its
 * first invoice) from the read: the write step try-locks them (`WritePlan.statusRefs`, `invoiceRefs`).
 */
export function paymentRefsOfEvents(events: Iterable<NormalizedEvent>): string[] {
  const refs = new Set<string>();
  for (const event of events) {
    for (const p of event.payments ?? []) {
      refs.add(p.paymentEventId);
      if (p.stripePaymentIntentId) refs.add(`pi:${p.stripePaymentIntentId}`);
      if (p.stripeInvoiceId) refs.add(p.stripeInvoiceId);
    }
    for (const u of event.paymentStatusUpdates ?? []) {
      const ref = u.paymentEventId ?? (u.stripePaymentIntentId ? `pi:${u.stripePaymentIntentId}` : null);
      if (ref) refs.add(ref);
    }
    const first = event.stripeFirstInvoice;
    if (first?.paymentIntentId) refs.add(`pi:${first.paymentIntentId}`);
    if (first?.invoiceId) refs.add(first.invoiceId);
    const paid = event.stripeInvoicePayment;
    if (paid) refs.add(paid.invoiceId).add(`pi:${paid.paymentIntentId}`);
  }
  return [...refs];
}

/** Every Stripe invoice the events of a batch name (a renewal's, a first invoice, an invoice payment's): their stored first invoices and invoice payments are read. */
export function invoicesOfEvents(events: Iterable<NormalizedEvent>): string[] {
  const ids = new Set<string>();
  for (const event of events) {
    for (const p of event.payments ?? []) if (p.stripeInvoiceId) ids.add(p.stripeInvoiceId);
    if (event.stripeFirstInvoice?.invoiceId) ids.add(event.stripeFirstInvoice.invoiceId);
    if (event.stripeInvoicePayment) ids.add(event.stripeInvoicePayment.invoiceId);
  }
  return [...ids];
}

/** Every identifier the events of a batch carry: what the read step must look up (and lock) for them. */
export function identitiesOfEvents(events: Iterable<NormalizedEvent>): Identity[] {
  const list = new IdentityList();
  for (const event of events) list.addAll(identityOfEvent(event).values());
  return list.values();
}

export { type ContactColumn, compareStamps };
