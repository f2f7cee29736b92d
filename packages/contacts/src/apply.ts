import { randomUUID } from 'node:crypto';
import { backoffDelay, sleep } from '@mcb/core';
import { send, settle, withTenantRoundTrip } from '@mcb/db';
import type { NormalizedEvent } from '@mcb/sources';
import type { ReservedSql, Sql } from 'postgres';
import { type ContactColumn, contactFieldRules, scalarFields } from './fields';
import {
  type Identity,
  type IdentityKind,
  IdentityList,
  identityOf,
  lockKeyOf,
  paymentRefLockKey,
  sortedLockKeys,
  subscriptionLockKey,
  tenantApplyLockKey,
} from './identities';
import {
  type ApplyContext,
  type ApplyOutcome,
  type ContactRecord,
  type FirstInvoice,
  type InvoicePayment,
  identitiesOfEvents,
  invoicesOfEvents,
  mayCreatePerson,
  type OrphanPayment,
  type PlanItem,
  type PlannedContact,
  paymentIdentities,
  paymentRefsOfEvents,
  planBatch,
  type ReadState,
  subscriptionsOfEvents,
  type WritePlan,
} from './plan';

const columns = scalarFields.map((f) => contactFieldRules[f][0]) as ContactColumn[];
/**
 * `col = r.col` of the contacts update. A provider id (unique per tenant, first touch) another live row
 * still holds in its column stays as it is: data migrated by drizzle/0013 can have that id's identity on
 * this contact and the column on another, and taking it broke the unique key — the event failed for good
 * (review of stop 38). Rows merged away gave theirs up in an earlier statement, so they never block.
 */
function updateColumn(col: ContactColumn): string {
  if (col !== 'mc_id' && col !== 'ghl_id') return `${col} = r.${col}`;
  return `${col} = case when r.${col} is distinct from c.${col} and exists (
    select 1 from contacts o where o.tenant_id = c.tenant_id and o.${col} = r.${col} and o.id <> c.id) then c.${col} else r.${col} end`;
}

/** Lock busy (our try-lock step), deadlock, serialization, unique race: retried with a fresh snapshot. */
const retryableCodes = new Set(['55P03', '40P01', '40001', '23505']);
const maxAttempts = 8;

/**
 * Most identity, payment-ref and subscription keys one apply transaction locks (SPEC §6.5). Postgres keeps
 * advisory locks in one lock table for the whole server (`max_locks_per_transaction` × `max_connections`
 * entries: ~12,800 at the defaults), and whatever statement finds it full fails with "out of shared memory",
 * whichever tenant runs it. A batch took one key per identifier it touched: one tenant's merge of a contact
 * holding 13,000 identifiers (built by its sender's events), or its charges listing thousands of refunds,
 * filled the table, and other tenants' deliveries were answered 503 and their events failed. A batch needing
 * more keys than this holds its tenant's apply lock exclusively instead (`tenantApplyLockKey`; every other
 * apply transaction holds it shared): it runs alone among its tenant's appliers, with no other key to take.
 * A batch of 50 ordinary logs needs at most ~350.
 */
export const maxLockKeysPerTransaction = 512;

/**
 * Most orphan payments one apply transaction reads and links (SPEC §6.3). A person arriving for 100,000
 * orphans on one email linked them all in one transaction: 39 s, and other tenants' p99 went to 7.1 s on the
 * worker's shared event loop; a chain of 150,000 was walked hop by hop to 1.6 GB (red team, stop 34). Past
 * the bound a batch links what it read and leaves the identifiers in `orphan_link_backlog`: the worker's
 * `orphans.link` job (`linkWaitingOrphans`) links the rest, this many per transaction.
 */
export const maxOrphansPerTransaction = 1_000;

/** Thrown inside an attempt whose plan needs more keys than the bound: rolled back and run again holding the tenant's lock. */
class LockKeysPastBound extends Error {}

interface ContactRow {
  id: string;
  created_at: Date;
  first_seen_at: Date | null;
  stage: string | null;
  tags: Record<string, unknown> | null;
  field_meta: ContactRecord['state']['meta'] | null;
  ids: Array<[IdentityKind, string]> | null;
  /** The contact holds more identities than `maxIdentitiesRead`: `ids` has that many and those asked for. */
  ids_cut: boolean;
  [column: string]: unknown;
}

interface OrphanRow {
  payment_event_id: string;
  source: string;
  funnel_event: OrphanPayment['funnelEvent'];
  paid_at: Date;
  webhook_log_id: number | null;
  customer_email: string | null;
  customer_phone: string | null;
  stripe_customer_id: string | null;
}

/**
 * The read step, one round trip with BEGIN: tenant (RLS), the identity (and subscription) locks taken
 * blocking in sorted order, then the live contacts holding any of the identifiers (row-locked, each
 * with all its identities), the orphan payments they match, the stored first invoices of the
 * subscriptions and invoices, and the stored invoice payments of the invoices and of those first
 * invoices. Statements run in order on the server, so the reads see everything committed by
 * appliers that held the same locks before.
 */
function startRead(
  tx: ReservedSql,
  tenantId: string,
  ids: Identity[],
  stripe: { subscriptions: string[]; invoices: string[] },
  locks: { exclusive: boolean; keys: string[] },
  maxOrphans: number,
) {
  const { subscriptions, invoices } = stripe;
  const lockKeys = locks.keys;
  const begin = send(tx`begin`);
  // First, before any other key: a batch holding its tenant's lock exclusively waits only for transactions holding nothing it holds.
  const tenantKey = tenantApplyLockKey(tenantId);
  const tenantLock = send(
    locks.exclusive ? tx`select pg_advisory_xact_lock(${tenantKey}::int8)` : tx`select pg_advisory_xact_lock_shared(${tenantKey}::int8)`,
  );
  const setup = send(tx`
    select set_config('app.tenant_id', ${tenantId}, true),
      (select count(pg_advisory_xact_lock(k)) from unnest(${lockKeys}::int8[]) as k)`);
  const contacts = readContacts(tx, tenantId, ids);
  const orphans = readOrphans(tx, tenantId, ids, maxOrphans + 1);
  // Under RLS each lookup is plain columns compared with `=` / `= any`: an OR of two columns, or
  // `= any(array || array(subquery))`, read every row of the tenant (232 pages at 20,000 invoices).
  const none = subscriptions.length + invoices.length === 0;
  const firstInvoices = none
    ? Promise.resolve([] as FirstInvoice[])
    : send(tx<FirstInvoice[]>`
        select subscription_id as "subscriptionId", invoice_id as "invoiceId", payment_intent_id as "paymentIntentId"
        from stripe_first_invoices
        where tenant_id = ${tenantId} and subscription_id = any(${subscriptions}::text[])
        union
        select subscription_id, invoice_id, payment_intent_id from stripe_first_invoices
        where tenant_id = ${tenantId} and invoice_id = any(${invoices}::text[])`);
  const invoicePayments = none
    ? Promise.resolve([] as InvoicePayment[])
    : send(tx<InvoicePayment[]>`
        select invoice_id as "invoiceId", payment_intent_id as "paymentIntentId" from stripe_invoice_payments
        where tenant_id = ${tenantId} and invoice_id = any(${invoices}::text[])
        union
        select p.invoice_id, p.payment_intent_id from stripe_first_invoices f
        join stripe_invoice_payments p on p.tenant_id = f.tenant_id and p.invoice_id = f.invoice_id
        where f.tenant_id = ${tenantId} and f.subscription_id = any(${subscriptions}::text[])`);
  return {
    statements: [begin, tenantLock, setup, contacts, orphans, firstInvoices, invoicePayments] as Array<Promise<unknown>>,
    contacts,
    orphans,
    firstInvoices,
    invoicePayments,
  };
}

/**
 * Most identities read with a contact beside those the batch asked for. Every event for a person read all
 * of them: a contact given 150,000 identifiers by its tenant's sender cost each batch for it the JSON of
 * all 150,000 (and the orphans.link steps of a long chain, whose person gathers one per orphan, grew to
 * 430 ms of the shared event loop). The plan needs the others only to move them in a merge, which the
 * write step does in SQL: a cut loser makes the batch hold its tenant's lock exclusively (no locks to take
 * for identities it cannot name).
 */
export const maxIdentitiesRead = 1_000;

/**
 * The live contacts holding any of `ids` (row-locked), each with its identities: those among `ids`, and up
 * to `maxIdentitiesRead` others (`ids_cut` when it holds more). `nowait` for contacts
 * found through orphans, whose identities this batch holds no lock on: a busy row fails at once (55P03,
 * retried) rather than waiting (two batches on either side of one orphan deadlocked for 1 s; review, stop 35).
 */
function readContacts(tx: ReservedSql, tenantId: string, ids: Identity[], nowait = false): Promise<ContactRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return send(tx<ContactRow[]>`
    select c.id, c.created_at, c.first_seen_at, c.stage, c.tags, c.field_meta, ${tx.unsafe(columns.map((col) => `c.${col}`).join(', '))},
      (select json_agg(json_build_array(x.kind, x.value)) from (
        (select i.kind, i.value from contact_identities i where i.tenant_id = c.tenant_id and i.contact_id = c.id limit ${maxIdentitiesRead})
        union
        select i.kind, i.value from contact_identities i
        join unnest(${ids.map((i) => i.kind)}::text[], ${ids.map((i) => i.value)}::text[]) as q(kind, value) on i.kind = q.kind and i.value = q.value
        where i.tenant_id = c.tenant_id and i.contact_id = c.id) x) as ids,
      (select count(*) > ${maxIdentitiesRead} from (
        select 1 from contact_identities i where i.tenant_id = c.tenant_id and i.contact_id = c.id limit ${maxIdentitiesRead + 1}) n) as ids_cut
    from contacts c
    where c.tenant_id = ${tenantId} and c.merged_into_id is null and c.id in (
      select i.contact_id from contact_identities i
      join unnest(${ids.map((i) => i.kind)}::text[], ${ids.map((i) => i.value)}::text[]) as q(kind, value) on i.kind = q.kind and i.value = q.value
      where i.tenant_id = ${tenantId})
    for update of c ${nowait ? tx`nowait` : tx``}`);
}

/** Every identifier an orphan payment carries (a stored row, as `paymentIdentities` reads a payment). */
function orphanIdentities(o: OrphanRow): Identity[] {
  return paymentIdentities({ customerEmail: o.customer_email, customerPhone: o.customer_phone, stripeCustomerId: o.stripe_customer_id });
}

/** The identifiers an orphan payment can be found by, per column. */
function orphanKeysOf(ids: Identity[]) {
  const pick = (kind: IdentityKind) => ids.filter((i) => i.kind === kind).map((i) => i.value);
  return { emails: pick('email'), phones: pick('phone'), customers: pick('stripe_customer_id') };
}

/**
 * Orphan payments matching any of `ids` (email, phone, Stripe customer). Every condition is a plain
 * column compared with `=`, so each has its partial index under RLS (an expression such as
 * `lower(customer_email)` would not: see drizzle/0021).
 */
function readOrphans(tx: ReservedSql, tenantId: string, ids: Identity[], limit: number, exclude: string[] = []): Promise<OrphanRow[]> {
  const { emails, phones, customers } = orphanKeysOf(ids);
  if (emails.length + phones.length + customers.length === 0) return Promise.resolve([]);
  return send(tx<OrphanRow[]>`
    select payment_event_id, source, funnel_event, paid_at, webhook_log_id, customer_email, customer_phone, stripe_customer_id
    from payments
    where tenant_id = ${tenantId} and contact_id is null and (
      customer_email_key = any(${emails}::text[]) or customer_phone = any(${phones}::text[])
      or stripe_customer_id = any(${customers}::text[]))
      and payment_event_id <> all(${exclude}::text[])
    limit ${limit}`);
}

/** The identifiers of `ids` an orphan payment can carry (what `orphan_link_backlog` keeps). */
function orphanKinds(ids: Iterable<Identity>): Identity[] {
  const list = new IdentityList();
  for (const id of ids) if (id.kind === 'email' || id.kind === 'phone' || id.kind === 'stripe_customer_id') list.addAll([id]);
  return list.values();
}

/** What the orphan reads of one attempt found: at most `maxOrphans`, and the identifiers whose orphans were not all read. */
interface OrphansRead {
  rows: OrphanRow[];
  pending: Identity[];
}

/**
 * Orphans linked together by an identifier only they share (a payment with email and phone, another
 * with the same phone): once the person gains the first, the others follow (SPEC §6.3). Each further hop
 * is one more statement in the same transaction. At most `maxOrphans` in all (`first` is the read step's,
 * which asked for one more): past it, `pending` names the identifiers whose orphans were not all read —
 * what the backlog keeps. Only the last frontier's orphans can carry an identifier not followed yet, so
 * only they are left out of the next hop's read, and its limit counts new orphans alone.
 */
async function chaseOrphans(
  tx: ReservedSql,
  tenantId: string,
  ids: Identity[],
  first: OrphanRow[],
  maxOrphans: number,
): Promise<OrphansRead> {
  const seen = new IdentityList();
  seen.addAll(ids);
  const pending = new IdentityList();
  if (first.length > maxOrphans) pending.addAll(orphanKinds(ids));
  let frontier = first.slice(0, maxOrphans);
  const all = new Map(frontier.map((o) => [o.payment_event_id, o]));
  for (;;) {
    const next: Identity[] = [];
    for (const o of frontier) {
      for (const id of orphanIdentities(o)) {
        if (!seen.has(id)) {
          seen.addAll([id]);
          next.push(id);
        }
      }
    }
    if (next.length === 0) return { rows: [...all.values()], pending: pending.values() };
    // With no room left, one row is still asked for: none means these identifiers have nothing waiting.
    const room = maxOrphans - all.size;
    const exclude = frontier.map((o) => o.payment_event_id);
    const read = await readOrphans(tx, tenantId, next, room + 1, exclude);
    frontier = read.slice(0, room);
    for (const o of frontier) all.set(o.payment_event_id, o);
    if (read.length > room) {
      pending.addAll(next);
      pending.addAll(frontier.flatMap(orphanIdentities));
      return { rows: [...all.values()], pending: pending.values() };
    }
  }
}

function readStateOf(
  contacts: ContactRow[],
  orphans: OrphanRow[],
  firstInvoices: FirstInvoice[],
  invoicePayments: InvoicePayment[],
): ReadState {
  return {
    firstInvoices: [...firstInvoices],
    invoicePayments: [...invoicePayments],
    contacts: contacts.map((r) => {
      const values: ContactRecord['state']['values'] = {};
      for (const c of columns) values[c] = (r[c] as string | null) ?? null;
      return {
        id: r.id,
        identitiesCut: r.ids_cut,
        createdAt: r.created_at,
        firstSeenAt: r.first_seen_at,
        stage: r.stage,
        state: { values, tags: r.tags ?? {}, meta: r.field_meta ?? {} },
      };
    }),
    identities: contacts.flatMap((r) => (r.ids ?? []).map(([kind, value]) => ({ kind, value, contactId: r.id }))),
    orphans: orphans.map((o) => ({
      paymentEventId: o.payment_event_id,
      source: o.source,
      funnelEvent: o.funnel_event,
      paidAt: o.paid_at,
      webhookLogId: o.webhook_log_id === null ? null : Number(o.webhook_log_id),
      customerEmail: o.customer_email,
      customerPhone: o.customer_phone,
      stripeCustomerId: o.stripe_customer_id,
    })),
  };
}

const contactRecordset = `id uuid, ${columns.map((c) => `${c} text`).join(', ')}, stage text, first_seen_at timestamptz, tags jsonb, field_meta jsonb, merged_into_id uuid`;

function contactJson(rows: PlannedContact[]): string {
  return JSON.stringify(
    rows.map((c) => {
      const row: Record<string, unknown> = { id: c.id };
      for (const col of columns) row[col] = c.values[col] ?? null;
      return {
        ...row,
        stage: c.stage,
        first_seen_at: c.firstSeenAt.toISOString(),
        tags: c.tags,
        field_meta: c.meta,
        merged_into_id: c.mergedIntoId,
      };
    }),
  );
}

/**
 * The write step: every statement of the plan, pipelined after the read in one more round trip,
 * ending in COMMIT. First the try-locks of identities the read discovered (a busy one aborts with
 * 55P03 and the batch is retried with every key locked upfront), then the check that no orphan
 * payment of those identities was committed after the read (one would stay unlinked: 40001, retried).
 */
/**
 * Longest an apply transaction may stay open: past it, it rolls back instead of committing (retried).
 * Its funnel events carry its start as `created_at` but become visible at commit; the Conversions API
 * scan re-reads `settleMs` (10 min, packages/capi) behind its mark, which must stay above this.
 */
export const maxApplyTransactionMs = 5 * 60_000;

function startWrite(
  tx: ReservedSql,
  tenantId: string,
  plan: WritePlan,
  late: { keys: string[]; ids: Identity[]; seenOrphans: string[] },
  backlog: { done: Identity[]; left: Identity[] },
  maxTransactionMs: number,
): Array<Promise<unknown>> {
  const t = tenantId;
  const out: Array<Promise<unknown>> = [];
  const q = (query: PromiseLike<unknown>) => out.push(send(query));
  if (late.keys.length > 0) q(tx`select mcb_try_xact_locks(${late.keys}::int8[])`);
  const { emails, phones, customers } = orphanKeysOf(late.ids);
  if (emails.length + phones.length + customers.length > 0)
    q(
      tx`select mcb_check_orphans_seen(${t}::uuid, ${emails}::text[], ${phones}::text[], ${customers}::text[], ${late.seenOrphans}::text[])`,
    );
  if (backlog.done.length > 0)
    q(tx`
      delete from orphan_link_backlog b using unnest(${backlog.done.map((i) => i.kind)}::text[], ${backlog.done.map((i) => i.value)}::text[]) as d(k, v)
      where b.tenant_id = ${t} and b.kind = d.k and b.value = d.v`);
  if (backlog.left.length > 0)
    q(tx`
      insert into orphan_link_backlog (tenant_id, kind, value)
      select ${t}::uuid, k, v from unnest(${backlog.left.map((i) => i.kind)}::text[], ${backlog.left.map((i) => i.value)}::text[]) as x(k, v)
      on conflict do nothing`);
  const losers = plan.merges.map((m) => m.loserId);
  // Provider ids are unique per tenant: a loser gives them up before a survivor or a new record takes them.
  if (losers.length > 0) q(tx`update contacts set mc_id = null, ghl_id = null where tenant_id = ${t} and id = any(${losers}::uuid[])`);
  const recordset = tx.unsafe(contactRecordset);
  const cols = tx.unsafe(columns.join(', '));
  if (plan.inserts.length > 0)
    q(tx`
      insert into contacts (tenant_id, id, ${cols}, stage, first_seen_at, tags, field_meta, merged_into_id)
      select ${t}::uuid, r.id, ${tx.unsafe(columns.map((c) => `r.${c}`).join(', '))}, r.stage, r.first_seen_at, coalesce(r.tags, '{}'), coalesce(r.field_meta, '{}'), r.merged_into_id
      from jsonb_to_recordset(${contactJson(plan.inserts)}::text::jsonb) as r(${recordset})`);
  if (losers.length > 0) {
    const survivors = plan.merges.map((m) => m.survivorId);
    q(tx`
      with m as (select * from unnest(${losers}::uuid[], ${survivors}::uuid[]) as m(loser, survivor)),
      a as (update contacts c set merged_into_id = m.survivor, updated_at = now() from m where c.tenant_id = ${t} and c.id = m.loser returning 1),
      b as (update contacts c set merged_into_id = m.survivor from m where c.tenant_id = ${t} and c.merged_into_id = m.loser returning 1),
      f as (update funnel_events x set contact_id = m.survivor from m where x.tenant_id = ${t} and x.contact_id = m.loser returning 1),
      p as (update payments x set contact_id = m.survivor from m where x.tenant_id = ${t} and x.contact_id = m.loser returning 1),
      l as (update contact_field_changes x set contact_id = m.survivor from m where x.tenant_id = ${t} and x.contact_id = m.loser returning 1),
      i as (update contact_identities x set contact_id = m.survivor, merged_from_id = coalesce(x.merged_from_id, m.loser)
            from m where x.tenant_id = ${t} and x.contact_id = m.loser returning 1)
      select (select count(*) from a), (select count(*) from b), (select count(*) from f), (select count(*) from p),
        (select count(*) from l), (select count(*) from i)`);
  }
  if (plan.updates.length > 0)
    q(tx`
      update contacts c set ${tx.unsafe(columns.map(updateColumn).join(', '))}, stage = r.stage,
        first_seen_at = r.first_seen_at, tags = r.tags, field_meta = r.field_meta, updated_at = now()
      from jsonb_to_recordset(${contactJson(plan.updates)}::text::jsonb) as r(${recordset})
      where c.tenant_id = ${t} and c.id = r.id`);
  if (plan.identities.length > 0) {
    const ids = plan.identities;
    q(tx`
      insert into contact_identities (tenant_id, kind, value, contact_id, source, webhook_log_id, first_seen_at)
      select ${t}::uuid, k, v, c, s, l, a
      from unnest(${ids.map((i) => i.kind)}::text[], ${ids.map((i) => i.value)}::text[], ${ids.map((i) => i.contactId)}::uuid[],
        ${ids.map((i) => i.source)}::text[], ${ids.map((i) => i.logId)}::int8[], ${ids.map((i) => i.at.toISOString())}::timestamptz[]) as x(k, v, c, s, l, a)
      on conflict (tenant_id, kind, value) do nothing`);
  }
  if (plan.payments.length > 0) {
    const rows = plan.payments.map(({ payment: p, contactId, paidAt, logId }) => ({
      contact_id: contactId,
      payment_event_id: p.paymentEventId,
      source: p.source,
      payment_type: p.paymentType,
      category: p.category,
      amount_cents: p.amountCents,
      currency: p.currency,
      status: p.status,
      customer_email: p.customerEmail ?? null,
      // What an email identity of the person is (JavaScript's lowercasing), for the orphan lookups.
      customer_email_key: identityOf('email', p.customerEmail)?.value ?? null,
      customer_name: p.customerName ?? null,
      customer_phone: p.customerPhone ?? null,
      paid_at: paidAt.toISOString(),
      webhook_log_id: logId,
      stripe_customer_id: p.stripeCustomerId ?? null,
      stripe_session_id: p.stripeSessionId ?? null,
      stripe_payment_intent_id: p.stripePaymentIntentId ?? null,
      stripe_subscription_id: p.stripeSubscriptionId ?? null,
      denefits_contract_code: p.denefitsContractCode ?? null,
      denefits_financed_cents: p.denefitsFinancedCents ?? null,
      denefits_recurring_cents: p.denefitsRecurringCents ?? null,
      denefits_num_payments: p.denefitsNumPayments ?? null,
      denefits_remaining_payments: p.denefitsRemainingPayments ?? null,
      funnel_event: p.funnelEvent ?? null,
    }));
    q(tx`
      insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, currency, status,
        customer_email, customer_email_key, customer_name, customer_phone, paid_at, webhook_log_id, stripe_customer_id, stripe_session_id,
        stripe_payment_intent_id, stripe_subscription_id, denefits_contract_code, denefits_financed_cents, denefits_recurring_cents,
        denefits_num_payments, denefits_remaining_payments, funnel_event)
      select ${t}::uuid, r.contact_id, r.payment_event_id, r.source, r.payment_type, r.category, r.amount_cents, r.currency, r.status,
        r.customer_email, r.customer_email_key, r.customer_name, r.customer_phone, r.paid_at, r.webhook_log_id, r.stripe_customer_id, r.stripe_session_id,
        r.stripe_payment_intent_id, r.stripe_subscription_id, r.denefits_contract_code, r.denefits_financed_cents, r.denefits_recurring_cents,
        r.denefits_num_payments, r.denefits_remaining_payments, r.funnel_event
      from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as r(contact_id uuid, payment_event_id text, source text,
        payment_type text, category text, amount_cents int8, currency text, status text, customer_email text, customer_email_key text, customer_name text,
        customer_phone text, paid_at timestamptz, webhook_log_id int8, stripe_customer_id text, stripe_session_id text,
        stripe_payment_intent_id text, stripe_subscription_id text, denefits_contract_code text, denefits_financed_cents int8, denefits_recurring_cents int8,
        denefits_num_payments int4, denefits_remaining_payments int4, funnel_event text)
      on conflict (tenant_id, payment_event_id) do nothing`);
  }
  if (plan.firstInvoices.length > 0) {
    // One row per subscription in a plan; a stored one only gains what it lacked.
    const f = plan.firstInvoices;
    q(tx`
      insert into stripe_first_invoices as f (tenant_id, subscription_id, payment_intent_id, invoice_id, webhook_log_id)
      select ${t}::uuid, s, p, i, l
      from unnest(${f.map((x) => x.subscriptionId)}::text[], ${f.map((x) => x.paymentIntentId)}::text[], ${f.map((x) => x.invoiceId)}::text[],
        ${f.map((x) => x.logId)}::int8[]) as x(s, p, i, l)
      on conflict (tenant_id, subscription_id) do update
        set payment_intent_id = coalesce(f.payment_intent_id, excluded.payment_intent_id), invoice_id = coalesce(f.invoice_id, excluded.invoice_id)`);
  }
  if (plan.invoicePayments.length > 0) {
    const ip = plan.invoicePayments;
    q(tx`
      insert into stripe_invoice_payments (tenant_id, invoice_id, payment_intent_id, webhook_log_id)
      select ${t}::uuid, i, p, l
      from unnest(${ip.map((x) => x.invoiceId)}::text[], ${ip.map((x) => x.paymentIntentId)}::text[], ${ip.map((x) => x.logId)}::int8[]) as x(i, p, l)
      on conflict do nothing`);
  }
  const { bySubscription, byInvoice } = plan.intentHandovers;
  // A payment stored before the intent was known (this batch's inserts included) takes it: the session
  // payment of a subscription from its first invoice, the payment booked for an invoice from its invoice payment.
  if (bySubscription.length > 0)
    q(tx`
      update payments p set stripe_payment_intent_id = h.p
      from unnest(${bySubscription.map((h) => h.subscriptionId)}::text[], ${bySubscription.map((h) => h.paymentIntentId)}::text[]) as h(s, p)
      where p.tenant_id = ${t} and p.stripe_subscription_id = h.s and p.stripe_payment_intent_id is null and p.payment_type <> 'refund'`);
  if (byInvoice.length > 0)
    q(tx`
      update payments p set stripe_payment_intent_id = h.p
      from unnest(${byInvoice.map((h) => h.invoiceId)}::text[], ${byInvoice.map((h) => h.paymentIntentId)}::text[]) as h(i, p)
      where p.tenant_id = ${t} and p.payment_event_id = h.i and p.source = 'stripe' and p.stripe_payment_intent_id is null
        and p.payment_type <> 'refund'`);
  if (plan.orphanLinks.length > 0)
    q(tx`
      update payments p set contact_id = l.c
      from unnest(${plan.orphanLinks.map((l) => l.paymentEventId)}::text[], ${plan.orphanLinks.map((l) => l.contactId)}::uuid[]) as l(e, c)
      where p.tenant_id = ${t} and p.payment_event_id = l.e and p.contact_id is null`);
  if (plan.statusChanges.length > 0) {
    const s = plan.statusChanges;
    q(tx`
      insert into payment_status_changes (tenant_id, payment_ref, webhook_log_id, status, occurred_at)
      select ${t}::uuid, r, l, s, a
      from unnest(${s.map((c) => c.paymentRef)}::text[], ${s.map((c) => c.logId)}::int8[], ${s.map((c) => c.status)}::text[],
        ${s.map((c) => c.at.toISOString())}::timestamptz[]) as x(r, l, s, a)
      on conflict do nothing`);
  }
  if (plan.statusRefs.length > 0) {
    // A payment's status is its newest change (by event time, then log), whichever was processed first.
    // The intent id is cut out here, not in the join: under RLS only leakproof comparisons reach an
    // index, and substr() is not — `p.stripe_payment_intent_id = substr(…)` read every payment of the tenant.
    // A change by payment intent (a dispute) is the sale's: a refund of that intent keeps its own status.
    const latest = tx`
      select distinct on (payment_ref) payment_ref, status,
        case when payment_ref like 'pi:%' then substr(payment_ref, 4) end as intent_id
      from payment_status_changes
      where tenant_id = ${t} and payment_ref = any(${plan.statusRefs}::text[])
      order by payment_ref, occurred_at desc, webhook_log_id desc`;
    q(tx`
      with s as (${latest}),
      e as (update payments p set status = s.status from s
            where p.tenant_id = ${t} and p.payment_event_id = s.payment_ref and p.status is distinct from s.status returning 1),
      i as (update payments p set status = s.status from s
            where p.tenant_id = ${t} and p.stripe_payment_intent_id = s.intent_id and p.payment_type <> 'refund'
              and p.status is distinct from s.status returning 1)
      select (select count(*) from e), (select count(*) from i)`);
  }
  if (plan.funnelEvents.length > 0) {
    const fe = plan.funnelEvents;
    q(tx`
      insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id, webhook_log_id, data)
      select ${t}::uuid, c, y, o, s, k, l, d
      from unnest(${fe.map((e) => e.contactId)}::uuid[], ${fe.map((e) => e.type)}::text[], ${fe.map((e) => e.at.toISOString())}::timestamptz[],
        ${fe.map((e) => e.source)}::text[], ${fe.map((e) => e.sourceEventId)}::text[], ${fe.map((e) => e.logId)}::int8[],
        ${fe.map((e) => JSON.stringify(e.data))}::text[]::jsonb[]) as x(c, y, o, s, k, l, d)
      on conflict (tenant_id, source, source_event_id) do nothing`);
  }
  if (plan.fieldChanges.length > 0) {
    const ch = plan.fieldChanges;
    q(tx`
      insert into contact_field_changes (tenant_id, contact_id, field, old_value, new_value, webhook_log_id)
      select ${t}::uuid, c, f, o, n, l
      from unnest(${ch.map((c) => c.contactId)}::uuid[], ${ch.map((c) => c.field)}::text[], ${ch.map((c) => c.oldValue)}::text[],
        ${ch.map((c) => c.newValue)}::text[], ${ch.map((c) => c.logId)}::int8[]) as x(c, f, o, n, l)`);
  }
  if (plan.logMarks.length > 0) {
    const m = plan.logMarks;
    // The outcome rides in the apply transaction: no commit of its own.
    q(tx`
      update webhook_logs w set status = m.s, event_type = coalesce(m.y, w.event_type), contact_id = coalesce(m.c, w.contact_id),
        error_message = m.r, processed_at = now()
      from unnest(${m.map((x) => x.logId)}::int8[], ${m.map((x) => x.status)}::text[], ${m.map((x) => x.eventType)}::text[],
        ${m.map((x) => x.contactId)}::uuid[], ${m.map((x) => x.reason)}::text[]) as m(id, s, y, c, r)
      where w.tenant_id = ${t} and w.id = m.id`);
  }
  // Last before COMMIT: a transaction open too long fails here, so the COMMIT rolls it back.
  q(tx`select mcb_check_transaction_age(${`${maxTransactionMs} milliseconds`}::interval)`);
  q(tx`commit`);
  return out;
}

/** Counters of the last batches (for the worker's metrics and the benchmark's profile). */
export interface ApplyStats {
  attempts: number;
  lockConflicts: number;
}

/** Limits and hooks of one `applyLogs` call; every one has a default. */
export interface ApplyOptions {
  maxTransactionMs?: number;
  maxLockKeys?: number;
  /** Most orphans read and linked in the transaction (`maxOrphansPerTransaction`). */
  maxOrphans?: number;
  /** Identifiers of `orphan_link_backlog` to link the waiting orphans of, and then delete (`linkWaitingOrphans`). */
  linkFor?: Identity[];
  /** Called after a commit that left identifiers in `orphan_link_backlog`: an `orphans.link` job is due. */
  onBacklog?: () => void;
  /** Set after the commit: orphans the transaction linked for `linkFor`, and whether it held its tenant's apply lock exclusively. */
  linked?: { orphans: number; exclusive?: boolean };
  /** Hold the tenant's apply lock exclusively from the first attempt (a step after one that needed to: `linkWaitingOrphans`). */
  exclusive?: boolean;
}

/**
 * Applies a batch of webhook logs of ONE tenant in one transaction and two round trips (SPEC §6):
 * read (locks + contacts + identities + orphans), decide in `planBatch` (pure), write everything and
 * mark each log `processed` / `ignored`. Race-free: identity advisory locks (§6.5), at most `maxLockKeys`
 * of them — a batch needing more holds its tenant's apply lock exclusively instead;
 * idempotent: applying the same logs again changes no row (§6.6). Lock conflicts, deadlocks and
 * unique races are retried here with fresh snapshots. A data error fails the whole batch: the caller
 * applies the logs one by one to find the bad one.
 */
export async function applyLogs(
  sql: Sql,
  tenantId: string,
  items: PlanItem[],
  stats?: ApplyStats,
  options: ApplyOptions = {},
): Promise<ApplyOutcome[][]> {
  const {
    maxTransactionMs = maxApplyTransactionMs,
    maxLockKeys = maxLockKeysPerTransaction,
    maxOrphans = maxOrphansPerTransaction,
    linkFor = [],
  } = options;
  for (const item of items)
    if (item.ctx.tenantId !== tenantId) throw new Error(`applyLogs: log ${item.ctx.logId} is not of tenant ${tenantId}`);
  const idList = new IdentityList();
  idList.addAll(identitiesOfEvents(items.flatMap((i) => i.events)));
  idList.addAll(linkFor);
  const ids = idList.values();
  const subscriptions = subscriptionsOfEvents(items.flatMap((i) => i.events));
  const invoices = invoicesOfEvents(items.flatMap((i) => i.events));
  let upfront = [
    ...subscriptions.map((s) => subscriptionLockKey(tenantId, s)),
    ...paymentRefsOfEvents(items.flatMap((i) => i.events)).map((r) => paymentRefLockKey(tenantId, r)),
  ];
  // Once a batch needs more keys than the bound, it holds its tenant's apply lock exclusively and no other key.
  let exclusive = options.exclusive ?? false;
  for (let attempt = 1; ; attempt++) {
    if (stats) stats.attempts++;
    const tx = await sql.reserve();
    let open = false;
    try {
      let keys = exclusive ? [] : sortedLockKeys(tenantId, ids, upfront);
      if (keys.length > maxLockKeys) {
        exclusive = true;
        keys = [];
      }
      const read = startRead(tx, tenantId, ids, { subscriptions, invoices }, { exclusive, keys }, maxOrphans);
      open = true;
      await settle(read.statements);
      const contacts = [...(await read.contacts)];
      // Orphans are linked only to a person. A batch that can have none — payments alone, matching no
      // contact — needs none of the orphans further down a chain: each hop is a statement, and a tenant's
      // chain of 10,000 orphans made every payment sent to it cost the whole chain (built at 25/s).
      // Past the bound, it leaves nothing to link later either.
      const personless = contacts.length === 0 && !items.some((i) => i.events.some(mayCreatePerson));
      const first = await read.orphans;
      const found: OrphansRead = personless
        ? { rows: first.slice(0, maxOrphans), pending: [] }
        : await chaseOrphans(tx, tenantId, ids, first, maxOrphans);
      const orphans = found.rows;
      // An orphan may carry an identifier someone holds already: its person came by that identifier while the
      // orphan waited in the backlog. Linking it makes them one (as linking at once would have): read them too.
      const known = new IdentityList();
      known.addAll(ids);
      for (const c of contacts) for (const [kind, value] of c.ids ?? []) known.add(kind, value);
      const carried = personless ? [] : orphanKinds(orphans.flatMap(orphanIdentities)).filter((id) => !known.has(id));
      const matched = new Map(contacts.map((c) => [c.id, c]));
      for (const c of await readContacts(tx, tenantId, carried, true)) {
        const already = matched.get(c.id);
        // Read already, with its identities cut: those the orphans carry are added.
        if (already) already.ids = [...(already.ids ?? []), ...(c.ids ?? [])];
        else contacts.push(c);
      }
      const stored = readStateOf(contacts, orphans, await read.firstInvoices, await read.invoicePayments);
      const { plan, outcomes, linked } = planBatch(stored, items, {
        newId: randomUUID,
        now: new Date(),
        linkFor,
      });
      // More identities to take than the bound allows, whichever are held already: no need to hash them to know.
      // A merged-away contact whose identities were not all read has some this batch cannot lock by name.
      if (!exclusive && (plan.touched.length > maxLockKeys || plan.movesUnread)) throw new LockKeysPastBound();
      // Alone among its tenant's appliers, a batch holding the tenant's lock has nothing to try-lock or re-check.
      const held = new Set(keys);
      const lateIds = exclusive ? [] : plan.touched.filter((id) => !held.has(lockKeyOf(tenantId, id)));
      // A ref learnt from the read (a session's intent or first invoice, a renewal's intent) is try-locked too.
      const lateRefs = exclusive
        ? []
        : [
            ...[...plan.statusRefs, ...plan.invoiceRefs].map((r) => paymentRefLockKey(tenantId, r)),
            ...plan.subscriptionRefs.map((s) => subscriptionLockKey(tenantId, s)),
          ].filter((k) => !held.has(k));
      const extra = sortedLockKeys(tenantId, lateIds, lateRefs);
      if (keys.length + extra.length > maxLockKeys) throw new LockKeysPastBound();
      upfront = [...keys, ...extra];
      const seenOrphans = orphans.map((o) => o.payment_event_id);
      // Orphans past the bound wait in the backlog, by the identifiers whose orphans were not all read;
      // the check that no orphan of a late identity was committed unseen is for the others.
      // Only an identifier someone holds once this commits can have its orphans linked: one nobody holds
      // is not kept (the person who claims it reads its orphans then). Kept, a hostile sender's identifier
      // with thousands of orphans filled every step's read, and its job never ended (review, stop 35).
      const owned = new IdentityList();
      for (const c of contacts) for (const [kind, value] of c.ids ?? []) owned.add(kind, value);
      owned.addAll(plan.identities);
      const left = found.pending.filter((id) => owned.has(id));
      const pending = new IdentityList();
      pending.addAll(left);
      const checked = lateIds.filter((id) => !pending.has(id));
      const backlog = { done: orphanKinds(linkFor), left };
      const writes = startWrite(tx, tenantId, plan, { keys: extra, ids: checked, seenOrphans }, backlog, maxTransactionMs);
      await settle(writes);
      open = false;
      if (options.linked) Object.assign(options.linked, { orphans: linked.linkedOrphans, exclusive });
      if (left.length > 0) options.onBacklog?.();
      return outcomes;
    } catch (err) {
      if (open) await tx`rollback`.catch(() => {});
      if (err instanceof LockKeysPastBound) {
        exclusive = true;
        continue;
      }
      const code = (err as { code?: string }).code;
      if (code === '55P03' && stats) stats.lockConflicts++;
      if (!(code !== undefined && retryableCodes.has(code)) || attempt >= maxAttempts) throw err;
      await sleep(backoffDelay(attempt - 1, { baseMs: 5, maxMs: 40, jitter: 'full' }));
    } finally {
      tx.release();
    }
  }
}

/** Most `orphan_link_backlog` identifiers one `linkWaitingOrphans` transaction takes (each is locked like a batch's identities). */
export const maxBacklogIdentitiesPerTransaction = 200;

/**
 * One step of the `orphans.link` job: takes the oldest identifiers of the tenant's `orphan_link_backlog`
 * and, in one apply transaction under their identity locks, links the orphans waiting on them to each one's
 * owner (at most `maxOrphans`), deleting those identifiers, or keeping them when orphans are still left.
 * Returns the orphans linked, the identifiers taken (0: the backlog is empty) and whether the step held its
 * tenant's apply lock exclusively (its orphans brought more lock keys than the bound): the job runs steps
 * until the backlog is empty, the next ones exclusive from the start once one was, rather than planning
 * every step twice (a chain's 1,000 orphans are about 500 hops of one statement each).
 */
export async function linkWaitingOrphans(
  sql: Sql,
  tenantId: string,
  options: Omit<ApplyOptions, 'linkFor' | 'linked'> & { maxIdentities?: number; stats?: ApplyStats } = {},
): Promise<{ linked: number; identities: number; exclusive: boolean }> {
  const { maxIdentities = maxBacklogIdentitiesPerTransaction, stats, ...rest } = options;
  const rows = await withTenantRoundTrip(
    sql,
    tenantId,
    (tx) => tx<Array<{ kind: IdentityKind; value: string }>>`
      select kind, value from orphan_link_backlog where tenant_id = ${tenantId}
      order by created_at, kind, value limit ${maxIdentities}`,
  );
  if (rows.length === 0) return { linked: 0, identities: 0, exclusive: false };
  const linked = { orphans: 0, exclusive: false };
  await applyLogs(sql, tenantId, [], stats, { ...rest, linkFor: rows.map((r) => ({ kind: r.kind, value: r.value })), linked });
  return { linked: linked.orphans, identities: rows.length, exclusive: linked.exclusive };
}

/** One event of one log (tests, tools): `applyLogs` with a single item; marks the log `processed`. */
export async function applyNormalizedEvent(sql: Sql, ctx: ApplyContext, event: NormalizedEvent): Promise<ApplyOutcome> {
  const [outcomes] = await applyLogs(sql, ctx.tenantId, [{ ctx, events: [event], status: 'processed', eventType: null, reason: null }]);
  return outcomes?.[0] as ApplyOutcome;
}

export type { ApplyContext, ApplyOutcome, PlanItem };
