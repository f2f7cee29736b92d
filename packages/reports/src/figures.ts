import { McbError } from '@mcb/core';
import { type Database, disputedPaymentStatuses, withTenantSql } from '@mcb/db';
import { type FunnelEventType, funnelEventTypes, type PaymentCategory, paymentCategories } from '@mcb/sources';
import { parseTenantConfig } from '@mcb/tenancy';
import type { TransactionSql } from 'postgres';
import { change, divideRounded, ratio } from './money';
import { localIso, previousWeek, type WeekWindow, weekHours } from './week';

/** Funnel stages in order (SPEC §4) and the figure each one is counted from. */
export const reportStages = [
  { stage: 'new_lead', label: 'New leads', figure: 'leads' },
  { stage: 'dm_qualified', label: 'DM qualified', figure: 'dm_qualified' },
  { stage: 'landing_link_sent', label: 'Link sent', figure: 'link_sent' },
  { stage: 'landing_link_clicked', label: 'Link clicked', figure: 'link_clicked' },
  { stage: 'form_submitted', label: 'Form submitted', figure: 'form_submitted' },
  { stage: 'meeting_booked', label: 'Meeting booked', figure: 'appointment_scheduled' },
  { stage: 'meeting_held', label: 'Meeting held', figure: 'appointment_held' },
  { stage: 'package_sent', label: 'Package sent', figure: 'package_sent' },
  { stage: 'deposit_paid', label: 'Deposit paid', figure: 'deposit_paid' },
  { stage: 'purchased', label: 'Purchased', figure: 'purchases' },
] as const satisfies ReadonlyArray<{ stage: string; label: string; figure: FunnelEventType | 'leads' | 'purchases' }>;

/** Categories that are money received (SPEC §7 "cash collected"); refunds are added (negative). */
const cashCategories: readonly PaymentCategory[] = ['deposit', 'full_purchase', 'downpayment', 'recurring', 'refund'];
/**
 * Categories that make up projected revenue: full purchases + plan values. A plan's value is the whole
 * contract: the financed amount (the `payment_plan` row) plus its downpayment (paid up front, so it is
 * also cash) — a $2,700 treatment financed $2,400 with $300 down projects $2,700.
 */
const projectedCategories: readonly PaymentCategory[] = ['full_purchase', 'payment_plan', 'downpayment'];
const topAdsCount = 3;

export interface ReportPeriod {
  /** Monday 00:00 local, ISO with the zone's offset. */
  start: string;
  /** The next Monday 00:00 local (exclusive), ISO with the zone's offset. */
  end: string;
  timezone: string;
  /** Local dates Monday and Sunday, `YYYY-MM-DD`. */
  start_date: string;
  end_date: string;
  /** 168, or 167/169 in a week with a DST change. */
  hours: number;
}

export interface ReportStage {
  stage: (typeof reportStages)[number]['stage'];
  label: string;
  count: number;
  /** count / count of the stage before (4 decimals); null for the first stage or when that was 0. */
  conversion: number | null;
}

export interface SourceRevenue {
  cash_collected_cents: number;
  projected_cents: number;
}

/** Payments of the week in a currency other than the report's: counted here, in none of the totals. */
export interface OtherCurrencyRevenue {
  /** Cash collected in that currency's minor units (same categories as the report's). */
  cash_collected_cents: number;
  projected_cents: number;
  /** Payment rows of that currency in the week (failed ones aside). */
  payments: number;
}

/** Money figures are minor units of the report's `currency` and count only payments in it. */
export interface ReportRevenue {
  /** Deposits + full purchases + downpayments + recurring paid in the week, plus refunds (negative). */
  cash_collected_cents: number;
  /** Full purchases + plan values in the week. */
  projected_cents: number;
  /** Sum of `amount_cents` per category in the week (refund negative). */
  by_category: Record<PaymentCategory, number>;
  /** The two totals per payment source (stripe, denefits). */
  by_source: Record<string, SourceRevenue>;
  /** Payments in other currencies, by lowercase code; absent when there are none. */
  other_currencies?: Record<string, OtherCurrencyRevenue>;
  /**
   * The part of `cash_collected_cents` that is payments under an open or lost dispute (status `disputed`
   * or `dispute_lost`): still counted (SPEC §7), said apart because it may go back. Absent when 0.
   */
  disputed_cents?: number;
}

export interface TopAd {
  ad_id: string;
  /** Ad name from meta_ads (null when the ad was never synced). */
  name: string | null;
  /** Distinct people (first-touch ad) with `appointment_held` in the week. */
  meetings_held: number;
  /** Distinct people (first-touch ad) with a purchase in the week. */
  purchases: number;
  spend_cents: number;
}

export interface ReportAds {
  /** Sum of daily insights for the seven local dates of the week, in the report's currency. */
  spend_cents: number;
  /** Null when there are no leads, or when part of the spend is in another currency (`other_currencies`). */
  cost_per_lead_cents: number | null;
  cost_per_purchase_cents: number | null;
  /** cash collected / spend, 2 decimals; null when spend is 0, or when part of it is in another currency. */
  roas: number | null;
  top: TopAd[];
  /**
   * Spend of the week in an ad account currency other than the report's, by lowercase code (minor units
   * of that currency): left out of `spend_cents`, and costs and ROAS are null rather than mixing
   * currencies. Absent when there is none.
   */
  other_currencies?: Record<string, { spend_cents: number }>;
}

/** The figures of one week (SPEC §7 "Report figures, defined"). */
export interface WeekFigures {
  period: ReportPeriod;
  /** People whose earliest funnel event (ever) falls in the week. */
  leads: number;
  /** New leads per contact `source` (first touch). */
  leads_by_source: Record<string, number>;
  /** People with `purchase_completed` or `payment_plan_created` in the week. */
  purchases: number;
  /** Distinct people with at least one event of each type in the week. */
  funnel: Record<FunnelEventType, number>;
  /** Funnel stages in order with conversion from the stage before. */
  stages: ReportStage[];
  revenue: ReportRevenue;
  ads: ReportAds;
  /** Events sent to the tenant's Meta dataset in the week (Conversions API, issue 17), total and per Meta event name. */
  conversions_sent: { total: number; by_event: Record<string, number> };
}

/** Week-over-week change of the headline figures, as fractions (0.25 = +25 %); null when last week was 0. */
export interface ReportChange {
  leads: number | null;
  purchases: number | null;
  cash_collected_cents: number | null;
  projected_cents: number | null;
  /** Also null when either week has spend in another currency (`ads.other_currencies`): a change of part of the spend means nothing. */
  spend_cents: number | null;
  funnel: Record<FunnelEventType, number | null>;
  stages: Record<ReportStage['stage'], number | null>;
}

/** The report's figures: the email, `mcb report preview --format json` and dashboards use these. */
export interface ReportFigures extends WeekFigures {
  tenant: { id: string; slug: string; name: string };
  /** The tenant's reporting currency (`config.currency`, lowercase ISO 4217): every `_cents` figure is in its minor units. */
  currency: string;
  change: ReportChange;
  previous: WeekFigures;
}

interface PeopleRow {
  kind: 'event' | 'purchases' | 'leads' | 'ad_held' | 'ad_purchases';
  w: number;
  key: string | null;
  n: number;
}

interface PaymentRow {
  w: number;
  source: string;
  category: PaymentCategory;
  /** Lowercase. */
  currency: string;
  cents: number;
  /** Of `cents`, the payments under an open or lost dispute. */
  disputed: number;
  n: number;
}

interface SpendRow {
  w: number;
  ad_id: string;
  /** Lowercase; a row synced before insights had a currency counts as the tenant's. */
  currency: string;
  cents: number;
}

/**
 * People-based figures of both weeks in one pass. A person is `coalesce(merged_into_id, id)`.
 * `w` = 0 for the week, 1 for the week before. Leads: a person's earliest event over all of their
 * records (the survivor and those merged into it), found by index per record.
 */
async function queryPeople(tx: TransactionSql, tenantId: string, week: WeekWindow, prev: WeekWindow): Promise<PeopleRow[]> {
  const rows = await tx<PeopleRow[]>`
    with pe as materialized (
      -- (week, event type, person) once each; only merged records (a few %) are looked up, by a partial index.
      select distinct case when e.occurred_at >= ${week.start} then 0 else 1 end as w,
             e.event_type,
             coalesce(m.merged_into_id, e.contact_id) as pid
      from funnel_events e
      left join contacts m on m.tenant_id = e.tenant_id and m.id = e.contact_id and m.merged_into_id is not null
      where e.tenant_id = ${tenantId} and e.occurred_at >= ${prev.start} and e.occurred_at < ${week.end}
    ),
    people as materialized (
      select p.pid, c.source, c.ad_id
      from (select distinct pid from pe) p
      join contacts c on c.tenant_id = ${tenantId} and c.id = p.pid
    ),
    records as (
      select pid, pid as contact_id from people
      union
      select c.merged_into_id, c.id from contacts c join people p on p.pid = c.merged_into_id
      where c.tenant_id = ${tenantId} and c.merged_into_id is not null
    ),
    first_seen as (
      select r.pid, min(f.first_at) as first_at
      from records r
      cross join lateral (
        select min(e.occurred_at) as first_at from funnel_events e
        where e.tenant_id = ${tenantId} and e.contact_id = r.contact_id
      ) f
      group by r.pid
    ),
    leads as (
      select case when first_at >= ${week.start} then 0 else 1 end as w, pid
      from first_seen where first_at >= ${prev.start} and first_at < ${week.end}
    ),
    ad_people as (
      select pe.w, p.ad_id, pe.pid, pe.event_type
      from pe join people p on p.pid = pe.pid
      where p.ad_id is not null and pe.event_type in ('appointment_held', 'purchase_completed', 'payment_plan_created')
    )
    select 'event' as kind, w, event_type as key, count(*)::int as n from pe group by w, event_type
    union all
    select 'purchases', w, null, count(distinct pid)::int from pe
    where event_type in ('purchase_completed', 'payment_plan_created') group by w
    union all
    select 'leads', l.w, coalesce(nullif(p.source, ''), 'unknown'), count(*)::int
    from leads l join people p on p.pid = l.pid group by 2, 3
    union all
    select 'ad_held', w, ad_id, count(*)::int from ad_people where event_type = 'appointment_held' group by w, ad_id
    union all
    select 'ad_purchases', w, ad_id, count(distinct pid)::int from ad_people where event_type <> 'appointment_held' group by w, ad_id
  `;
  return rows;
}

/** Payments of both weeks by source, category and currency. A failed charge moved no money: not counted. */
async function queryPayments(tx: TransactionSql, tenantId: string, week: WeekWindow, prev: WeekWindow): Promise<PaymentRow[]> {
  const rows = await tx<PaymentRow[]>`
    select case when paid_at >= ${week.start} then 0 else 1 end as w, source, category, lower(currency) as currency,
           -- float8, never ::bigint: sums of signed amounts could overflow it and fail the report (red team, stop 32).
           sum(amount_cents)::float8 as cents, count(*)::int as n,
           coalesce(sum(amount_cents) filter (where status = any(${[...disputedPaymentStatuses]}::text[])), 0)::float8 as disputed
    from payments
    where tenant_id = ${tenantId} and paid_at >= ${prev.start} and paid_at < ${week.end} and status <> 'failed'
    group by 1, 2, 3, 4
  `;
  return rows;
}

/** Spend per ad and currency of both weeks: daily insights of exactly the weeks' local dates. */
async function querySpend(tx: TransactionSql, tenantId: string, week: WeekWindow, prev: WeekWindow, currency: string): Promise<SpendRow[]> {
  const rows = await tx<SpendRow[]>`
    select case when date >= ${week.weekStart}::date then 0 else 1 end as w, ad_id,
           lower(coalesce(currency, ${currency})) as currency, sum(spend_cents)::bigint as cents
    from meta_ad_insights
    where tenant_id = ${tenantId} and date >= ${prev.weekStart}::date and date <= ${week.weekEnd}::date
    group by 1, 2, 3
  `;
  return rows;
}

interface ConversionRow {
  w: number;
  event_name: string;
  n: number;
}

/** Conversions API events sent (by `sent_at`) in each week, per Meta event name. */
async function queryConversions(tx: TransactionSql, tenantId: string, week: WeekWindow, prev: WeekWindow): Promise<ConversionRow[]> {
  return tx<ConversionRow[]>`
    select case when sent_at >= ${week.start} then 0 else 1 end as w, event_name, count(*)::int as n
    from capi_sends
    where tenant_id = ${tenantId} and status = 'sent' and sent_at >= ${prev.start} and sent_at < ${week.end}
    group by 1, 2
  `;
}

function zeroed<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

function buildPeriod(week: WeekWindow): ReportPeriod {
  return {
    start: localIso(week.start, week.timezone),
    end: localIso(week.end, week.timezone),
    timezone: week.timezone,
    start_date: week.weekStart,
    end_date: week.weekEnd,
    hours: weekHours(week),
  };
}

function buildWeek(
  w: number,
  week: WeekWindow,
  currency: string,
  people: PeopleRow[],
  payments: PaymentRow[],
  spend: SpendRow[],
  adNames: Map<string, string | null>,
  conversions: ConversionRow[] = [],
): WeekFigures {
  const funnel = zeroed(funnelEventTypes);
  // Keyed by what senders wrote (a lead source, a payment's currency): Maps, never plain objects, so a
  // key such as `__proto__` is a key like any other and never reaches Object.prototype (red team, stop 32).
  const leadsBySource = new Map<string, number>();
  let leads = 0;
  let purchases = 0;
  const ads = new Map<string, TopAd>();
  const ad = (id: string) => {
    let entry = ads.get(id);
    if (!entry) {
      entry = { ad_id: id, name: adNames.get(id) ?? null, meetings_held: 0, purchases: 0, spend_cents: 0 };
      ads.set(id, entry);
    }
    return entry;
  };
  for (const row of people) {
    if (row.w !== w) continue;
    if (row.kind === 'event') funnel[row.key as FunnelEventType] = row.n;
    else if (row.kind === 'purchases') purchases = row.n;
    else if (row.kind === 'leads') {
      leads += row.n;
      leadsBySource.set(row.key as string, row.n);
    } else if (row.kind === 'ad_held') ad(row.key as string).meetings_held = row.n;
    else ad(row.key as string).purchases = row.n;
  }

  const byCategory = zeroed(paymentCategories);
  const bySource = new Map<string, SourceRevenue>();
  const otherRevenue = new Map<string, OtherCurrencyRevenue>();
  let disputed = 0;
  for (const row of payments) {
    if (row.w !== w) continue;
    if (row.currency !== currency) {
      const other = otherRevenue.get(row.currency) ?? { cash_collected_cents: 0, projected_cents: 0, payments: 0 };
      otherRevenue.set(row.currency, other);
      if (cashCategories.includes(row.category)) other.cash_collected_cents += row.cents;
      if (projectedCategories.includes(row.category)) other.projected_cents += row.cents;
      other.payments += row.n;
      continue;
    }
    byCategory[row.category] += row.cents;
    const source = bySource.get(row.source) ?? { cash_collected_cents: 0, projected_cents: 0 };
    bySource.set(row.source, source);
    if (cashCategories.includes(row.category)) source.cash_collected_cents += row.cents;
    if (projectedCategories.includes(row.category)) source.projected_cents += row.cents;
    if (cashCategories.includes(row.category)) disputed += Number(row.disputed);
  }
  const sources = [...bySource.values()];
  const cash = sources.reduce((sum, s) => sum + s.cash_collected_cents, 0);
  const projected = sources.reduce((sum, s) => sum + s.projected_cents, 0);

  let spendCents = 0;
  const otherSpend = new Map<string, { spend_cents: number }>();
  for (const row of spend) {
    if (row.w !== w) continue;
    if (row.currency !== currency) {
      const other = otherSpend.get(row.currency) ?? { spend_cents: 0 };
      otherSpend.set(row.currency, other);
      other.spend_cents += row.cents;
      continue;
    }
    spendCents += row.cents;
    if (ads.has(row.ad_id)) ad(row.ad_id).spend_cents = row.cents;
  }
  // Spend partly in another currency: a cost or ROAS from the part in ours would mean nothing.
  const mixed = otherSpend.size > 0;

  const figureOf = (figure: (typeof reportStages)[number]['figure']) =>
    figure === 'leads' ? leads : figure === 'purchases' ? purchases : funnel[figure];
  const stages = reportStages.map((s, i): ReportStage => {
    const count = figureOf(s.figure);
    const before = i === 0 ? null : figureOf((reportStages[i - 1] as (typeof reportStages)[number]).figure);
    return { stage: s.stage, label: s.label, count, conversion: before === null ? null : ratio(count, before) };
  });

  const top = [...ads.values()]
    .sort(
      (a, b) =>
        b.meetings_held - a.meetings_held || b.purchases - a.purchases || b.spend_cents - a.spend_cents || (a.ad_id < b.ad_id ? -1 : 1),
    )
    .slice(0, topAdsCount);

  return {
    period: buildPeriod(week),
    leads,
    leads_by_source: Object.fromEntries(leadsBySource),
    purchases,
    funnel,
    stages,
    revenue: {
      cash_collected_cents: cash,
      projected_cents: projected,
      by_category: byCategory,
      by_source: Object.fromEntries(bySource),
      ...(otherRevenue.size ? { other_currencies: Object.fromEntries(otherRevenue) } : {}),
      ...(disputed !== 0 ? { disputed_cents: disputed } : {}),
    },
    ads: {
      spend_cents: spendCents,
      cost_per_lead_cents: mixed ? null : divideRounded(spendCents, leads),
      cost_per_purchase_cents: mixed ? null : divideRounded(spendCents, purchases),
      roas: mixed ? null : ratio(cash, spendCents, 2),
      top,
      ...(mixed ? { other_currencies: Object.fromEntries(otherSpend) } : {}),
    },
    conversions_sent: {
      total: conversions.filter((c) => c.w === w).reduce((n, c) => n + c.n, 0),
      by_event: Object.fromEntries(conversions.filter((c) => c.w === w).map((c) => [c.event_name, c.n])),
    },
  };
}

function buildChange(cur: WeekFigures, prev: WeekFigures): ReportChange {
  return {
    leads: change(cur.leads, prev.leads),
    purchases: change(cur.purchases, prev.purchases),
    cash_collected_cents: change(cur.revenue.cash_collected_cents, prev.revenue.cash_collected_cents),
    projected_cents: change(cur.revenue.projected_cents, prev.revenue.projected_cents),
    spend_cents: cur.ads.other_currencies || prev.ads.other_currencies ? null : change(cur.ads.spend_cents, prev.ads.spend_cents),
    funnel: Object.fromEntries(funnelEventTypes.map((t) => [t, change(cur.funnel[t], prev.funnel[t])])) as ReportChange['funnel'],
    stages: Object.fromEntries(cur.stages.map((s, i) => [s.stage, change(s.count, prev.stages[i]?.count ?? 0)])) as ReportChange['stages'],
  };
}

/**
 * Computes the report figures of one tenant for `week` and the week before, in one transaction
 * under the tenant's row-level security (role `mcb_app`): three set-based statements plus the
 * tenant row and the top ads' names. Money is in the tenant's reporting currency (`config.currency`):
 * payments and ad spend in other currencies are reported apart (`other_currencies`), never summed in.
 * Read-only; the same input always gives the same numbers.
 * Throws when the tenant does not exist (or is not visible to `tenantId`).
 */
export async function computeReportFigures(database: Database, tenantId: string, week: WeekWindow): Promise<ReportFigures> {
  const prev = previousWeek(week);
  return withTenantSql(database.sql, tenantId, async (tx) => {
    const [tenant] = await tx<{ id: string; slug: string; name: string; config: unknown }[]>`
      select id, slug, name, config from tenants where id = ${tenantId}
    `;
    if (!tenant) throw new McbError('not_found', `Unknown tenant id: ${tenantId}`);
    const { currency } = parseTenantConfig(tenant.config);
    const people = await queryPeople(tx, tenantId, week, prev);
    const payments = await queryPayments(tx, tenantId, week, prev);
    const spend = await querySpend(tx, tenantId, week, prev, currency);
    const adIds = [...new Set(people.filter((r) => r.kind.startsWith('ad_')).map((r) => r.key as string))];
    const names = adIds.length
      ? await tx<{ ad_id: string; ad_name: string | null }[]>`
          select ad_id, ad_name from meta_ads where tenant_id = ${tenantId} and ad_id = any(${adIds}::text[])
        `
      : [];
    const adNames = new Map(names.map((n) => [n.ad_id, n.ad_name]));
    const conversions = await queryConversions(tx, tenantId, week, prev);
    const current = buildWeek(0, week, currency, people, payments, spend, adNames, conversions);
    const previous = buildWeek(1, prev, currency, people, payments, spend, adNames, conversions);
    return {
      tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name },
      currency,
      ...current,
      change: buildChange(current, previous),
      previous,
    };
  });
}
