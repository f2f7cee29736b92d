import type { Sql } from 'postgres';
import { disputedPaymentStatuses } from '../schema/payments';

/** Per-tenant operating and business figures over `[since, until)`. Money in integer minor units of `currency`. */
export interface TenantStats {
  tenantId: string;
  slug: string;
  name: string;
  isActive: boolean;
  /**
   * Webhook logs received in the period, by status. `received` counts the accepted ones (signature
   * verified, every status but `rejected`): rejected deliveries, which anyone who knows a URL can send,
   * are counted apart so they cannot inflate it.
   */
  logs: { received: number; pending: number; processed: number; failed: number; ignored: number; rejected: number };
  /** Of `logs.failed`, those with a retry still pending (`retry_at` set): they will run again; the rest gave up. */
  failedWillRetry: number;
  /** Logs accepted and not yet picked up by a worker (status `received`), all time: the backlog. */
  waiting: number;
  /**
   * Time of the newest accepted webhook log (signature verified), all time. Rejected deliveries do not
   * count: anyone can send those, so they would make a tenant whose tools stopped sending look alive.
   */
  lastEventAt: Date | null;
  /** Contacts first created in the period (merged records excluded), and all contacts now. */
  contacts: { new: number; total: number };
  /** Funnel events that occurred in the period, and the distinct contacts behind them. */
  funnelEvents: { count: number; contacts: number };
  /** The tenant's reporting currency (`config.currency`, lowercase; usd when unset). */
  currency: string;
  /**
   * Cash collected in the period: deposits, full purchases, downpayments, recurring, minus refunds (SPEC §7),
   * of payments in `currency` only; a failed charge moved no money (as the weekly report counts).
   */
  revenueCents: number;
  /** The same sum of payments in other currencies, by lowercase code (minor units of each); `{}` when none. */
  revenueOtherCurrencies: Record<string, number>;
  /**
   * How much of `revenueCents` is payments under an open or lost dispute (`disputedPaymentStatuses`):
   * counted in cash collected as SPEC §7 defines it, shown apart so a reader knows it may go back.
   */
  disputedCents: number;
  /** The same of `revenueOtherCurrencies`, by lowercase code; only currencies with any. */
  disputedOtherCurrencies: Record<string, number>;
  /** Conversions API: events sent / skipped / refused by Meta, recorded in the period; pending now (issue 17). */
  capi: { sent: number; skipped: number; failed: number; pending: number };
}

type StatsRow = {
  id: string;
  slug: string;
  name: string;
  is_active: boolean;
  received: number;
  pending: number;
  processed: number;
  failed: number;
  ignored: number;
  rejected: number;
  failed_will_retry: number;
  waiting: number;
  last_event_at: Date | null;
  new_contacts: number;
  total_contacts: number;
  funnel_events: number;
  funnel_contacts: number;
  currency: string;
  revenue_cents: number;
  revenue_other: Record<string, number>;
  disputed_cents: number;
  disputed_other: Record<string, number>;
  capi_sent: number;
  capi_skipped: number;
  capi_failed: number;
  capi_pending: number;
};

/**
 * Cross-tenant analytics for operators (`mcb stats`, console `/admin/api/stats`). Bypasses row-level
 * security by design: run it on an admin (`mcb_admin`) connection only. One lateral query per
 * figure, each served by a `(tenant_id, <time>)` index.
 */
export async function getTenantStats(sql: Sql, params: { since: Date; until?: Date; tenantId?: string }): Promise<TenantStats[]> {
  const until = params.until ?? new Date();
  const { since } = params;
  const rows = await sql<StatsRow[]>`
    select t.id, t.slug, t.name, t.is_active,
           l.received, l.pending, l.processed, l.failed, l.ignored, l.rejected, l.failed_will_retry,
           o.waiting, le.last_event_at, c.new_contacts, ct.total_contacts,
           f.funnel_events, f.funnel_contacts, tc.currency, p.revenue_cents, p.revenue_other, p.disputed_cents, p.disputed_other,
           cs.capi_sent, cs.capi_skipped, cs.capi_failed, cp.capi_pending
    from tenants t
    cross join lateral (
      select count(*) filter (where status <> 'rejected')::int as received,
             count(*) filter (where status in ('received', 'processing'))::int as pending,
             count(*) filter (where status = 'processed')::int as processed,
             count(*) filter (where status = 'failed')::int as failed,
             count(*) filter (where status = 'ignored')::int as ignored,
             count(*) filter (where status = 'rejected')::int as rejected,
             count(*) filter (where status = 'failed' and retry_at is not null)::int as failed_will_retry
      from webhook_logs w where w.tenant_id = t.id and w.received_at >= ${since} and w.received_at < ${until}) l
    cross join lateral (
      select count(*)::int as waiting from webhook_logs w
      where w.tenant_id = t.id and w.status = 'received') o
    cross join lateral (
      select max(w.received_at) as last_event_at from webhook_logs w where w.tenant_id = t.id and w.status <> 'rejected') le
    cross join lateral (
      select count(*)::int as new_contacts from contacts c
      where c.tenant_id = t.id and c.merged_into_id is null and c.created_at >= ${since} and c.created_at < ${until}) c
    cross join lateral (
      select count(*)::int as total_contacts from contacts c where c.tenant_id = t.id and c.merged_into_id is null) ct
    cross join lateral (
      select count(*)::int as funnel_events, count(distinct e.contact_id)::int as funnel_contacts from funnel_events e
      where e.tenant_id = t.id and e.occurred_at >= ${since} and e.occurred_at < ${until}) f
    -- Money sums as float8, never ::bigint: one tenant's signed amounts could overflow bigint and fail this
    -- query for every tenant (red team, stop 32). Exact to 2^53 minor units; normalizers bound each payment.
    cross join lateral (select lower(coalesce(t.config->>'currency', 'usd')) as currency) tc
    cross join lateral (
      select coalesce(sum(s.cents) filter (where s.currency = tc.currency), 0)::float8 as revenue_cents,
             coalesce(jsonb_object_agg(s.currency, s.cents) filter (where s.currency <> tc.currency), '{}') as revenue_other,
             coalesce(sum(s.disputed) filter (where s.currency = tc.currency), 0)::float8 as disputed_cents,
             coalesce(jsonb_object_agg(s.currency, s.disputed) filter (where s.currency <> tc.currency and s.disputed <> 0), '{}')
               as disputed_other
      from (
        select lower(p.currency) as currency, sum(p.amount_cents) as cents,
               coalesce(sum(p.amount_cents) filter (where p.status = any(${[...disputedPaymentStatuses]}::text[])), 0) as disputed
        from payments p
        where p.tenant_id = t.id and p.paid_at >= ${since} and p.paid_at < ${until}
          and p.category in ('deposit', 'full_purchase', 'downpayment', 'recurring', 'refund') and p.status <> 'failed'
        group by 1) s) p
    cross join lateral (
      select count(*) filter (where s.status = 'sent')::int as capi_sent,
             count(*) filter (where s.status = 'skipped')::int as capi_skipped,
             count(*) filter (where s.status = 'failed')::int as capi_failed
      from capi_sends s where s.tenant_id = t.id and s.created_at >= ${since} and s.created_at < ${until}) cs
    cross join lateral (
      select count(*)::int as capi_pending from capi_sends s where s.tenant_id = t.id and s.status = 'pending') cp
    where ${params.tenantId ? sql`t.id = ${params.tenantId}` : sql`true`}
    order by t.slug`;
  return rows.map((r) => ({
    tenantId: r.id,
    slug: r.slug,
    name: r.name,
    isActive: r.is_active,
    logs: { received: r.received, pending: r.pending, processed: r.processed, failed: r.failed, ignored: r.ignored, rejected: r.rejected },
    failedWillRetry: r.failed_will_retry,
    waiting: r.waiting,
    lastEventAt: r.last_event_at,
    contacts: { new: r.new_contacts, total: r.total_contacts },
    funnelEvents: { count: r.funnel_events, contacts: r.funnel_contacts },
    currency: r.currency,
    revenueCents: Number(r.revenue_cents),
    revenueOtherCurrencies: r.revenue_other,
    disputedCents: Number(r.disputed_cents),
    disputedOtherCurrencies: Object.fromEntries(Object.entries(r.disputed_other).map(([code, minor]) => [code, Number(minor)])),
    capi: { sent: r.capi_sent, skipped: r.capi_skipped, failed: r.capi_failed, pending: r.capi_pending },
  }));
}
