import { defaultReportSchedule } from '@mcb/tenancy';
import { CronExpressionParser } from 'cron-parser';
import { DateTime } from 'luxon';

/**
 * One report week in a tenant's zone: Monday 00:00 to the next Monday 00:00 local time
 * (`end` exclusive), so a week holding a DST change lasts 167 or 169 hours.
 */
export interface WeekWindow {
  /** Local date of the Monday, `YYYY-MM-DD` (the week's id: report_runs.period_start, job ids). */
  weekStart: string;
  /** Local date of the Sunday, `YYYY-MM-DD` (report_runs.period_end). */
  weekEnd: string;
  timezone: string;
  /** Monday 00:00 local, as an instant. */
  start: Date;
  /** Next Monday 00:00 local, as an instant (exclusive). */
  end: Date;
  /** The seven local dates Monday..Sunday (the days of ad insights that belong to the week). */
  dates: string[];
}

const isoDate = /^\d{4}-\d{2}-\d{2}$/;

function toWindow(monday: DateTime): WeekWindow {
  const start = monday.startOf('day');
  const end = start.plus({ days: 7 });
  const dates = Array.from({ length: 7 }, (_, i) => start.plus({ days: i }).toISODate() as string);
  return {
    weekStart: dates[0] as string,
    weekEnd: dates[6] as string,
    timezone: start.zoneName as string,
    start: start.toJSDate(),
    end: end.toJSDate(),
    dates,
  };
}

function zoned(zone: string): DateTime {
  const probe = DateTime.now().setZone(zone);
  if (!probe.isValid) throw new Error(`Invalid time zone: ${zone}`);
  return probe;
}

/** The week (in `timezone`) that contains the local date `date` (`YYYY-MM-DD`, any day of the week). */
export function weekContaining(date: string, timezone: string): WeekWindow {
  zoned(timezone);
  if (!isoDate.test(date)) throw new Error(`Invalid week date: ${date} (expected YYYY-MM-DD)`);
  const local = DateTime.fromISO(date, { zone: timezone });
  if (!local.isValid) throw new Error(`Invalid week date: ${date} (expected YYYY-MM-DD)`);
  // Luxon weeks are ISO weeks: they start on Monday.
  return toWindow(local.startOf('week'));
}

/** The last full week before `now` in `timezone` (what a report sent at `now` covers). */
export function previousFullWeek(now: Date, timezone: string): WeekWindow {
  zoned(timezone);
  const local = DateTime.fromJSDate(now, { zone: timezone });
  return toWindow(local.startOf('week').minus({ weeks: 1 }));
}

/** The week right before `week`. */
export function previousWeek(week: WeekWindow): WeekWindow {
  const monday = DateTime.fromISO(week.weekStart, { zone: week.timezone });
  return toWindow(monday.minus({ weeks: 1 }));
}

/** Length of the window in hours (168, or 167/169 across a DST change). */
export function weekHours(week: WeekWindow): number {
  return (week.end.getTime() - week.start.getTime()) / 3_600_000;
}

/** Instant formatted in the window's zone with its offset, e.g. `2026-10-26T00:00:00-04:00`. */
export function localIso(instant: Date, timezone: string): string {
  return DateTime.fromJSDate(instant, { zone: timezone }).toISO({ suppressMilliseconds: true }) as string;
}

/** True once `week` is over at `now` (its end, the next Monday 00:00 local, has come): a full week that may be sent. */
export function weekHasEnded(week: WeekWindow, now: Date): boolean {
  return now.getTime() >= week.end.getTime();
}

/** An instant as an operator reads it in `timezone`, e.g. `Mon 2026-12-07 00:00 America/New_York`. */
export function localMinute(instant: Date, timezone: string): string {
  return `${DateTime.fromJSDate(instant, { zone: timezone }).setLocale('en-US').toFormat('ccc yyyy-MM-dd HH:mm')} ${timezone}`;
}

/**
 * Which week `week` is for someone reading at `now`: `current` (still running), `last` (the last
 * full week before `now`, what the scheduled email covers) or `other` (older, or not started).
 */
export function weekTense(week: WeekWindow, now: Date): 'current' | 'last' | 'other' {
  const t = now.getTime();
  if (t >= week.start.getTime() && t < week.end.getTime()) return 'current';
  return previousFullWeek(now, week.timezone).weekStart === week.weekStart ? 'last' : 'other';
}

/**
 * When the report for `week` is due: the first time `schedule` (a cron expression read in the
 * week's zone, DST-aware) fires at or after the week's end. Throws on an invalid expression.
 */
export function reportDueAt(week: WeekWindow, schedule: string = defaultReportSchedule): Date {
  const expression = CronExpressionParser.parse(schedule, {
    currentDate: new Date(week.end.getTime() - 1),
    tz: week.timezone,
  });
  return expression.next().toDate();
}
