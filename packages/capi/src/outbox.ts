import type { Logger } from '@mcb/core';
import { type ContactRow, type Database, type FunnelEventRow, type PaymentRow, withTenantSql } from '@mcb/db';
import { type GraphClient, type GraphSettings, graphClientFor, MetaRequestError } from '@mcb/meta';
import type { PendingQuery, Row, TransactionSql } from 'postgres';
import { type CapiTarget, leadEventName } from './config';
import { type CapiSource, maxEventAgeMs, type PlannedSend, planSends, type ServerEvent } from './map';

/** Meta's limit: one `/events` request carries at most 1,000 events (Conversions API "Batch Requests"). */
export const maxEventsPerRequest = 1_000;

/** Settings shared by every tenant's sends (from the app's env). */
export interface CapiSendSettings extends GraphSettings {
  /** Events per request, ≤ 1,000. Default 1,000. */
  batchSize?: number;
  /** A `pending` row claimed longer ago than this is taken over (its sender died). Default 10 min. */
  leaseMs?: number;
  /** How far back (by `funnel_events.created_at`) the outbox looks for unsent events. Default 8 days. */
  scanDays?: number;
  /** Pages in flight at once (one's database work overlaps another's request to Meta). Default 3. */
  concurrency?: number;
  /**
   * How far before its scan mark a run starts (ms). A funnel event carries its transaction's start as
   * `created_at` but becomes visible at commit: an applier transaction that commits after a run passed
   * its `created_at` is still seen if it lasted less than this. Default 10 min.
   */
  settleMs?: number;
  /**
   * Longest one run may take (ms): past it, in-flight requests are aborted, their claims released,
   * and the run returns what it did (`timedOut`); the next run resumes. Unset: no bound.
   */
  maxRunMs?: number;
}

export interface CapiSendResult {
  sent: number;
  skipped: number;
  failed: number;
  /** HTTP requests to Meta (retries inside the client included). */
  requests: number;
  /** Sum of Meta's `events_received`. */
  eventsReceived: number;
  durationMs: number;
  /** The run stopped at `maxRunMs` with work possibly left (released for the next run). */
  timedOut: boolean;
}

export interface CapiSendOptions {
  /** Role `mcb_app`: every statement runs under `withTenantSql` (RLS). */
  database: Database;
  target: CapiTarget;
  settings: CapiSendSettings;
  log?: Logger;
  now?: () => Date;
  /** Aborts between batches and in-flight requests (worker shutdown); claimed rows are released. */
  signal?: AbortSignal;
  /** For tests: a client to use instead of one built from the settings. */
  client?: GraphClient;
}

/** A claimed `pending` row on its way to Meta. */
interface ClaimedRow {
  id: number;
  payload: ServerEvent;
}

/**
 * Position in the outbox scan, `(funnel_events.created_at, id)` order. `createdAt` is Postgres's own
 * text form: a JS Date would drop the microseconds and make the scan revisit (or loop on) a page — so it is also sent as `::text`, never as a timestamptz parameter
 * (postgres.js would serialise that through a Date).
 */
export interface Keyset {
  createdAt: string;
  id: string;
}

/** Graph errors that concern the whole integration (unknown dataset, missing permission), not one event. */
export function isRequestWideError(err: MetaRequestError): boolean {
  const code = err.code ?? 0;
  if (err.status === 401 || err.status === 403) return true;
  if (code === 100 && err.subcode === 33) return true;
  return code === 10 || code === 803 || code === 2500 || (code >= 200 && code < 300);
}

/** One page of the outbox scan: funnel event ids in `(created_at, id)` order, and where the next page starts. */
export interface ScanPage {
  ids: string[];
  /** Null when this page was the last. */
  next: Keyset | null;
  /** Position of the page's last event; null when the page is empty. */
  last: Keyset | null;
}

const zeroUuid = '00000000-0000-0000-0000-000000000000';

/**
 * The `lead` flag and event mapping a scan decides under, as stored with its mark: a mark made under
 * another mapping does not hold (events it passed may stand for a Meta event now).
 */
export function capiScanConfigKey(target: Pick<CapiTarget, 'lead' | 'events'>): string {
  const events = Object.entries(target.events)
    .filter(([, name]) => typeof name === 'string')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({ lead: target.lead, events });
}

/**
 * Where a run's scan starts: the tenant's scan mark (made under the same `configKey`) less `settleMs`,
 * never before `since`; `since` when there is no such mark. With the mark's `generation` (0 without
 * a row), which the run hands back to `saveScanMark`. Under RLS.
 */
export async function readScanStart(
  tx: TransactionSql,
  tenantId: string,
  configKey: string,
  since: Date,
  settleMs: number,
): Promise<{ start: Keyset; generation: number }> {
  const [mark] = await tx<{ at: string | null; generation: number }[]>`
    select case when config_key = ${configKey}
             then greatest(created_at - ${`${settleMs} milliseconds`}::interval, ${since.toISOString()}::timestamptz)::text end as at,
           generation
    from capi_scan_marks where tenant_id = ${tenantId}`;
  return { start: { createdAt: mark?.at ?? since.toISOString(), id: zeroUuid }, generation: mark?.generation ?? 0 };
}

/**
 * Records that every funnel event up to `position` was examined under `configKey`. Only moves forward
 * (a slower concurrent run never undoes a faster one's progress), or replaces a mark of another mapping;
 * never when the mark's generation is no longer the one the run started from (`mcb capi replay` bumped
 * it: the run may have passed the replayed events before they were forgotten). Under RLS.
 */
export async function saveScanMark(
  tx: TransactionSql,
  tenantId: string,
  configKey: string,
  position: Keyset,
  generation: number,
): Promise<void> {
  await tx`
    insert into capi_scan_marks as m (tenant_id, created_at, funnel_event_id, config_key, generation)
    values (${tenantId}, ${position.createdAt}::text::timestamptz, ${position.id}::uuid, ${configKey}, ${generation})
    on conflict (tenant_id) do update
      set created_at = excluded.created_at, funnel_event_id = excluded.funnel_event_id,
          config_key = excluded.config_key, updated_at = now()
      where m.generation = excluded.generation
        and (m.config_key <> excluded.config_key
             or (m.created_at, m.funnel_event_id) < (excluded.created_at, excluded.funnel_event_id))`;
}

/**
 * After rows of `funnelEventIds` were forgotten (deleted, to be planned again): moves the tenant's scan
 * mark back to the earliest of those events, so the next run sees them, and bumps its generation, so
 * a run in flight (which may have passed them while they still had their rows) cannot carry the mark
 * forward again. Under RLS.
 */
export async function rewindScanMark(tx: TransactionSql, tenantId: string, funnelEventIds: string[]): Promise<void> {
  if (funnelEventIds.length === 0) return;
  await tx`
    update capi_scan_marks m set generation = m.generation + 1, updated_at = now(),
      created_at = case when (e.at, ${zeroUuid}::uuid) < (m.created_at, m.funnel_event_id) then e.at else m.created_at end,
      funnel_event_id = case when (e.at, ${zeroUuid}::uuid) < (m.created_at, m.funnel_event_id) then ${zeroUuid}::uuid else m.funnel_event_id end
    from (select min(created_at) as at from funnel_events
          where tenant_id = ${tenantId} and id = any(${funnelEventIds}::uuid[])) e
    where m.tenant_id = ${tenantId}`;
}

/**
 * Sets the sent rows `which` selects to go out again exactly as recorded (payload, event_id): pending
 * and unclaimed, which is what a run's first step (re-claiming lapsed rows) posts. A replayed sent Lead
 * and a released test-mode Lead go this way: planned anew, a Lead goes on the person's earliest event,
 * which may have changed — another event_id, a second Lead for Meta. Under RLS.
 */
export function resendAsRecorded(tx: TransactionSql, which: PendingQuery<Row[]>) {
  return tx`
    update capi_sends set status = 'pending', claimed_at = null, sent_at = null, events_received = null, fbtrace_id = null,
      test_event_code = null
    where ${which}`;
}

/**
 * Leaving test mode (the integration no longer has a `test_event_code`): rows sent with a test code
 * reached Events Manager's Test Events only, never the dataset, so they are sent for real now. Those
 * whose event is still inside Meta's window are forgotten and planned again by this run (the scan mark
 * moves back to them) — except a Lead (while `lead` is on) that is still its person's only one, which
 * goes out again as recorded, like a replayed sent Lead: planned anew, a Lead goes on the person's
 * earliest event, and one replayed in test mode after it reached the dataset would come back with
 * another event_id (a second Lead for Meta). Older ones can no longer reach the dataset and become
 * `skipped`, saying so; their code moves to the reason, so `capi_sends_test_idx` keeps only rows still
 * to release. Cheap when there is nothing to do. Under RLS.
 */
export async function releaseTestSends(
  tx: TransactionSql,
  tenantId: string,
  now: Date,
  options: { lead?: boolean } = {},
): Promise<{ replanned: number; leadsResent: number; tooOld: number }> {
  const windowStart = new Date(now.getTime() - maxEventAgeMs).toISOString();
  const tooOld = await tx`
    update capi_sends set status = 'skipped', test_event_code = null,
      reason = 'sent to Test Events only (test_event_code ' || test_event_code || '); test mode ended after Meta''s 7-day window'
    where tenant_id = ${tenantId} and test_event_code is not null and status = 'sent' and event_time <= ${windowStart}::timestamptz`;
  // Looked up by the partial index alone, then changed by primary key: a predicate on event_name let the
  // planner pick capi_sends_lead_unique and read every Lead of the tenant, on every run.
  const inWindow = await tx<{ id: string | number; event_name: string }[]>`
    select id, event_name from capi_sends
    where tenant_id = ${tenantId} and test_event_code is not null and status = 'sent' and event_time > ${windowStart}::timestamptz
    for update`;
  // A Lead goes out as recorded only while it is its person's one Lead: contacts merged since (the
  // person's events now under one contact) may have another, sent or on its way — then it is forgotten
  // like the rest, and planning it again finds that Lead (capi_sends_lead_unique, the recorded names).
  // Index probes per row (primary keys, capi_sends_lead_unique, contacts_merged_into_idx); one `or` over
  // both lookups made Postgres read every Lead of the tenant for each row.
  const leadCandidates = (options.lead ?? true) ? inWindow.filter((r) => r.event_name === leadEventName).map((r) => Number(r.id)) : [];
  const leadIds =
    leadCandidates.length > 0
      ? (
          await tx<{ id: string | number }[]>`
            select s.id from unnest(${leadCandidates}::int8[]) as u(id)
            join capi_sends s on s.tenant_id = ${tenantId} and s.id = u.id
            join funnel_events f on f.tenant_id = s.tenant_id and f.id = s.funnel_event_id
            where not exists (
                select 1 from capi_sends o
                where o.tenant_id = ${tenantId} and o.event_name = ${leadEventName} and o.contact_id = f.contact_id
                  and o.id <> s.id and o.status in ('sent', 'pending'))
              and not exists (
                select 1 from contacts c
                join capi_sends o on o.tenant_id = c.tenant_id and o.event_name = ${leadEventName} and o.contact_id = c.id
                where c.tenant_id = ${tenantId} and c.merged_into_id = f.contact_id and o.id <> s.id and o.status in ('sent', 'pending'))`
        ).map((r) => Number(r.id))
      : [];
  const resent = new Set(leadIds);
  const otherIds = inWindow.map((r) => Number(r.id)).filter((id) => !resent.has(id));
  if (leadIds.length > 0) await resendAsRecorded(tx, tx`tenant_id = ${tenantId} and id = any(${leadIds}::int8[])`);
  const forgotten =
    otherIds.length > 0
      ? await tx<{ funnel_event_id: string }[]>`
          delete from capi_sends where tenant_id = ${tenantId} and id = any(${otherIds}::int8[]) returning funnel_event_id`
      : [];
  await rewindScanMark(
    tx,
    tenantId,
    forgotten.map((r) => r.funnel_event_id),
  );
  return { replanned: forgotten.length, leadsResent: leadIds.length, tooOld: tooOld.count };
}

/**
 * Up to `limit` funnel events recorded since `since`, after `after` in `(created_at, id)` order — an
 * index range scan that stops at the limit. Under RLS.
 */
export async function scanFunnelEvents(
  tx: TransactionSql,
  tenantId: string,
  since: Date,
  after: Keyset | null,
  limit: number,
): Promise<ScanPage> {
  // The whole index key in the comparison and the ORDER BY, and no sort or bitmap allowed: an ordered
  // range scan of funnel_events_created_idx that stops at the limit, whatever the statistics say (a
  // bitmap scan + sort re-read every remaining row for each page: quadratic over a backlog).
  // (jit off too: disabled plan nodes carry a huge cost that would otherwise trigger JIT compilation.)
  await tx`select set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true), set_config('jit', 'off', true)`;
  const page = await tx<{ id: string; at: string }[]>`
    select id, created_at::text as at from funnel_events
    where tenant_id = ${tenantId}
      and (tenant_id, created_at, id) > (${tenantId}::uuid, ${after ? after.createdAt : since.toISOString()}::text::timestamptz,
                                         ${after ? after.id : zeroUuid}::uuid)
    order by funnel_events.tenant_id, funnel_events.created_at, funnel_events.id
    limit ${limit}`;
  const lastRow = page[page.length - 1];
  const last = lastRow ? { createdAt: lastRow.at, id: lastRow.id } : null;
  return { ids: page.map((r) => r.id), next: page.length >= limit ? last : null, last };
}

/**
 * The outbox scan's page and its candidates (see `selectCapiCandidatesIn`). `next` is where the
 * following page starts; null when this page was the last. Under RLS.
 */
export async function selectCapiCandidates(
  tx: TransactionSql,
  target: Pick<CapiTarget, 'tenantId' | 'lead' | 'events'>,
  since: Date,
  after: Keyset | null,
  limit: number,
  options: { unsentOnly?: boolean } = {},
): Promise<{ sources: CapiSource[]; next: Keyset | null }> {
  const page = await scanFunnelEvents(tx, target.tenantId, since, after, limit);
  return { sources: await selectCapiCandidatesIn(tx, target, page.ids, options), next: page.next };
}

type EventRow = Pick<
  FunnelEventRow,
  'id' | 'contact_id' | 'event_type' | 'occurred_at' | 'source' | 'source_event_id' | 'webhook_log_id' | 'data'
>;

type PersonRow = Pick<
  ContactRow,
  | 'id'
  | 'email_primary'
  | 'email_booking'
  | 'email_payment'
  | 'known_emails'
  | 'phone'
  | 'known_phones'
  | 'first_name'
  | 'last_name'
  | 'ad_id'
>;

type SourcePaymentRow = Pick<PaymentRow, 'payment_event_id' | 'category' | 'amount_cents' | 'currency' | 'denefits_contract_code'>;

/** The payment a payment funnel event stands for (`data.payment_event_id`, else its `payment:<id>` key). */
function paymentIdOf(e: EventRow): string | null {
  const fromData = e.data?.payment_event_id;
  if (typeof fromData === 'string' && fromData) return fromData;
  return e.source_event_id.startsWith('payment:') ? e.source_event_id.slice('payment:'.length) : null;
}

/**
 * Of the funnel events `ids`, those that stand for a Meta event — a mapped type, or the person's
 * first event while no Lead was sent for them — and, with `unsentOnly` (default), whose mapped event
 * has no `capi_sends` row yet (the outbox anti-join), with the person and payment they need and the
 * event names already recorded for them. Under RLS.
 *
 * Each statement looks rows up by an array of keys that exactly one index covers (primary keys,
 * `capi_sends_event_unique`, `capi_sends_lead_unique`, `funnel_events_contact_idx`,
 * `payments_payment_event_unique`): the plans stay index lookups whatever the statistics say — a young
 * `capi_sends` with stale statistics once made a per-row probe scan the whole tenant's table.
 */
export async function selectCapiCandidatesIn(
  tx: TransactionSql,
  target: Pick<CapiTarget, 'tenantId' | 'lead' | 'events'>,
  ids: string[],
  options: { unsentOnly?: boolean } = {},
): Promise<CapiSource[]> {
  if (ids.length === 0) return [];
  const t = target.tenantId;
  const unsentOnly = options.unsentOnly ?? true;
  const events = await tx<EventRow[]>`
    select id, contact_id, event_type, occurred_at, source, source_event_id, webhook_log_id, data
    from funnel_events where tenant_id = ${t} and id = any(${ids}::uuid[])`;
  const recorded = new Map<string, string[]>();
  if (unsentOnly) {
    const rows = await tx<{ funnel_event_id: string; event_name: string }[]>`
      select funnel_event_id, event_name from capi_sends where tenant_id = ${t} and funnel_event_id = any(${ids}::uuid[])`;
    for (const r of rows) recorded.set(r.funnel_event_id, [...(recorded.get(r.funnel_event_id) ?? []), r.event_name]);
  }
  // Lead: only on the person's earliest event (ties by id). Whether they already have a Lead (sent for
  // another event that was first at the time) is left to the insert: `capi_sends_lead_unique` refuses
  // a second one, and `on conflict do nothing` drops it — cheaper than asking first for every person.
  // One probe of funnel_events_contact_idx per person, stopping at the first entry (a DISTINCT ON over
  // the people read every event of each, per page: a person with 30,000 events cost seconds per run).
  const firstOf = new Map<string, string>();
  if (target.lead) {
    const people = [...new Set(events.map((e) => e.contact_id))];
    const firsts = await tx<{ contact_id: string; id: string }[]>`
      select p.contact_id, f.id from unnest(${people}::uuid[]) as p(contact_id)
      cross join lateral (
        select id from funnel_events
        where tenant_id = ${t} and contact_id = p.contact_id
        order by occurred_at, id limit 1) f`;
    for (const f of firsts) firstOf.set(f.contact_id, f.id);
  }
  const wanted = events
    .map((e) => {
      const mapped = target.events[e.event_type];
      const done = recorded.get(e.id) ?? [];
      const isFirst = firstOf.get(e.contact_id) === e.id && !done.includes(leadEventName);
      return { e, isFirst, done, open: isFirst || (mapped !== undefined && !done.includes(mapped)) };
    })
    .filter((w) => w.open);
  if (wanted.length === 0) return [];

  const contactIds = [...new Set(wanted.map((w) => w.e.contact_id))];
  const contacts = new Map(
    (
      await tx<PersonRow[]>`
        select id, email_primary, email_booking, email_payment, known_emails, phone, known_phones, first_name, last_name, ad_id
        from contacts where tenant_id = ${t} and id = any(${contactIds}::uuid[])`
    ).map((c) => [c.id, c]),
  );
  const adIds = [...new Set([...contacts.values()].map((c) => c.ad_id).filter((a): a is string => !!a))];
  const ads = new Map(
    adIds.length
      ? (
          await tx<{ ad_id: string; adset_id: string | null; campaign_id: string | null }[]>`
            select ad_id, adset_id, campaign_id from meta_ads where tenant_id = ${t} and ad_id = any(${adIds}::text[])`
        ).map((a) => [a.ad_id, a])
      : [],
  );
  const paymentIds = [...new Set(wanted.map((w) => paymentIdOf(w.e)).filter((p): p is string => !!p))];
  const payments = new Map<string, SourcePaymentRow>();
  if (paymentIds.length) {
    for (const p of await tx<SourcePaymentRow[]>`
      select payment_event_id, category, amount_cents, currency, denefits_contract_code from payments
      where tenant_id = ${t} and payment_event_id = any(${paymentIds}::text[])`)
      payments.set(p.payment_event_id, p);
    // A Denefits plan counts at its whole contract value: financed amount + downpayment.
    const downIds = [...payments.values()]
      .filter((p) => p.category === 'payment_plan' && p.denefits_contract_code)
      .map((p) => `${p.denefits_contract_code}_downpayment`);
    if (downIds.length)
      for (const p of await tx<SourcePaymentRow[]>`
        select payment_event_id, category, amount_cents, currency, denefits_contract_code from payments
        where tenant_id = ${t} and payment_event_id = any(${downIds}::text[])`)
        payments.set(p.payment_event_id, p);
  }

  const sources: CapiSource[] = [];
  for (const { e, isFirst, done } of wanted) {
    const c = contacts.get(e.contact_id);
    if (!c) continue;
    const ad = c.ad_id ? ads.get(c.ad_id) : undefined;
    const pid = paymentIdOf(e);
    const p = pid ? payments.get(pid) : undefined;
    const down =
      p?.category === 'payment_plan' && p.denefits_contract_code ? payments.get(`${p.denefits_contract_code}_downpayment`) : undefined;
    sources.push({
      funnelEventId: e.id,
      contactId: e.contact_id,
      eventType: e.event_type,
      occurredAt: e.occurred_at,
      source: e.source,
      sourceEventId: e.source_event_id,
      webhookLogId: e.webhook_log_id === null ? null : Number(e.webhook_log_id),
      data: e.data ?? {},
      emails: [c.email_primary, c.email_booking, c.email_payment, ...(c.known_emails ?? [])],
      phones: [c.phone, ...(c.known_phones ?? [])],
      firstName: c.first_name,
      lastName: c.last_name,
      adId: c.ad_id,
      adsetId: ad?.adset_id ?? null,
      campaignId: ad?.campaign_id ?? null,
      isFirst,
      valueCents: p ? Number(p.amount_cents) + (down ? Number(down.amount_cents) : 0) : null,
      currency: p?.currency ?? null,
      recorded: done,
    });
  }
  // Scan order, so batches follow the order events were recorded.
  const order = new Map(ids.map((id, i) => [id, i]));
  return sources.sort((a, b) => (order.get(a.funnelEventId) ?? 0) - (order.get(b.funnelEventId) ?? 0));
}

/** Inserts planned rows; a row another sender inserted first is left out (`on conflict do nothing`). */
async function insertPlanned(
  tx: TransactionSql,
  tenantId: string,
  planned: PlannedSend[],
): Promise<{ claimed: ClaimedRow[]; skipped: number }> {
  if (planned.length === 0) return { claimed: [], skipped: 0 };
  const rows = await tx<{ id: string | number; status: string; funnel_event_id: string; event_name: string }[]>`
    insert into capi_sends (tenant_id, funnel_event_id, contact_id, webhook_log_id, event_name, event_id, event_time,
                            status, reason, payload, attempts, claimed_at)
    select ${tenantId}::uuid, u.f, u.c, u.w, u.n, u.i, u.et, u.st, u.r, u.p::jsonb,
           case when u.st = 'pending' then 1 else 0 end, case when u.st = 'pending' then now() end
    from unnest(${planned.map((p) => p.funnelEventId)}::uuid[], ${planned.map((p) => p.contactId)}::uuid[],
                ${planned.map((p) => p.webhookLogId)}::int8[], ${planned.map((p) => p.eventName)}::text[],
                ${planned.map((p) => p.eventId)}::text[], ${planned.map((p) => p.eventTime.toISOString())}::timestamptz[],
                ${planned.map((p) => p.status)}::text[], ${planned.map((p) => p.reason)}::text[],
                ${planned.map((p) => (p.payload ? JSON.stringify(p.payload) : null))}::text[])
         as u(f, c, w, n, i, et, st, r, p)
    on conflict do nothing
    returning id, status, funnel_event_id, event_name`;
  // The payloads are the objects we just planned: no need to read them back from jsonb.
  const byKey = new Map(planned.map((p) => [`${p.funnelEventId}|${p.eventName}`, p.payload]));
  const claimed = rows
    .filter((r) => r.status === 'pending')
    .map((r) => ({ id: Number(r.id), payload: byKey.get(`${r.funnel_event_id}|${r.event_name}`) as ServerEvent }));
  return { claimed, skipped: rows.filter((r) => r.status === 'skipped').length };
}

/**
 * Sends one tenant's unsent conversions to its Meta dataset: claims up to `batchSize` rows at a time
 * (first `pending` rows whose claim lapsed — a crashed or throttled earlier run — then funnel events
 * recorded since the tenant's scan mark, less `settleMs`), posts them in one request, and records
 * Meta's `events_received` and `fbtrace_id` per row. The mark then moves to the last event of the
 * pages whose claims were committed, in scan order (also when the run throws or times out).
 * A funnel event is claimed once (UNIQUE tenant + funnel event + event name), so it is never sent twice
 * by us; Meta also deduplicates on `event_id`. An event Meta refuses is isolated by halving the batch
 * and marked `failed` with Meta's message; the rest go through.
 * Throws the Graph client's typed errors (rate limit, expired token, transient, request-wide) after
 * releasing its claims, so the caller decides: delay, stop, or retry.
 */
export async function runCapiSend(options: CapiSendOptions): Promise<CapiSendResult> {
  const { database, target, settings, log } = options;
  const now = options.now ?? (() => new Date());
  const started = Date.now();
  // The run's time bound aborts like a shutdown does (requests, retry waits, the loops below).
  const deadline = settings.maxRunMs ? AbortSignal.timeout(settings.maxRunMs) : undefined;
  const signal = options.signal && deadline ? AbortSignal.any([options.signal, deadline]) : (options.signal ?? deadline);
  const batchSize = Math.max(1, Math.min(maxEventsPerRequest, settings.batchSize ?? maxEventsPerRequest));
  const leaseMs = settings.leaseMs ?? 10 * 60_000;
  const since = new Date(now().getTime() - (settings.scanDays ?? 8) * 24 * 3600_000);
  const client = options.client ?? graphClientFor(settings, target.accessToken, { log, signal });
  const requestsBefore = client.requestCount;
  const result: CapiSendResult = { sent: 0, skipped: 0, failed: 0, requests: 0, eventsReceived: 0, durationMs: 0, timedOut: false };
  const t = target.tenantId;
  const configKey = capiScanConfigKey(target);
  let after: Keyset | null = null;
  // The scan mark's generation this run started from (read with its start).
  let generation = 0;
  let scanDone = false;
  let stopped = false;
  // Pages handed out, in scan order: the mark moves over the leading run of pages whose claims committed.
  const pages: Array<{ last: Keyset; examined: boolean }> = [];

  /** Pending rows whose claim lapsed (a crashed or throttled earlier run), claimed again; past Meta's window → skipped. */
  const reclaimLapsed = () =>
    withTenantSql(database.sql, t, async (tx) => {
      const stale = await tx<{ id: string | number; event_time: Date; payload: ServerEvent }[]>`
        with s as (
          select id from capi_sends
          where tenant_id = ${t} and status = 'pending' and (claimed_at is null or claimed_at < now() - ${`${leaseMs} milliseconds`}::interval)
          order by id limit ${batchSize} for update skip locked)
        update capi_sends c set claimed_at = now(), attempts = c.attempts + 1
        from s where c.tenant_id = ${t} and c.id = s.id
        returning c.id, c.event_time, c.payload`;
      const tooOld = stale.filter((r) => now().getTime() - r.event_time.getTime() > maxEventAgeMs).map((r) => Number(r.id));
      if (tooOld.length > 0) {
        await tx`
          update capi_sends set status = 'skipped', claimed_at = null,
            reason = 'older than 7 days when retried: Meta refuses events past its window'
          where tenant_id = ${t} and id = any(${tooOld}::int8[])`;
      }
      const claimed: ClaimedRow[] = stale
        .filter((r) => !tooOld.includes(Number(r.id)))
        .map((r) => ({ id: Number(r.id), payload: r.payload }));
      return { claimed, skipped: tooOld.length, found: stale.length };
    });

  // The scan position is shared by the pipelines: pages are handed out one at a time, in order.
  let pageChain: Promise<unknown> = Promise.resolve();
  const nextPage = (): Promise<{ ids: string[]; n: number } | null> => {
    const page = pageChain.then(async () => {
      if (scanDone || stopped) return null;
      const p = await withTenantSql(database.sql, t, async (tx) => {
        if (!after) {
          const read = await readScanStart(tx, t, configKey, since, settings.settleMs ?? 10 * 60_000);
          after = read.start;
          generation = read.generation;
        }
        return scanFunnelEvents(tx, t, since, after, batchSize);
      });
      if (p.next) after = p.next;
      else scanDone = true;
      if (!p.last) return null;
      pages.push({ last: p.last, examined: false });
      return { ids: p.ids, n: pages.length - 1 };
    });
    pageChain = page.catch(() => {});
    return page;
  };

  /** Plans and inserts the sends of one page's new candidates; returns the rows this run claimed. */
  const claimPage = (ids: string[]) =>
    withTenantSql(database.sql, t, async (tx) => {
      const sources = await selectCapiCandidatesIn(tx, target, ids);
      const at = now();
      return insertPlanned(
        tx,
        t,
        sources.flatMap((s) => planSends(s, target, at)),
      );
    });

  const markSent = (ids: number[], eventsReceived: number, fbtraceId: string | null) =>
    withTenantSql(
      database.sql,
      t,
      (tx) => tx`
      update capi_sends set status = 'sent', events_received = ${eventsReceived}, fbtrace_id = ${fbtraceId},
        sent_at = now(), claimed_at = null, reason = null, test_event_code = ${target.testEventCode}
      where tenant_id = ${t} and id = any(${ids}::int8[])`,
    );
  const release = (ids: number[]) =>
    withTenantSql(
      database.sql,
      t,
      (tx) => tx`
      update capi_sends set claimed_at = null where tenant_id = ${t} and id = any(${ids}::int8[]) and status = 'pending'`,
    );

  async function post(rows: ClaimedRow[]): Promise<void> {
    try {
      const body = { data: rows.map((r) => r.payload), ...(target.testEventCode ? { test_event_code: target.testEventCode } : {}) };
      const { body: answer } = await client.post<{ events_received?: number; fbtrace_id?: string }>(`${target.datasetId}/events`, body);
      const received = typeof answer.events_received === 'number' ? answer.events_received : 0;
      if (received !== rows.length) log?.warn({ tenantId: t, events: rows.length, received }, 'capi: Meta received fewer events than sent');
      await markSent(
        rows.map((r) => r.id),
        received,
        answer.fbtrace_id ?? null,
      );
      result.sent += rows.length;
      result.eventsReceived += received;
    } catch (err) {
      if (err instanceof MetaRequestError && !isRequestWideError(err)) {
        if (rows.length > 1) {
          // Meta refuses the whole request for one bad event: halve until it stands alone.
          const mid = Math.ceil(rows.length / 2);
          await post(rows.slice(0, mid));
          await post(rows.slice(mid));
          return;
        }
        const row = rows[0] as ClaimedRow;
        const reason = `Meta refused the event: ${err.message}`.slice(0, 1_000);
        await withTenantSql(
          database.sql,
          t,
          (tx) => tx`
          update capi_sends set status = 'failed', reason = ${reason}, fbtrace_id = ${err.fbtraceId}, claimed_at = null
          where tenant_id = ${t} and id = ${row.id}`,
        );
        result.failed += 1;
        log?.warn({ tenantId: t, sendId: row.id, code: err.code, subcode: err.subcode }, 'capi: event refused by Meta');
        return;
      }
      await release(rows.map((r) => r.id)).catch((releaseErr) =>
        log?.warn({ tenantId: t, err: (releaseErr as Error).message }, 'capi: releasing claims failed; the lease frees them'),
      );
      throw err;
    }
  }

  /** Posts claimed rows, at most batchSize per request; on a throw, releases what it did not post. */
  async function postAll(claimed: ClaimedRow[]): Promise<void> {
    for (let i = 0; i < claimed.length; i += batchSize) {
      try {
        await post(claimed.slice(i, i + batchSize));
      } catch (err) {
        await release(claimed.slice(i + batchSize).map((r) => r.id)).catch(() => {});
        throw err;
      }
    }
  }

  /** Moves the tenant's mark over the pages examined so far, in scan order; a failure only costs a rescan. */
  async function saveMark(): Promise<void> {
    let through: Keyset | null = null;
    for (const p of pages) {
      if (!p.examined) break;
      through = p.last;
    }
    if (!through) return;
    const position = through;
    await withTenantSql(database.sql, t, (tx) => saveScanMark(tx, t, configKey, position, generation)).catch((err) =>
      log?.warn({ tenantId: t, err: (err as Error).message }, 'capi: saving the scan mark failed; the next run rescans'),
    );
  }

  async function pipeline(): Promise<void> {
    for (;;) {
      if (signal?.aborted || stopped) return;
      const page = await nextPage();
      if (!page) return;
      const { claimed, skipped } = await claimPage(page.ids);
      // Decided: each of its events has its rows (this run's claims or earlier ones) or needs none.
      (pages[page.n] as { examined: boolean }).examined = true;
      result.skipped += skipped;
      // A page can yield two sends per funnel event (Lead + Purchase): postAll splits at batchSize.
      await postAll(claimed);
      if (claimed.length) log?.debug({ tenantId: t, events: claimed.length, sent: result.sent }, 'capi batch sent');
    }
  }

  try {
    if (!target.testEventCode) {
      const released = await withTenantSql(database.sql, t, (tx) => releaseTestSends(tx, t, now(), { lead: target.lead }));
      result.skipped += released.tooOld;
      if (released.replanned || released.leadsResent || released.tooOld)
        log?.info({ tenantId: t, ...released }, 'capi: test mode ended; events sent to Test Events only are sent for real');
    }
    for (;;) {
      if (signal?.aborted) break;
      const { claimed, skipped, found } = await reclaimLapsed();
      result.skipped += skipped;
      if (found === 0) break;
      await postAll(claimed);
    }
    // Pipelines overlap one page's database work with another's request to Meta; a failure stops them all.
    const outcomes = await Promise.allSettled(
      Array.from({ length: Math.max(1, settings.concurrency ?? 3) }, () =>
        pipeline().catch((err) => {
          stopped = true;
          throw err;
        }),
      ),
    );
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) throw failure.reason;
  } catch (err) {
    // Stopped by its own time bound (not a shutdown): the claims were released; the next run resumes.
    if (!deadline?.aborted || options.signal?.aborted) throw err;
  } finally {
    await saveMark();
    result.requests = client.requestCount - requestsBefore;
    result.durationMs = Date.now() - started;
  }
  result.timedOut = deadline?.aborted === true;
  if (result.timedOut)
    log?.warn(
      { tenantId: t, maxRunMs: settings.maxRunMs, sent: result.sent },
      'capi: send stopped at its time bound; the next run resumes',
    );
  return result;
}
