import { type Database, withTenantSql } from '@mcb/db';
import { leadEventName } from './config';
import { maxEventAgeMs } from './map';
import { resendAsRecorded, rewindScanMark } from './outbox';

export interface CapiStatusCounts {
  /** Rows by status and Meta event name (all time). */
  byEvent: Array<{ eventName: string; status: string; count: number }>;
  sent: number;
  skipped: number;
  failed: number;
  pending: number;
  lastSentAt: Date | null;
  /** Sent in the last 7 days. */
  sentLast7Days: number;
  /** Of `sent`: rows that went out with a `test_event_code` (Test Events only; sent for real when test mode ends). */
  sentToTestEvents: number;
  /** The most recent failures and skips, with their reasons (no PII: reasons never quote user data). */
  recentProblems: Array<{ id: number; eventName: string; status: string; reason: string | null; at: Date }>;
}

/** A tenant's Conversions API outbox figures, under RLS. */
export async function getCapiStatus(database: Database, tenantId: string): Promise<CapiStatusCounts> {
  return withTenantSql(database.sql, tenantId, async (tx) => {
    const byEvent = await tx<{ eventName: string; status: string; count: number }[]>`
      select event_name as "eventName", status, count(*)::int as count from capi_sends
      where tenant_id = ${tenantId} group by 1, 2 order by 1, 2`;
    const [summary] = await tx<{ lastSentAt: Date | null; sentLast7Days: number }[]>`
      select max(sent_at) as "lastSentAt",
             count(*) filter (where status = 'sent' and sent_at >= now() - interval '7 days')::int as "sentLast7Days"
      from capi_sends where tenant_id = ${tenantId}`;
    const [test] = await tx<{ n: number }[]>`
      select count(*)::int as n from capi_sends where tenant_id = ${tenantId} and test_event_code is not null and status = 'sent'`;
    const recentProblems = await tx<{ id: string | number; eventName: string; status: string; reason: string | null; at: Date }[]>`
      select id, event_name as "eventName", status, reason, created_at as at from capi_sends
      where tenant_id = ${tenantId} and status in ('failed', 'skipped') order by id desc limit 5`;
    const total = (status: string) => byEvent.filter((r) => r.status === status).reduce((n, r) => n + r.count, 0);
    return {
      byEvent,
      sent: total('sent'),
      skipped: total('skipped'),
      failed: total('failed'),
      pending: total('pending'),
      lastSentAt: summary?.lastSentAt ?? null,
      sentLast7Days: summary?.sentLast7Days ?? 0,
      sentToTestEvents: test?.n ?? 0,
      recentProblems: recentProblems.map((r) => ({ ...r, id: Number(r.id) })),
    };
  });
}

export interface CapiReplayFilter {
  /** Only rows in this state (default: failed and skipped). */
  status?: 'sent' | 'failed' | 'skipped';
  /** Only the rows of one funnel event. */
  funnelEventId?: string;
  /** Count only; change nothing. */
  dryRun?: boolean;
}

/**
 * Hours after its send within which a `sent` row may be replayed: Meta drops a second event with the same
 * event_id and event_name only within 48 h of the first; 47 leaves an hour for the replayed row to go out.
 */
export const sentReplayWindowHours = 47;

export interface CapiReplayResult {
  /** Rows replayed (or that would be, with `dryRun`): forgotten to be planned again, or `leadsResent`. */
  count: number;
  /** Of `count`: sent Leads set to go out again exactly as recorded (same event, same event_id). */
  leadsResent: number;
  /** Sent rows kept: sent more than `sentReplayWindowHours` ago (Meta would count them twice). */
  tooOld: number;
  /** Sent rows kept: their event is past Meta's 7-day window, so a replay could only mark them skipped. */
  pastWindow: number;
}

/**
 * Replay by hand (`mcb capi replay`): forgets the matching `capi_sends` rows so the next send plans
 * them again from current data (a payment that arrived since, a fixed mapping). Pending rows are
 * never touched (a sender may hold them); the scan mark moves back to the earliest forgotten event.
 * Meta deduplicates a re-sent event on its event_id within 48 h only: a `sent` row sent longer ago than
 * `sentReplayWindowHours` is kept (re-sent, Meta would count the conversion twice) and counted in
 * `tooOld`; one whose event is past Meta's window is kept too (`pastWindow`). A sent Lead is not
 * planned again but set to go out again as recorded: planned anew, it would go on the person's
 * earliest event, and an earlier event that arrived since would give it another event_id — a second
 * Lead for Meta. A funnel event recorded more than the scan window ago (8 days) is not planned again.
 * Under RLS.
 */
export async function replayCapiSends(database: Database, tenantId: string, filter: CapiReplayFilter = {}): Promise<CapiReplayResult> {
  return withTenantSql(database.sql, tenantId, async (tx) => {
    const statuses = filter.status ? [filter.status] : ['failed', 'skipped'];
    const matching = tx`tenant_id = ${tenantId} and status = any(${statuses}::text[])
      ${filter.funnelEventId ? tx`and funnel_event_id = ${filter.funnelEventId}::uuid` : tx``}`;
    const windowStart = new Date(Date.now() - maxEventAgeMs).toISOString();
    const tooOld = tx`sent_at < now() - make_interval(hours => ${sentReplayWindowHours})`;
    const pastWindow = tx`event_time <= ${windowStart}::timestamptz`;
    const [counts] = await tx<{ too_old: number; past_window: number; leads: number; rest: number }[]>`
      select count(*) filter (where k = 'too_old')::int as too_old, count(*) filter (where k = 'past_window')::int as past_window,
             count(*) filter (where k = 'lead')::int as leads, count(*) filter (where k = 'rest')::int as rest
      from (select case when status = 'sent' and ${tooOld} then 'too_old'
                        when status = 'sent' and ${pastWindow} then 'past_window'
                        when status = 'sent' and event_name = ${leadEventName} then 'lead'
                        else 'rest' end as k
            from capi_sends where ${matching}) r`;
    const leads = counts?.leads ?? 0;
    const result = {
      count: leads + (counts?.rest ?? 0),
      leadsResent: leads,
      tooOld: counts?.too_old ?? 0,
      pastWindow: counts?.past_window ?? 0,
    };
    if (filter.dryRun) return result;
    const replayable = tx`${matching} and not (status = 'sent' and (${tooOld} or ${pastWindow}))`;
    const resent = await resendAsRecorded(tx, tx`${replayable} and status = 'sent' and event_name = ${leadEventName}`);
    const rows = await tx<{ funnel_event_id: string }[]>`
      delete from capi_sends where ${replayable} and not (status = 'sent' and event_name = ${leadEventName})
      returning funnel_event_id`;
    await rewindScanMark(
      tx,
      tenantId,
      rows.map((r) => r.funnel_event_id),
    );
    return { ...result, count: resent.count + rows.count, leadsResent: resent.count };
  });
}
