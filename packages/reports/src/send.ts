import { type Logger, McbError } from '@mcb/core';
import { type Database, type ReportRunRow, type TenantRow, toTenant, withTenantSql } from '@mcb/db';
import { renderWeeklyReport } from '@mcb/emails';
import { parseTenantConfig } from '@mcb/tenancy';
import { DateTime } from 'luxon';
import { computeReportFigures, type ReportFigures } from './figures';
import type { Delivery, Mailer } from './mailer';
import { localMinute, previousFullWeek, reportDueAt, type WeekWindow, weekContaining, weekHasEnded, weekTense } from './week';

/** The tenant fields a report needs, read under the tenant's row-level security. */
export interface ReportTenant {
  id: string;
  slug: string;
  name: string;
  ownerName: string | null;
  reportEmail: string | null;
  isActive: boolean;
  createdAt: Date;
  timezone: string;
  schedule: string;
  /** `report_email` then `config.report.recipients`, lowercased, without duplicates. */
  recipients: string[];
}

type ReportTenantRow = Pick<TenantRow, 'id' | 'slug' | 'name' | 'owner_name' | 'report_email' | 'is_active' | 'created_at' | 'config'>;

/** Reads one tenant (any status) for reporting. Throws when it does not exist. */
export async function loadReportTenant(database: Database, tenantId: string): Promise<ReportTenant> {
  const [row] = await withTenantSql(
    database.sql,
    tenantId,
    (tx) => tx<ReportTenantRow[]>`
      select id, slug, name, owner_name, report_email, is_active, created_at, config from tenants where id = ${tenantId}`,
  );
  if (!row) throw new McbError('not_found', `Unknown tenant id: ${tenantId}`);
  const config = parseTenantConfig(row.config);
  const recipients = [
    ...new Set([row.report_email, ...config.report.recipients].filter((e): e is string => !!e?.trim()).map((e) => e.trim().toLowerCase())),
  ];
  // The stored config is read through its defaults above; the report keeps what it needs of it.
  const { config: _stored, ...tenant } = toTenant(row);
  return { ...tenant, timezone: config.timezone, schedule: config.report.schedule, recipients };
}

/** The week a report covers: the week holding `week` (any `YYYY-MM-DD` in it), else the last full week before `now`. */
export function resolveReportWeek(tenant: Pick<ReportTenant, 'timezone'>, week: string | undefined, now: Date = new Date()): WeekWindow {
  return week ? weekContaining(week, tenant.timezone) : previousFullWeek(now, tenant.timezone);
}

/**
 * A send asked for a week that has not ended in the tenant's zone (the running week or a later one).
 * Only full weeks are sent (SPEC §7): an early send would be partial, yet be recorded `sent` and carry
 * the week's idempotency key, so the scheduled send of that week would send nothing. Code `bad_request`
 * (the worker fails such a job without retry); the message names the week, when it ends and how to
 * look at it now (`mcb report preview`, which renders any week).
 */
export class WeekNotEnded extends McbError {
  readonly slug: string;
  readonly weekStart: string;
  /** When the week ends (next Monday 00:00 local); from then on it can be sent. */
  readonly endsAt: Date;
  /** When the tenant's schedule sends it (`reportDueAt`; the end itself if the schedule cannot be read): never before `endsAt`. */
  readonly dueAt: Date;
  constructor(slug: string, week: WeekWindow, now: Date, schedule?: string) {
    const started = now.getTime() >= week.start.getTime();
    // A week not started has nothing to preview either (`assertWeekStarted`): only the running one is pointed at.
    super(
      'bad_request',
      `Week ${week.weekStart} – ${week.weekEnd} (${week.timezone}) ${started ? 'has not ended' : 'has not started'}: ` +
        `it ends ${localMinute(week.end, week.timezone)}. Only a full week is sent` +
        (started ? `; to see it so far: mcb report preview ${slug} --week ${week.weekStart}` : '.'),
    );
    this.slug = slug;
    this.weekStart = week.weekStart;
    this.endsAt = week.end;
    let dueAt = week.end;
    try {
      dueAt = reportDueAt(week, schedule);
    } catch {
      // An unreadable schedule is the tick's to report (it skips such a tenant); the end will do here.
    }
    this.dueAt = dueAt;
  }
}

/**
 * Refuses a week that has not started in the tenant's zone (`mcb report preview`): its figures are all
 * zero and its email would read "Here is how the week of … went … $0.00 (-100% vs the week before)".
 * The running week is allowed (it reads "this week so far"); the message points at it. Code `bad_request`.
 */
export function assertWeekStarted(slug: string, week: WeekWindow, now: Date = new Date()): void {
  if (now.getTime() >= week.start.getTime()) return;
  const running = weekContaining(DateTime.fromJSDate(now, { zone: week.timezone }).toISODate() as string, week.timezone);
  throw new McbError(
    'bad_request',
    `Week ${week.weekStart} – ${week.weekEnd} (${week.timezone}) has not started: it starts ${localMinute(week.start, week.timezone)}. ` +
      `Nothing to preview yet; this week so far: mcb report preview ${slug} --week ${running.weekStart}`,
  );
}

/** Idempotency key of one tenant's weekly report (Resend dedupes on it for 24 h). */
export function weeklyReportIdempotencyKey(slug: string, weekStart: string): string {
  return `weekly-report/${slug}/${weekStart}`;
}

export interface RenderedReport {
  tenant: ReportTenant;
  week: WeekWindow;
  figures: ReportFigures;
  subject: string;
  html: string;
  text: string;
}

/**
 * Figures + rendered email of one tenant and week (what preview shows and send sends). Read-only.
 * `now` decides the wording: a week still running reads "this week so far", the last full week "last week".
 */
export async function buildWeeklyReport(
  database: Database,
  tenant: ReportTenant,
  week: WeekWindow,
  now: Date = new Date(),
): Promise<RenderedReport> {
  const figures = await computeReportFigures(database, tenant.id, week);
  const email = await renderWeeklyReport({ figures, ownerName: tenant.ownerName, tense: weekTense(week, now) });
  return { tenant, week, figures, ...email };
}

export interface SendWeeklyReportOptions {
  /** Role `mcb_app`. */
  database: Database;
  mailer: Mailer;
  /** `From` header, e.g. `MCB Reports <reports@example.com>`. */
  from: string;
  tenantId: string;
  /** Any date of the week (`YYYY-MM-DD`, tenant zone); default the last full week before `now`. A week not ended by `now` is refused. */
  week?: string;
  now?: Date;
  log?: Logger;
  /** A `pending` run older than this is taken over (its sender died mid-send). Default 10 min. */
  staleAfterMs?: number;
  /** Skip (nothing sent, no run) when the tenant is inactive — the scheduled path; the CLI checks itself. */
  skipInactive?: boolean;
  /** Aborts the send (the worker shutting down): the run is marked failed and the job retried. */
  signal?: AbortSignal;
  /**
   * A week that ended before the tenant was added: `refuse` (the operator's command — most likely a
   * mistyped `week`, and a report is sent once) or `send` (the default for code).
   */
  beforeCreated?: 'refuse' | 'send';
}

export type SendWeeklyReportResult =
  | { status: 'sent'; runId: number; weekStart: string; recipients: string[]; subject: string; delivery: Delivery }
  | { status: 'already_sent'; runId: number; weekStart: string; sentAt: Date | null }
  | { status: 'in_progress'; runId: number; weekStart: string }
  | { status: 'skipped'; weekStart: string; reason: 'no_recipients' | 'inactive' };

type RunRow = Pick<ReportRunRow, 'id' | 'status' | 'sent_at'>;

/**
 * Sends one tenant's weekly report at most once per week. A `report_runs` row is claimed first
 * (`UNIQUE(tenant_id, kind, period_start)`, committed before anything is sent): a run that finds
 * it `sent` sends nothing and returns `already_sent`; `failed` (or a stale `pending`) is claimed
 * again, so a failed send is retryable. Delivery uses the idempotency key
 * `weekly-report/<slug>/<weekStart>`, so a crash between sending and recording cannot send twice.
 * Only a week that has ended by `now` is sent: an earlier one throws `WeekNotEnded` before any run is
 * claimed or email rendered. Throws the send error (after recording it on the run) — `MailerError.retryable`
 * tells whether to retry.
 */
export async function sendWeeklyReport(options: SendWeeklyReportOptions): Promise<SendWeeklyReportResult> {
  const { database, mailer, from, tenantId, log } = options;
  const tenant = await loadReportTenant(database, tenantId);
  const now = options.now ?? new Date();
  const week = resolveReportWeek(tenant, options.week, now);
  if (!weekHasEnded(week, now)) throw new WeekNotEnded(tenant.slug, week, now, tenant.schedule);
  // An operator's review (stop 38): `--week 2020-01-01` for a tenant added today sent an all-zero report,
  // and a report is sent once: the mistake could not be taken back.
  if (options.beforeCreated === 'refuse' && week.end.getTime() <= tenant.createdAt.getTime())
    throw new McbError(
      'bad_request',
      `Week ${week.weekStart} – ${week.weekEnd} (${week.timezone}) ended before ${tenant.slug} was added (${tenant.createdAt.toISOString().slice(0, 10)}): ` +
        `check the week (a report is sent once). To send it all the same: --before-created (mcb report preview ${tenant.slug} --week ${week.weekStart} shows it first)`,
    );
  if (options.skipInactive && !tenant.isActive) {
    log?.info({ tenant: tenant.slug, week: week.weekStart }, 'weekly report skipped: tenant inactive');
    return { status: 'skipped', weekStart: week.weekStart, reason: 'inactive' };
  }
  if (tenant.recipients.length === 0) {
    log?.info({ tenant: tenant.slug, week: week.weekStart }, 'weekly report skipped: no report_email or recipients');
    return { status: 'skipped', weekStart: week.weekStart, reason: 'no_recipients' };
  }
  const staleSeconds = Math.ceil((options.staleAfterMs ?? 10 * 60_000) / 1000);

  const claim = await withTenantSql(database.sql, tenant.id, async (tx) => {
    const [claimed] = await tx<RunRow[]>`
      insert into report_runs (tenant_id, kind, period_start, period_end, status, recipients)
      values (${tenant.id}, 'weekly', ${week.weekStart}, ${week.weekEnd}, 'pending', ${tx.json(tenant.recipients)})
      on conflict (tenant_id, kind, period_start) do update
        set status = 'pending', recipients = excluded.recipients, error = null, updated_at = now()
        where report_runs.status = 'failed'
           or (report_runs.status = 'pending' and report_runs.updated_at < now() - make_interval(secs => ${staleSeconds}))
      returning id, status, sent_at
    `;
    if (claimed) return { claimed: true as const, run: claimed };
    const [existing] = await tx<RunRow[]>`
      select id, status, sent_at from report_runs
      where tenant_id = ${tenant.id} and kind = 'weekly' and period_start = ${week.weekStart}
    `;
    return { claimed: false as const, run: existing as RunRow };
  });
  if (!claim.claimed) {
    const { run } = claim;
    log?.info(
      { tenant: tenant.slug, week: week.weekStart, runId: run.id, status: run.status },
      'weekly report already handled: nothing sent',
    );
    return run.status === 'sent'
      ? { status: 'already_sent', runId: run.id, weekStart: week.weekStart, sentAt: run.sent_at }
      : { status: 'in_progress', runId: run.id, weekStart: week.weekStart };
  }
  const runId = claim.run.id;

  try {
    const report = await buildWeeklyReport(database, tenant, week, now);
    const delivery = await mailer.send(
      {
        from,
        to: tenant.recipients,
        subject: report.subject,
        html: report.html,
        text: report.text,
        idempotencyKey: weeklyReportIdempotencyKey(tenant.slug, week.weekStart),
        outboxName: `${tenant.slug}/${week.weekStart}`,
        json: report.figures,
      },
      options.signal ? { signal: options.signal } : undefined,
    );
    await withTenantSql(
      database.sql,
      tenant.id,
      (tx) => tx`
        update report_runs
        set status = 'sent', provider_message_id = ${delivery.messageId}, sent_at = now(), updated_at = now(),
            error = ${delivery.kind === 'resend_duplicate' ? 'already accepted by Resend under the same idempotency key' : null}
        where tenant_id = ${tenant.id} and id = ${runId}
      `,
    );
    const where = delivery.kind === 'outbox' ? { outbox: delivery.files.html } : { messageId: delivery.messageId };
    log?.info({ tenant: tenant.slug, week: week.weekStart, runId, recipients: tenant.recipients.length, ...where }, 'weekly report sent');
    return { status: 'sent', runId, weekStart: week.weekStart, recipients: tenant.recipients, subject: report.subject, delivery };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await withTenantSql(
      database.sql,
      tenant.id,
      (tx) => tx`
        update report_runs set status = 'failed', error = ${message.slice(0, 2000)}, updated_at = now()
        where tenant_id = ${tenant.id} and id = ${runId}
      `,
    );
    log?.warn({ tenant: tenant.slug, week: week.weekStart, runId, err: message }, 'weekly report failed');
    throw err;
  }
}
