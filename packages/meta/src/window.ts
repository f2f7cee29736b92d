/** An inclusive range of calendar dates, `YYYY-MM-DD`. */
export interface DateRange {
  since: string;
  until: string;
}

/** Today's date in `timeZone` (IANA). */
export function todayIn(timeZone: string, now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** `date` + `days` (calendar arithmetic, DST-free). */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/**
 * The last `days` dates ending today in `timeZone`, today included. Meta reports `date_start` in the
 * ad account's time zone; we anchor "today" on the tenant's zone, which operators set to match it.
 */
export function lookbackRange(days: number, timeZone: string, now = new Date()): DateRange {
  const until = todayIn(timeZone, now);
  return { since: addDays(until, -(days - 1)), until };
}

/** Splits a range at calendar-month boundaries (one insights request series per month for backfills). */
export function splitByMonth(range: DateRange): DateRange[] {
  if (range.since > range.until) return [];
  const chunks: DateRange[] = [];
  let since = range.since;
  while (since <= range.until) {
    const d = new Date(`${since}T00:00:00Z`);
    const monthEnd = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).toISOString().slice(0, 10);
    // biome-ignore lint/complexity/useMathMinMax: ISO date strings compare as text, Math.min would coerce them to NaN
    const until = monthEnd < range.until ? monthEnd : range.until;
    chunks.push({ since, until });
    since = addDays(until, 1);
  }
  return chunks;
}
