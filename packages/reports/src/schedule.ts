import type { Database } from '@mcb/db';
import { parseTenantConfig } from '@mcb/tenancy';
import { previousFullWeek, reportDueAt } from './week';

/** A weekly report whose send time has come and which has not been sent yet. */
export interface DueWeeklyReport {
  tenantId: string;
  slug: string;
  weekStart: string;
  dueAt: Date;
}

export interface DueWeeklyReportsResult {
  due: DueWeeklyReport[];
  /** Tenants skipped because their config cannot be read (bad zone or schedule). */
  invalid: Array<{ slug: string; error: string }>;
}

/** Deterministic BullMQ job id of one tenant's report for one week (no `:`). */
export function weeklyReportJobId(tenantId: string, weekStart: string): string {
  return `report-weekly-${tenantId}-${weekStart}`;
}

/**
 * Cross-tenant fan-out (role `mcb_admin`): every active tenant with a `report_email` or
 * `config.report.recipients` whose last full week (in its own zone) has reached its send time
 * (`config.report.schedule`, a cron in the tenant's zone, default Monday 08:00) by `now`, and
 * whose `report_runs` row for that week is not `sent`. Tenants created after the week ended are
 * left out (nothing to report). Read-only; the caller enqueues with `weeklyReportJobId`.
 */
export async function findDueWeeklyReports(admin: Database, now: Date = new Date()): Promise<DueWeeklyReportsResult> {
  const tenants = await admin.sql<{ id: string; slug: string; report_email: string | null; config: unknown; created_at: Date }[]>`
    select id, slug, report_email, config, created_at from tenants where is_active order by slug
  `;
  const candidates: DueWeeklyReport[] = [];
  const invalid: DueWeeklyReportsResult['invalid'] = [];
  for (const t of tenants) {
    try {
      const config = parseTenantConfig(t.config);
      if (!t.report_email?.trim() && config.report.recipients.length === 0) continue;
      const week = previousFullWeek(now, config.timezone);
      if (t.created_at >= week.end) continue;
      const dueAt = reportDueAt(week, config.report.schedule);
      if (now >= dueAt) candidates.push({ tenantId: t.id, slug: t.slug, weekStart: week.weekStart, dueAt });
    } catch (err) {
      invalid.push({ slug: t.slug, error: err instanceof Error ? err.message : String(err) });
    }
  }
  if (candidates.length === 0) return { due: [], invalid };
  const sent = await admin.sql<{ tenant_id: string; period_start: string }[]>`
    select r.tenant_id, to_char(r.period_start, 'YYYY-MM-DD') as period_start
    from report_runs r
    join unnest(${candidates.map((c) => c.tenantId)}::uuid[], ${candidates.map((c) => c.weekStart)}::date[]) as d(tenant_id, week)
      on r.tenant_id = d.tenant_id and r.kind = 'weekly' and r.period_start = d.week
    where r.status = 'sent'
  `;
  const done = new Set(sent.map((r) => `${r.tenant_id}/${r.period_start}`));
  return { due: candidates.filter((c) => !done.has(`${c.tenantId}/${c.weekStart}`)), invalid };
}
