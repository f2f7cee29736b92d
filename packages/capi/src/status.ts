import { type Database, withTenantSql } from '@mcb/db';

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

const zeroUuid = '00000000-0000-0000-0000-000000000000';

/**
 * Hours after its send within which a `sent` row may be replayed: Meta drops a second event with the same
 * event_id and event_name only within 48 h of the first; 47 leaves an hour for the replayed row to go out.
 */
export const sentReplayWindowHours = 47;

/**
 * Replay by hand (`mcb capi replay`): forgets the matching `capi_sends` rows so the next send plans
 * them again from current data (a payment that arrived since, a fixed mapping). Pending rows are
 * never touched (a sender may hold them); the scan mark moves back to the earliest forgotten event.
 * Meta deduplicates a re-sent event on its event_id within 48 h only: a `sent` row sent longer ago than
 * `sentReplayWindowHours` is kept (re-sent, Meta would count the conversion twice) and counted in
 * `tooOld`. A funnel event recorded more than the scan window ago (8 days) is not planned again.
 * Returns how many rows matched (forgotten, or would be with `dryRun`). Under RLS.
 */
export async function replayCapiSends(
  database: Database,
  tenantId: string,
  filter: CapiReplayFilter = {},
): Promise<{ count: number; tooOld: number }> {
  return withTenantSql(database.sql, tenantId, async (tx) => {
    const statuses = filter.status ? [filter.status] : ['failed', 'skipped'];
    const matching = tx`tenant_id = ${tenantId} and status = any(${statuses}::text[])
      ${filter.funnelEventId ? tx`and funnel_event_id = ${filter.funnelEventId}::uuid` : tx``}`;
    const old = tx`status = 'sent' and sent_at < now() - make_interval(hours => ${sentReplayWindowHours})`;
    const [kept] = await tx<{ n: number }[]>`select count(*)::int as n from capi_sends where ${matching} and ${old}`;
    const tooOld = kept?.n ?? 0;
    const where = tx`${matching} and not coalesce(${old}, false)`;
    if (filter.dryRun) {
      const [row] = await tx<{ n: number }[]>`select count(*)::int as n from capi_sends where ${where}`;
      return { count: row?.n ?? 0, tooOld };
    }
    const rows = await tx<{ funnel_event_id: string }[]>`delete from capi_sends where ${where} returning funnel_event_id`;
    // The scan mark may be past these events: move it back to the earliest, so the next run sees them,
    // and bump its generation, so a run in flight (which may have passed them while they still had
    // their rows) cannot carry it forward again.
    if (rows.length > 0)
      await tx`
        update capi_scan_marks m set generation = m.generation + 1, updated_at = now(),
          created_at = case when (e.at, ${zeroUuid}::uuid) < (m.created_at, m.funnel_event_id) then e.at else m.created_at end,
          funnel_event_id = case when (e.at, ${zeroUuid}::uuid) < (m.created_at, m.funnel_event_id) then ${zeroUuid}::uuid else m.funnel_event_id end
        from (select min(created_at) as at from funnel_events
              where tenant_id = ${tenantId} and id = any(${rows.map((r) => r.funnel_event_id)}::uuid[])) e
        where m.tenant_id = ${tenantId}`;
    return { count: rows.count, tooOld };
  });
}
