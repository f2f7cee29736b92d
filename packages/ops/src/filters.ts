import { durationMs, McbError } from '@mcb/core';
import { type Database, type WebhookLogFilter, webhookStatuses } from '@mcb/db';
import { sources } from '@mcb/sources';
import { z } from 'zod';
import { resolveTenantId } from './tenants';

/** Where `mcb stats` and the console's `GET /admin/api/stats` start when no `since` is given: one week, the report's period. */
export const defaultStatsSince = '7d';

/** 0001-01-01T00:00:00Z: the earliest time an operator can ask for (a date has four digits of year). */
const earliestTime = Date.parse('0001-01-01T00:00:00Z');

/**
 * A point in time as operators type it: `now`, a duration back from `now` (`90s`, `30m`, `24h`, `7d`,
 * `2w`) or an ISO date / date-time of a real day (`2026-11-01`, `2026-11-01T08:00:00Z`). Throws
 * `bad_request` otherwise.
 */
export function parseTimeArg(text: string, now: Date = new Date()): Date {
  const value = text.trim();
  if (value.toLowerCase() === 'now') return now;
  const back = durationMs(value);
  if (back !== null) {
    // `9999999d` reached year -25353, which Postgres refuses with a raw error (the console answered 500);
    // `99999999999999999999999d` was no date at all ("Invalid time value"). Attacker walk, stop 37.
    const at = now.getTime() - back;
    if (Number.isFinite(at) && at >= earliestTime) return new Date(at);
    throw new McbError('bad_request', `Invalid time "${text}": it reaches back before the year 1; use a shorter duration or a date`);
  }
  const day = /^(\d{4})-(\d\d)-(\d\d)([T ][\d:.]+(Z|[+-]\d\d:?\d\d)?)?$/.exec(value);
  if (day) {
    // A time without an offset is UTC, like a date alone (JavaScript reads it in the process's zone).
    const date = new Date(day[4] && !day[5] ? `${value.replace(' ', 'T')}Z` : value);
    // A day the calendar has: 2026-02-30 was read as March 2 (operator walk, stop 33).
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const calendar = new Date(Date.UTC(y, m - 1, d));
    const real = calendar.getUTCFullYear() === y && calendar.getUTCMonth() === m - 1 && calendar.getUTCDate() === d;
    if (real && !Number.isNaN(date.getTime())) return date;
  }
  throw new McbError('bad_request', `Invalid time "${text}": use a duration like 24h or 7d, or a date like 2026-11-01`);
}

/**
 * Refuses a window that ends before it starts (`since 1d` with `until 7d` searched nothing and said
 * nothing): `bad_request` naming both as the operator typed them.
 */
export function assertTimeWindow(since: Date, until: Date, sinceText: string, untilText: string): void {
  if (since.getTime() >= until.getTime())
    throw new McbError('bad_request', `Invalid time window: since ${sinceText.trim()} is not before until ${untilText.trim()}`);
}

/** Filter input as it arrives from a query string, a JSON body or CLI flags (all strings). Unknown keys are refused. */
export const logFilterInputSchema = z.strictObject({
  tenant: z.string().trim().min(1).optional(),
  source: z.enum(sources).optional(),
  status: z.enum(webhookStatuses).optional(),
  since: z.string().trim().min(1).optional(),
  until: z.string().trim().min(1).optional(),
  q: z.string().trim().max(200).optional(),
});
export type LogFilterInput = z.infer<typeof logFilterInputSchema>;

/** Validates operator input and resolves the tenant slug: throws `bad_request` / `UnknownTenant`. */
export async function resolveLogFilter(admin: Database, input: unknown, now: Date = new Date()): Promise<WebhookLogFilter> {
  const parsed = logFilterInputSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'filter';
    // A typo in a status or source: name what was given and what is allowed, not zod's wording.
    if (issue?.code === 'invalid_value' && typeof (input as Record<string, unknown>)?.[field] === 'string')
      throw new McbError(
        'bad_request',
        `Invalid ${field}: ${String((input as Record<string, unknown>)[field])} (one of ${issue.values.map(String).join(', ')})`,
      );
    throw new McbError('bad_request', `Invalid ${field}: ${issue?.message ?? 'invalid'}`);
  }
  const f = parsed.data;
  const filter: WebhookLogFilter = {};
  if (f.tenant) filter.tenantId = await resolveTenantId(admin, f.tenant);
  if (f.source) filter.source = f.source;
  if (f.status) filter.status = f.status;
  if (f.since) filter.since = parseTimeArg(f.since, now);
  if (f.until) filter.until = parseTimeArg(f.until, now);
  if (f.since && f.until && filter.since && filter.until) assertTimeWindow(filter.since, filter.until, f.since, f.until);
  if (f.q) filter.q = f.q;
  return filter;
}

/**
 * The line shown when a log search finds nothing (`mcb logs`, the console's log page): what was searched,
 * filters and `received_at` window, so an empty answer does not read as "no logs at all". `hint` is
 * added when the window is the caller's default (`defaultSince`); without a `since` and no default the
 * search covered all time, and says so.
 */
export function describeEmptyLogSearch(
  input: Partial<Record<keyof LogFilterInput, string>>,
  options: { defaultSince?: string; hint?: string } = {},
): string {
  // Trimmed as `resolveLogFilter` reads them (an empty text is no filter).
  const given = (v: string | undefined) => v?.trim() || undefined;
  const since = given(input.since) ?? options.defaultSince;
  const until = given(input.until);
  const query = given(input.q);
  const ago = (when: string) => durationMs(when) !== null;
  const from = since === undefined ? 'received at any time' : ago(since) ? `received in the last ${since}` : `received since ${since}`;
  const to = until ? (ago(until) ? ` until ${until} ago` : ` before ${until}`) : '';
  const searched = [
    ...(given(input.tenant) ? [`tenant ${given(input.tenant)}`] : []),
    ...(given(input.status) ? [`status ${given(input.status)}`] : []),
    ...(given(input.source) ? [`source ${given(input.source)}`] : []),
    ...(query ? [`text "${query}"`] : []),
    since === undefined && until ? `received${to}` : `${from}${to}`,
  ];
  const hint = options.hint && since === options.defaultSince ? `; ${options.hint}` : '';
  return `No logs match (${searched.join(', ')}${hint}).`;
}
