import { formatMoney, McbError } from '@mcb/core';
import { type Database, getTenantStats, type TenantStats } from '@mcb/db';
import { z } from 'zod';
import { assertTimeWindow, defaultStatsSince, parseTimeArg } from './filters';
import { resolveTenantId } from './tenants';

/**
 * What an operator asks the stats for, as typed (`mcb stats` flags, the query string of the console's
 * `GET /admin/api/stats` and `/admin/stats`): a tenant slug or id (none or empty: every tenant), and
 * the period's start and end as `parseTimeArg` reads them (`since` defaults to `defaultStatsSince`,
 * `until` to now). Unknown keys are refused: a misspelt `tenat` must not widen the answer to all tenants.
 */
export const statsQuerySchema = z.strictObject({
  tenant: z.string().optional(),
  since: z.string().optional(),
  until: z.string().optional(),
});
export type StatsQuery = z.infer<typeof statsQuerySchema>;

/**
 * A query string's parameters as a `StatsQuery`; throws `bad_request` naming an unknown parameter. A
 * blank value is no value, for every parameter alike: `?tenant=&since=` (a form sent with empty
 * fields) asks for every tenant over the default period.
 */
export function parseStatsQuery(query: Record<string, string>): StatsQuery {
  const given = Object.fromEntries(Object.entries(query).filter(([, v]) => v.trim() !== ''));
  const parsed = statsQuerySchema.safeParse(given);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const unknown = issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : null;
  throw new McbError(
    'bad_request',
    unknown
      ? `Unknown parameter ${unknown}: the stats take ${Object.keys(statsQuerySchema.shape).join(', ')}`
      : `Invalid ${issue?.path.join('.') || 'query'}: ${issue?.message ?? 'invalid'}`,
  );
}

/** The period of the stats: `[since, until)`. */
export interface StatsPeriod {
  since: Date;
  until: Date;
}

/** The stats of a period, one entry per tenant (by slug): the JSON of `mcb stats --json` and `GET /admin/api/stats`. */
export interface StatsReport extends StatsPeriod {
  tenants: TenantStats[];
}

/**
 * The period a query asks for, as `parseTimeArg` reads its times: `until` defaults to now; `since` to
 * `defaultStatsSince` before the period's end (`until 2026-11-01` alone is the week up to that date, not
 * a window starting a week before now). Pure; throws `bad_request` for a time it cannot read, or a
 * period that does not end after it starts (`since 0d`, a `since` in the future), named as typed.
 */
export function resolveStatsPeriod(query: StatsQuery, now: Date = new Date()): StatsPeriod {
  const until = query.until ? parseTimeArg(query.until, now) : now;
  const sinceText = query.since ?? defaultStatsSince;
  const since = query.since ? parseTimeArg(query.since, now) : parseTimeArg(defaultStatsSince, until);
  assertTimeWindow(since, until, sinceText, query.until ?? 'now');
  return { since, until };
}

/**
 * The per-tenant figures (`getTenantStats`) for what an operator asked: the one computation behind
 * `mcb stats`, `GET /admin/api/stats` and the console's `/admin/stats` page (SPEC §8). Every tenant, or
 * the one `query.tenant` names (throws `UnknownTenant`); `period` defaults to `resolveStatsPeriod(query)`.
 * Reads across tenants: `admin` is the `mcb_admin` connection (ADR 0002).
 */
export async function loadTenantStats(
  admin: Database,
  query: StatsQuery,
  period: StatsPeriod = resolveStatsPeriod(query),
): Promise<StatsReport> {
  const tenantId = query.tenant ? await resolveTenantId(admin, query.tenant) : undefined;
  return { ...period, tenants: await getTenantStats(admin.sql, { ...period, tenantId }) };
}

/**
 * One figure as operators read it: `value` (`2`, `£572.00`) and the notes printed after it, in order
 * (`(1 will retry)`, `(+ ¥5,000 + $25.00)`, `(includes £497.00 in disputed payments)`).
 */
export interface StatsCell {
  value: string;
  notes: string[];
}

/** A cell as `mcb stats` prints it: the value, then each note after a space. */
export function statsCellText(cell: StatsCell): string {
  return [cell.value, ...cell.notes].join(' ');
}

/** The columns of the stats table, in order, with their headings (`mcb stats` and the console's page). */
export const statsColumns = [
  ['tenant', 'tenant'],
  ['active', 'active'],
  // Headed `accepted`: `received` is also a log status (not yet processed), which `mcb logs --status received` lists (operator walk, stop 37).
  ['received', 'accepted'],
  ['processed', 'processed'],
  ['failed', 'failed'],
  ['ignored', 'ignored'],
  ['rejected', 'rejected'],
  ['pending', 'pending'],
  ['waiting', 'waiting'],
  ['lastEvent', 'last event'],
  ['newContacts', 'new contacts'],
  ['events', 'events'],
  ['cashCollected', 'cash collected'],
  ['capiSent', 'capi sent'],
  ['capiRefused', 'capi refused'],
] as const;
export type StatsColumn = (typeof statsColumns)[number][0];

/** What the columns count, under the table in `mcb stats` and on the console's stats page. */
export const statsLegend =
  'Accepted: deliveries that passed verification (every status but rejected); pending: status received or processing. Waiting (not yet picked up ' +
  'by a worker) and last event (the newest accepted delivery) are of all time. New contacts: created in the period (all ' +
  'contacts now in brackets); events: funnel events in the period. Cash collected: deposits, full purchases, downpayments ' +
  "and recurring payments minus refunds, in the tenant's currency; payments in other currencies in brackets, never summed " +
  'into it. Capi: conversions sent to Meta (still pending in brackets) and refused by it.';
/** One row of the stats table: a cell per column. */
export type StatsRowCells = Record<StatsColumn, StatsCell>;

const cell = (value: string | number, ...notes: Array<string | null | false>): StatsCell => ({
  value: String(value),
  notes: notes.filter((n): n is string => typeof n === 'string' && n !== ''),
});

/** `(includes £497.00 in disputed payments)` for the disputed part of a cash figure, by currency; null when none is. */
function disputedNote(disputed: Map<string, number>): string | null {
  const parts = [...disputed]
    .filter(([, minor]) => minor !== 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, minor]) => formatMoney(minor, code));
  return parts.length ? `(includes ${parts.join(' + ')} in disputed payments)` : null;
}

/**
 * `£572.00`, with `(+ $25.00 + ¥5,000)` for payments in other currencies than the tenant's (never summed
 * into it); then, when any of it is under an open or lost dispute, `(includes £497.00 in disputed
 * payments)` — the figure stays SPEC §7's cash collected.
 */
export function describeCashCollected(s: TenantStats): StatsCell {
  const others = Object.entries(s.revenueOtherCurrencies)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, minor]) => formatMoney(minor, code));
  const disputed = new Map([[s.currency, s.disputedCents], ...Object.entries(s.disputedOtherCurrencies)]);
  return cell(formatMoney(s.revenueCents, s.currency), others.length > 0 && `(+ ${others.join(' + ')})`, disputedNote(disputed));
}

/** Cash of every tenant, summed per currency (those with any): `$2,500.00 + £25.00`; `0` when none in several currencies. */
export function describeCashCollectedTotal(stats: TenantStats[]): StatsCell {
  const sums = new Map<string, number>();
  const add = (code: string, minor: number) => sums.set(code, (sums.get(code) ?? 0) + minor);
  for (const s of stats) {
    add(s.currency, s.revenueCents);
    for (const [code, minor] of Object.entries(s.revenueOtherCurrencies)) add(code, minor);
  }
  const all = [...sums].sort(([a], [b]) => a.localeCompare(b));
  const shown = all.filter(([, minor]) => minor !== 0);
  // Nothing collected: in the one currency every tenant reports in, else a bare 0 (no currency to pick).
  if (shown.length === 0) return cell(all.length === 1 ? formatMoney(0, (all[0] as [string, number])[0]) : '0');
  const disputed = new Map<string, number>();
  for (const s of stats) {
    for (const [code, minor] of [[s.currency, s.disputedCents] as const, ...Object.entries(s.disputedOtherCurrencies)])
      disputed.set(code, (disputed.get(code) ?? 0) + minor);
  }
  return cell(shown.map(([code, minor]) => formatMoney(minor, code)).join(' + '), disputedNote(disputed));
}

/** Failed logs, and how many of them will retry: `3 (1 will retry)`; the rest gave up. */
const failedCell = (failed: number, willRetry: number) => cell(failed, willRetry > 0 && `(${willRetry} will retry)`);

/** The last event to the minute: `2026-12-07 10:15Z`; `-` for none. */
const minuteTime = (d: Date | null) =>
  d
    ? new Date(d)
        .toISOString()
        .replace('T', ' ')
        .replace(/:\d\d\.\d+Z$/, 'Z')
    : '-';

/** One tenant's row of the stats table, each figure as `mcb stats` prints it. */
export function describeTenantStats(s: TenantStats): StatsRowCells {
  return {
    tenant: cell(s.slug),
    active: cell(s.isActive ? 'yes' : 'no'),
    received: cell(s.logs.received),
    processed: cell(s.logs.processed),
    failed: failedCell(s.logs.failed, s.failedWillRetry),
    ignored: cell(s.logs.ignored),
    rejected: cell(s.logs.rejected),
    pending: cell(s.logs.pending),
    waiting: cell(s.waiting),
    lastEvent: cell(minuteTime(s.lastEventAt)),
    newContacts: cell(s.contacts.new, `(${s.contacts.total} total)`),
    events: cell(s.funnelEvents.count),
    cashCollected: describeCashCollected(s),
    capiSent: cell(s.capi.sent, s.capi.pending > 0 && `(+${s.capi.pending} pending)`),
    capiRefused: cell(s.capi.failed),
  };
}

/**
 * The `ALL` row: every count summed over `stats` with the same notes as a tenant's row (all contacts, capi
 * pending), the newest last event, cash per currency (`describeCashCollectedTotal`). Shown when there are
 * several tenants.
 */
export function describeStatsTotals(stats: TenantStats[]): StatsRowCells {
  const sum = (f: (s: TenantStats) => number) => stats.reduce((n, s) => n + f(s), 0);
  const total = (f: (s: TenantStats) => number) => cell(sum(f));
  const newest = stats.reduce<Date | null>(
    (at, s) => (s.lastEventAt && (!at || new Date(s.lastEventAt) > at) ? new Date(s.lastEventAt) : at),
    null,
  );
  const capiPending = sum((s) => s.capi.pending);
  return {
    tenant: cell('ALL'),
    active: cell(''),
    received: total((s) => s.logs.received),
    processed: total((s) => s.logs.processed),
    failed: failedCell(
      stats.reduce((n, s) => n + s.logs.failed, 0),
      stats.reduce((n, s) => n + s.failedWillRetry, 0),
    ),
    ignored: total((s) => s.logs.ignored),
    rejected: total((s) => s.logs.rejected),
    pending: total((s) => s.logs.pending),
    waiting: total((s) => s.waiting),
    // The notes of a tenant's row, summed: the legend's brackets mean the same in every row (operator walk, stop 37).
    lastEvent: cell(minuteTime(newest)),
    newContacts: cell(
      sum((s) => s.contacts.new),
      `(${sum((s) => s.contacts.total)} total)`,
    ),
    events: total((s) => s.funnelEvents.count),
    cashCollected: describeCashCollectedTotal(stats),
    capiSent: cell(
      sum((s) => s.capi.sent),
      capiPending > 0 && `(+${capiPending} pending)`,
    ),
    capiRefused: total((s) => s.capi.failed),
  };
}

/** `Period 2026-11-21T12:00:00.000Z – 2026-11-28T12:00:00.000Z`: the line above the table. */
export function describeStatsPeriod(report: Pick<StatsReport, 'since' | 'until'>): string {
  return `Period ${report.since.toISOString()} – ${report.until.toISOString()}`;
}
