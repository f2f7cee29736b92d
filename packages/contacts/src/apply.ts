import {
  type ContactFields,
  type FunnelEventType,
  laterStage,
  type NormalizedEvent,
  type NormalizedPayment,
  stageForEvent,
} from '@mcb/sources';
import type { PendingQuery, Row, Sql, TransactionSql } from 'postgres';
import {
  type ContactColumn,
  type ContactState,
  contactFieldRules,
  type FieldChange,
  planFieldUpdates,
  type Stamp,
  scalarFields,
  stateAsIncoming,
} from './fields';
import { addIdentity, emptyIdentity, IdentityLocks, type IdentitySet, LockConflict, lockKeysOf } from './locks';

/** The webhook log an event comes from. */
export interface ApplyContext {
  tenantId: string;
  logId: number;
  /** `webhook_logs.received_at`: the event time when the provider gives none. */
  receivedAt: Date;
  /** `webhook_logs.dedupe_key`: funnel events derive their `source_event_id` from it (SPEC §6.6). */
  dedupeKey: string;
}

export interface ApplyOptions {
  /**
   * Also mark the log `processed` (event type, contact id, processed_at) in the same transaction —
   * the processor passes it for a log's last event. `contactId` is used when this event has none;
   * `eventType` null leaves the stored one (and the log-search trigger on `event_type`) alone.
   */
  markLog?: { eventType: string | null; contactId?: string | null };
}

export interface ApplyOutcome {
  /** The (surviving) contact the event was applied to; null for an orphan payment or an event with no identity. */
  contactId: string | null;
  created: boolean;
  merged: string[];
  linkedOrphans: number;
  fieldChanges: number;
}

interface ContactRow {
  id: string;
  mc_id: string | null;
  ghl_id: string | null;
  email_primary: string | null;
  email_booking: string | null;
  email_payment: string | null;
  phone: string | null;
  stripe_customer_id: string | null;
  stage: string | null;
  tags: Record<string, unknown>;
  field_meta: ContactState['meta'];
  first_seen_at: Date | null;
  known_emails: string[];
  known_phones: string[];
  created_at: Date;
  [column: string]: unknown;
}

interface OrphanRow {
  payment_event_id: string;
  source: string;
  funnel_event: FunnelEventType | null;
  paid_at: Date;
  webhook_log_id: number | null;
  customer_email: string | null;
  customer_phone: string | null;
  stripe_customer_id: string | null;
}

const columns = scalarFields.map((f) => contactFieldRules[f][0]);
const retryableCodes = new Set(['40P01', '40001', '23505']);

/**
 * Applies one normalized event in one transaction under the tenant (RLS): identity matching
 * (SPEC §6.1), merge (§6.2), orphan payments (§6.3), field rules (§6.4, §6.7), lineage.
 * Race-free (advisory locks on hashed identity keys, §6.5) and idempotent (§6.6): applying the same
 * event of the same log again changes no row. `index` numbers the events of one log.
 * Lock conflicts, deadlocks and unique races are retried here, a few times, with fresh snapshots.
 */
export async function applyNormalizedEvent(
  sql: Sql,
  ctx: ApplyContext,
  event: NormalizedEvent,
  index = 0,
  options: ApplyOptions = {},
): Promise<ApplyOutcome> {
  let upfront: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      // Same contract as `withTenantSql`; the tenant is set by the transaction's first statement.
      return (await sql.begin((tx) => applyInTransaction(tx, ctx, event, index, upfront, options))) as ApplyOutcome;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const retry = err instanceof LockConflict || (code !== undefined && retryableCodes.has(code));
      if (!retry || attempt >= 8) throw err;
      if (err instanceof LockConflict) upfront = err.keys;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
    }
  }
}

function paidAtOf(p: NormalizedPayment, fallback: Date): Date {
  const d = p.paidAt ? new Date(p.paidAt) : null;
  return d && !Number.isNaN(d.getTime()) ? d : fallback;
}

function eventTime(ctx: ApplyContext, event: NormalizedEvent): Date {
  for (const candidate of [event.occurredAt, event.funnelEvent?.occurredAt]) {
    const d = candidate ? new Date(candidate) : null;
    if (d && !Number.isNaN(d.getTime())) return d;
  }
  return ctx.receivedAt;
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

function identityOfFields(set: IdentitySet, fields: ContactFields): void {
  addIdentity(set, 'mcIds', fields.mcId);
  addIdentity(set, 'ghlIds', fields.ghlId);
  addIdentity(set, 'stripeCustomerIds', fields.stripeCustomerId);
  for (const e of [fields.emailPrimary, fields.emailBooking, fields.emailPayment]) addIdentity(set, 'emails', e);
  addIdentity(set, 'phones', fields.phone);
}

function identityOfRow(row: Partial<ContactRow>): IdentitySet {
  const set = emptyIdentity();
  addIdentity(set, 'mcIds', row.mc_id);
  addIdentity(set, 'ghlIds', row.ghl_id);
  addIdentity(set, 'stripeCustomerIds', row.stripe_customer_id);
  for (const e of [row.email_primary, row.email_booking, row.email_payment]) addIdentity(set, 'emails', e);
  addIdentity(set, 'phones', row.phone);
  for (const e of row.known_emails ?? []) addIdentity(set, 'emails', e);
  for (const p of row.known_phones ?? []) addIdentity(set, 'phones', p);
  return set;
}

function mergeIdentity(into: IdentitySet, from: IdentitySet): IdentitySet {
  for (const kind of Object.keys(from) as Array<keyof IdentitySet>) for (const v of from[kind]) addIdentity(into, kind, v);
  return into;
}

const sameSet = (a: string[] | undefined, b: string[]) => (a ?? []).length === b.length && b.every((v) => (a ?? []).includes(v));

function stateOf(row: ContactRow): ContactState {
  const values: ContactState['values'] = {};
  for (const c of columns) values[c] = (row[c] as string | null) ?? null;
  return { values, tags: row.tags ?? {}, meta: row.field_meta ?? {} };
}

async function findContacts(tx: TransactionSql, id: IdentitySet): Promise<ContactRow[]> {
  return tx<ContactRow[]>`
    select * from contacts
    where merged_into_id is null and (
      mc_id = any(${id.mcIds}::text[]) or ghl_id = any(${id.ghlIds}::text[])
      or stripe_customer_id = any(${id.stripeCustomerIds}::text[])
      or lower(email_primary) = any(${id.emails}::text[]) or lower(email_booking) = any(${id.emails}::text[])
      or lower(email_payment) = any(${id.emails}::text[]) or phone = any(${id.phones}::text[])
      or known_emails && ${id.emails}::text[] or known_phones && ${id.phones}::text[])
    order by first_seen_at asc nulls last, created_at asc, id asc
    for update`;
}

function hasIdentity(id: IdentitySet): boolean {
  return Object.values(id).some((l) => l.length > 0);
}

async function applyInTransaction(
  tx: TransactionSql,
  ctx: ApplyContext,
  event: NormalizedEvent,
  index: number,
  upfront: string[],
  options: ApplyOptions,
): Promise<ApplyOutcome> {
  const at = eventTime(ctx, event);
  const stamp: Stamp = { at: at.toISOString(), logId: String(ctx.logId) };
  const payments = event.payments ?? [];
  const outcome: ApplyOutcome = { contactId: null, created: false, merged: [], linkedOrphans: 0, fieldChanges: 0 };

  // What the event says about the person, each part with its stamp.
  const incoming: Array<{ fields: ContactFields; stamp: Stamp }> = [];
  const identity = emptyIdentity();
  // A payment event contributes only what its payments prove (the same fields an orphan gives when it is
  // linked later), so the result does not depend on which came first; its identity still matches.
  if (event.contact && payments.length > 0) {
    const idk = event.contact.identity;
    for (const [kind, v] of [
      ['mcIds', idk.mcId],
      ['ghlIds', idk.ghlId],
      ['stripeCustomerIds', idk.stripeCustomerId],
      ['phones', idk.phone],
    ] as const)
      addIdentity(identity, kind, v);
    for (const e of idk.emails ?? []) addIdentity(identity, 'emails', e);
  } else if (event.contact) {
    const fields: ContactFields = { ...event.contact.fields };
    const idk = event.contact.identity;
    fields.mcId ??= idk.mcId;
    fields.ghlId ??= idk.ghlId;
    fields.stripeCustomerId ??= idk.stripeCustomerId;
    fields.phone ??= idk.phone;
    incoming.push({ fields, stamp });
    identityOfFields(identity, fields);
    for (const e of idk.emails ?? []) addIdentity(identity, 'emails', e);
  }
  for (const p of payments) {
    const fields = fieldsOfPayment(p);
    incoming.push({ fields, stamp: { at: paidAtOf(p, at).toISOString(), logId: String(ctx.logId) } });
    identityOfFields(identity, fields);
  }
  // A payment alone never creates a person: it waits as an orphan (SPEC §6.1, §6.3).
  const mayCreate = payments.length === 0 && event.contact !== undefined;

  const locks = new IdentityLocks(tx);
  await locks.setTenantAndLock(ctx.tenantId, [...upfront, ...lockKeysOf(ctx.tenantId, identity)]);

  let contact: ContactRow | null = null;
  let state: ContactState | null = null;
  let stage: string | null = null;
  let firstSeen: Date = at;
  const changes: FieldChange[] = [];
  let dirty = false;
  // Every identifier the person is known by after this event (matching, locks, orphans, known_*).
  const known = mergeIdentity(emptyIdentity(), identity);
  // Identifiers the matched records already had: orphans can only match identifiers that are new.
  const had = emptyIdentity();

  if (hasIdentity(identity)) {
    const found = await findContacts(tx, identity);
    for (const row of found) {
      mergeIdentity(had, identityOfRow(row));
      await locks.tryLock(lockKeysOf(ctx.tenantId, mergeIdentity(known, identityOfRow(row))));
    }
    const [survivor, ...losers] = found;
    if (survivor) {
      contact = survivor;
      state = stateOf(survivor);
      stage = survivor.stage;
      firstSeen = survivor.first_seen_at && survivor.first_seen_at < at ? survivor.first_seen_at : at;
      dirty = firstSeen.getTime() !== survivor.first_seen_at?.getTime();
      const mergedIncoming: typeof incoming = [];
      for (const loser of losers) {
        await mergeInto(tx, loser.id, survivor.id, ctx.logId);
        const fallback = { at: (loser.first_seen_at ?? loser.created_at).toISOString(), logId: '0' };
        mergedIncoming.push(...stateAsIncoming(stateOf(loser), fallback));
        stage = laterStage(stage, loser.stage);
        if (loser.first_seen_at && loser.first_seen_at < firstSeen) firstSeen = loser.first_seen_at;
        changes.push({ field: 'merged_from', oldValue: null, newValue: loser.id });
        outcome.merged.push(loser.id);
        dirty = true;
      }
      incoming.unshift(...mergedIncoming);
    } else if (mayCreate) {
      const plan = planFieldUpdates({ values: {}, tags: {}, meta: {} }, incoming);
      const [row] = await tx<ContactRow[]>`
        insert into contacts ${tx({ tenant_id: ctx.tenantId, ...plan.set, first_seen_at: at })}
        returning *`;
      contact = row as ContactRow;
      // Tags, meta and stage are written by the final update below, with everything else.
      state = { values: { ...plan.set }, tags: plan.tags ?? {}, meta: plan.meta };
      changes.push(...plan.changes);
      incoming.length = 0;
      dirty = true;
      outcome.created = true;
    }
  }

  if (contact && state) {
    const plan = planFieldUpdates(state, incoming);
    state = { values: { ...state.values, ...plan.set }, tags: plan.tags ?? state.tags, meta: plan.meta };
    changes.push(...plan.changes);
    dirty ||= plan.changes.length > 0 || plan.metaChanged;
    // New identifiers on the person must be ours too (another applier may be creating them).
    await locks.tryLock(lockKeysOf(ctx.tenantId, mergeIdentity(known, identityOfRow(state.values))));
  }

  const contactId = contact?.id ?? null;
  const funnelEvents: Array<{
    type: FunnelEventType;
    at: Date;
    source: string;
    sourceEventId: string;
    logId: number | null;
    data: Record<string, unknown>;
  }> = [];
  if (contactId && event.funnelEvent) {
    const fe = event.funnelEvent;
    const suffix = fe.keySuffix ?? (index > 0 ? String(index) : null);
    const feAt = new Date(fe.occurredAt ?? at);
    funnelEvents.push({
      type: fe.type,
      at: Number.isNaN(feAt.getTime()) ? at : feAt,
      source: event.source,
      sourceEventId: suffix ? `${ctx.dedupeKey}#${suffix}` : ctx.dedupeKey,
      logId: ctx.logId,
      data: fe.data ?? {},
    });
  }

  for (const p of payments) {
    await insertPayment(tx, ctx, p, contactId, paidAtOf(p, at));
    if (contactId && p.funnelEvent)
      funnelEvents.push(paymentFunnelEvent(p.funnelEvent, p.source, p.paymentEventId, paidAtOf(p, at), ctx.logId));
  }
  for (const u of event.paymentStatusUpdates ?? []) {
    await tx`update payments set status = ${u.status} where payment_event_id = ${u.paymentEventId} and status is distinct from ${u.status}`;
  }

  const gained = (['emails', 'phones', 'stripeCustomerIds'] as const).some((k) => known[k].some((v) => !had[k].includes(v)));
  if (contactId && state && gained) {
    const orphans = await linkOrphans(tx, contactId, known);
    outcome.linkedOrphans = orphans.length;
    if (orphans.length > 0) {
      const orphanIncoming = orphans.map((o) => ({
        fields: fieldsOfPayment({
          customerEmail: o.customer_email,
          customerPhone: o.customer_phone,
          stripeCustomerId: o.stripe_customer_id,
        }),
        stamp: { at: o.paid_at.toISOString(), logId: String(o.webhook_log_id ?? 0) },
      }));
      const plan = planFieldUpdates(state, orphanIncoming);
      state = { values: { ...state.values, ...plan.set }, tags: plan.tags ?? state.tags, meta: plan.meta };
      changes.push(...plan.changes);
      dirty ||= plan.changes.length > 0 || plan.metaChanged;
      for (const o of orphans) {
        addIdentity(known, 'emails', o.customer_email);
        addIdentity(known, 'phones', o.customer_phone);
        addIdentity(known, 'stripeCustomerIds', o.stripe_customer_id);
      }
      await locks.tryLock(lockKeysOf(ctx.tenantId, mergeIdentity(known, identityOfRow(state.values))));
      for (const o of orphans) {
        if (o.paid_at < firstSeen) {
          firstSeen = o.paid_at;
          dirty = true;
        }
        if (o.funnel_event)
          funnelEvents.push(paymentFunnelEvent(o.funnel_event, o.source, o.payment_event_id, o.paid_at, o.webhook_log_id));
      }
    }
  }

  for (const fe of funnelEvents) {
    const s = stageForEvent(fe.type);
    if (contact && s && laterStage(stage, s) !== stage) {
      stage = s;
      changes.push({ field: 'stage', oldValue: contact.stage, newValue: s });
      dirty = true;
    }
  }
  // Every remaining write in one statement (data-modifying CTEs): fewer round trips per event.
  const parts: PendingQuery<Row[]>[] = [];
  const knownEmails = [...known.emails].sort();
  const knownPhones = [...known.phones].sort();
  if (contact && !(sameSet(contact.known_emails, knownEmails) && sameSet(contact.known_phones, knownPhones))) dirty = true;
  if (contact && state && dirty) {
    const c = contact;
    const v = (col: ContactColumn) => (state.values[col] ?? null) as string | null;
    if (stage !== c.stage && !changes.some((ch) => ch.field === 'stage'))
      changes.push({ field: 'stage', oldValue: c.stage, newValue: stage });
    parts.push(tx`c as (
      update contacts set mc_id = ${v('mc_id')}, ghl_id = ${v('ghl_id')}, email_primary = ${v('email_primary')},
        email_booking = ${v('email_booking')}, email_payment = ${v('email_payment')}, phone = ${v('phone')},
        first_name = ${v('first_name')}, last_name = ${v('last_name')}, ig_username = ${v('ig_username')}, ig_id = ${v('ig_id')},
        stripe_customer_id = ${v('stripe_customer_id')}, source = ${v('source')}, ad_id = ${v('ad_id')},
        known_emails = ${knownEmails}::text[], known_phones = ${knownPhones}::text[],
        stage = ${stage}, first_seen_at = ${firstSeen}, tags = ${tx.json(state.tags as never)},
        field_meta = ${tx.json(state.meta as never)}, updated_at = now()
      where id = ${c.id} returning 1)`);
  }
  if (contactId && funnelEvents.length > 0) {
    parts.push(tx`f as (
      insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id, webhook_log_id, data)
      select ${ctx.tenantId}::uuid, ${contactId}::uuid, t, o, s, k, l, d
      from unnest(${funnelEvents.map((fe) => fe.type)}::text[], ${funnelEvents.map((fe) => fe.at.toISOString())}::timestamptz[],
        ${funnelEvents.map((fe) => fe.source)}::text[], ${funnelEvents.map((fe) => fe.sourceEventId)}::text[],
        ${funnelEvents.map((fe) => fe.logId)}::int8[], ${funnelEvents.map((fe) => JSON.stringify(fe.data))}::text[]::jsonb[]) as x(t, o, s, k, l, d)
      on conflict (tenant_id, source, source_event_id) do nothing returning 1)`);
  }
  if (contactId && changes.length > 0) {
    parts.push(tx`l as (
      insert into contact_field_changes (tenant_id, contact_id, field, old_value, new_value, webhook_log_id)
      select ${ctx.tenantId}::uuid, ${contactId}::uuid, f, o, n, ${ctx.logId}::int8
      from unnest(${changes.map((c) => c.field)}::text[], ${changes.map((c) => c.oldValue)}::text[], ${changes.map((c) => c.newValue)}::text[]) as t(f, o, n)
      returning 1)`);
  }
  if (options.markLog) {
    parts.push(tx`w as (
      update webhook_logs set status = 'processed', ${options.markLog.eventType ? tx`event_type = ${options.markLog.eventType},` : tx``}
        contact_id = coalesce(${contactId ?? options.markLog.contactId ?? null}::uuid, contact_id), error_message = null, processed_at = now()
      where id = ${ctx.logId} returning 1)`);
  }
  if (parts.length > 0) {
    const ctes = parts.slice(1).reduce((all, part) => tx`${all}, ${part}`, parts[0]!);
    await tx`with ${ctes} select 1`;
  }
  outcome.contactId = contactId;
  outcome.fieldChanges = changes.length;
  return outcome;
}

function paymentFunnelEvent(type: FunnelEventType, source: string, paymentEventId: string, at: Date, logId: number | null) {
  return { type, at, source, sourceEventId: `payment:${paymentEventId}`, logId, data: { payment_event_id: paymentEventId } };
}

async function insertPayment(
  tx: TransactionSql,
  ctx: ApplyContext,
  p: NormalizedPayment,
  contactId: string | null,
  paidAt: Date,
): Promise<void> {
  await tx`
    insert into payments ${tx({
      tenant_id: ctx.tenantId,
      contact_id: contactId,
      payment_event_id: p.paymentEventId,
      source: p.source,
      payment_type: p.paymentType,
      category: p.category,
      amount_cents: p.amountCents,
      currency: p.currency,
      status: p.status,
      customer_email: p.customerEmail ?? null,
      customer_name: p.customerName ?? null,
      customer_phone: p.customerPhone ?? null,
      paid_at: paidAt,
      webhook_log_id: ctx.logId,
      stripe_customer_id: p.stripeCustomerId ?? null,
      stripe_session_id: p.stripeSessionId ?? null,
      stripe_payment_intent_id: p.stripePaymentIntentId ?? null,
      denefits_contract_code: p.denefitsContractCode ?? null,
      denefits_financed_cents: p.denefitsFinancedCents ?? null,
      denefits_recurring_cents: p.denefitsRecurringCents ?? null,
      denefits_num_payments: p.denefitsNumPayments ?? null,
      denefits_remaining_payments: p.denefitsRemainingPayments ?? null,
      funnel_event: p.funnelEvent ?? null,
    })}
    on conflict (tenant_id, payment_event_id) do nothing`;
}

/** Links orphan payments that match the person (email, phone, Stripe customer). Caller holds the identity locks. */
async function linkOrphans(tx: TransactionSql, contactId: string, id: IdentitySet): Promise<OrphanRow[]> {
  if (id.emails.length + id.phones.length + id.stripeCustomerIds.length === 0) return [];
  return tx<OrphanRow[]>`
    update payments set contact_id = ${contactId}
    where contact_id is null and (
      lower(customer_email) = any(${id.emails}::text[]) or customer_phone = any(${id.phones}::text[])
      or stripe_customer_id = any(${id.stripeCustomerIds}::text[]))
    returning payment_event_id, source, funnel_event, paid_at, webhook_log_id, customer_email, customer_phone, stripe_customer_id`;
}

/** Moves everything of `loserId` to `survivorId` and marks the loser merged (its unique ids go first). */
async function mergeInto(tx: TransactionSql, loserId: string, survivorId: string, logId: number): Promise<void> {
  await tx`update contacts set merged_into_id = ${survivorId}, mc_id = null, ghl_id = null, updated_at = now() where id = ${loserId}`;
  await tx`update contacts set merged_into_id = ${survivorId} where merged_into_id = ${loserId}`;
  await tx`update funnel_events set contact_id = ${survivorId} where contact_id = ${loserId}`;
  await tx`update payments set contact_id = ${survivorId} where contact_id = ${loserId}`;
  await tx`update contact_field_changes set contact_id = ${survivorId} where contact_id = ${loserId}`;
  await tx`
    insert into contact_field_changes (tenant_id, contact_id, field, old_value, new_value, webhook_log_id)
    values (mcb_current_tenant(), ${loserId}, 'merged_into_id', null, ${survivorId}, ${logId})`;
}
