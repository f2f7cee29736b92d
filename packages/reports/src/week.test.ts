import { describe, expect, it } from 'vitest';
import {
  localIso,
  localMinute,
  previousFullWeek,
  previousWeek,
  reportDueAt,
  weekContaining,
  weekHasEnded,
  weekHours,
  weekTense,
} from './week';

describe('report weeks in the tenant zone', () => {
  it('runs Monday 00:00 to Monday 00:00 local; 169 h when DST ends, 167 h when it starts', () => {
    const fall = weekContaining('2026-11-01', 'America/New_York');
    expect([fall.weekStart, fall.weekEnd]).toEqual(['2026-10-26', '2026-11-01']);
    expect(localIso(fall.start, fall.timezone)).toBe('2026-10-26T00:00:00-04:00');
    expect(localIso(fall.end, fall.timezone)).toBe('2026-11-02T00:00:00-05:00');
    expect(weekHours(fall)).toBe(169);
    expect(fall.dates).toEqual(['2026-10-26', '2026-10-27', '2026-10-28', '2026-10-29', '2026-10-30', '2026-10-31', '2026-11-01']);

    const spring = weekContaining('2026-03-04', 'America/New_York');
    expect([spring.weekStart, spring.weekEnd]).toEqual(['2026-03-02', '2026-03-08']);
    expect(spring.end.toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(weekHours(spring)).toBe(167);

    const berlin = weekContaining('2026-03-29', 'Europe/Berlin');
    expect(weekHours(berlin)).toBe(167);
    expect(weekHours(weekContaining('2026-11-01', 'UTC'))).toBe(168);
  });

  it('any day of the week (Monday or Sunday) gives the same week', () => {
    expect(weekContaining('2026-10-26', 'Asia/Tokyo').weekStart).toBe('2026-10-26');
    expect(weekContaining('2026-11-01', 'Asia/Tokyo').weekStart).toBe('2026-10-26');
    expect(weekContaining('2026-11-02', 'Asia/Tokyo').weekStart).toBe('2026-11-02');
  });

  it('the last full week depends on the local date, not the UTC date', () => {
    // 2026-11-02T04:30Z: Sunday 23:30 in New York (DST over), Monday in UTC and Tokyo.
    const now = new Date('2026-11-02T04:30:00Z');
    expect(previousFullWeek(now, 'America/New_York').weekStart).toBe('2026-10-19');
    expect(previousFullWeek(now, 'UTC').weekStart).toBe('2026-10-26');
    expect(previousFullWeek(now, 'Pacific/Kiritimati').weekStart).toBe('2026-10-26');
    expect(previousFullWeek(new Date('2026-11-02T05:00:00Z'), 'America/New_York').weekStart).toBe('2026-10-26');
  });

  it('previousWeek steps back across a DST change', () => {
    const prev = previousWeek(weekContaining('2026-11-04', 'America/New_York'));
    expect(prev.weekStart).toBe('2026-10-26');
    expect(weekHours(prev)).toBe(169);
  });

  it('the send time follows the tenant schedule in the tenant zone', () => {
    const week = weekContaining('2026-11-01', 'America/New_York');
    expect(localIso(reportDueAt(week), week.timezone)).toBe('2026-11-02T08:00:00-05:00');
    expect(reportDueAt(week).toISOString()).toBe('2026-11-02T13:00:00.000Z');
    expect(localIso(reportDueAt(week, '30 9 * * 2'), week.timezone)).toBe('2026-11-03T09:30:00-05:00');
    expect(localIso(reportDueAt(week, '0 0 * * 1'), week.timezone)).toBe('2026-11-02T00:00:00-05:00');
    const march = weekContaining('2026-03-08', 'America/New_York');
    expect(reportDueAt(march).toISOString()).toBe('2026-03-09T12:00:00.000Z');
  });

  it('rejects bad input with a clear message', () => {
    expect(() => weekContaining('2026-13-01', 'UTC')).toThrow(/Invalid week date/);
    expect(() => weekContaining('last week', 'UTC')).toThrow(/Invalid week date/);
    expect(() => weekContaining('2026-10-26', 'Mars/Base')).toThrow(/Invalid time zone/);
    expect(() => reportDueAt(weekContaining('2026-10-26', 'UTC'), 'not a cron')).toThrow();
  });
});

describe('weekTense (what the report calls the week it shows)', () => {
  it('is current while the week runs, last for the last full week, other for older or future weeks — in the tenant zone', () => {
    const week = weekContaining('2026-11-04', 'America/New_York'); // Mon Nov 2 – Sun Nov 8, local
    expect(weekTense(week, new Date('2026-11-04T12:00:00Z'))).toBe('current');
    // Sunday 23:30 New York is already Monday in UTC: still the current week there.
    expect(weekTense(week, new Date('2026-11-09T04:30:00Z'))).toBe('current');
    expect(weekTense(week, new Date('2026-11-09T05:00:00Z'))).toBe('last');
    expect(weekTense(week, new Date('2026-11-15T12:00:00Z'))).toBe('last');
    expect(weekTense(week, new Date('2026-11-17T12:00:00Z'))).toBe('other');
    expect(weekTense(week, new Date('2026-10-30T12:00:00Z'))).toBe('other');
  });
});

describe('weekHasEnded (only a full week is sent)', () => {
  it('is false while the week runs and before it starts, true from Monday 00:00 local on — across a DST change', () => {
    const fall = weekContaining('2026-10-28', 'America/New_York'); // ends Mon Nov 2 00:00 EST = 05:00Z (169 h)
    expect(weekHasEnded(fall, new Date('2026-10-20T12:00:00Z'))).toBe(false);
    expect(weekHasEnded(fall, new Date('2026-10-29T16:00:00Z'))).toBe(false);
    // Sunday 23:59:59.999 in New York is already Monday in UTC: not ended there.
    expect(weekHasEnded(fall, new Date('2026-11-02T04:59:59.999Z'))).toBe(false);
    expect(weekHasEnded(fall, new Date('2026-11-02T05:00:00Z'))).toBe(true);
    expect(weekHasEnded(weekContaining('2026-10-28', 'Asia/Tokyo'), new Date('2026-11-01T15:00:00Z'))).toBe(true);
    expect(weekHasEnded(weekContaining('2026-10-28', 'Asia/Tokyo'), new Date('2026-11-01T14:59:59Z'))).toBe(false);
  });

  it('localMinute names the instant in the zone, as an operator reads it', () => {
    const fall = weekContaining('2026-10-28', 'America/New_York');
    expect(localMinute(fall.end, fall.timezone)).toBe('Mon 2026-11-02 00:00 America/New_York');
    expect(localMinute(new Date('2026-11-01T15:00:00Z'), 'Asia/Tokyo')).toBe('Mon 2026-11-02 00:00 Asia/Tokyo');
  });
});
