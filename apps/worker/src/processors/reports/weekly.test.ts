import { WeekNotEnded, weekContaining } from '@mcb/reports';
import { describe, expect, it } from 'vitest';
import { waitForWeekEndMs } from './weekly';

describe('waitForWeekEndMs', () => {
  const week = weekContaining('2026-11-25', 'America/New_York');
  const end = week.end.getTime();
  const refused = (now: number, schedule?: string) => new WeekNotEnded('acme', week, new Date(now), schedule);

  // A schedule at Monday 00:00: due at the week's end itself.
  const atEnd = '0 0 * * 1';

  it('waits until just past the end of the week, however far (a clock behind the tick, a zone changed since)', () => {
    expect(waitForWeekEndMs(refused(end - 2_000, atEnd), end - 2_000)).toBe(3_000);
    expect(waitForWeekEndMs(refused(end - 26 * 3600_000, atEnd), end - 26 * 3600_000)).toBe(26 * 3600_000 + 1_000);
    // Ended meanwhile (the send saw an earlier now): looks again at once.
    expect(waitForWeekEndMs(refused(end - 1, atEnd), end + 5)).toBe(1_000);
  });

  it("waits for the tenant's schedule, not just the end: the week goes out when it would have", () => {
    // Default schedule, Monday 08:00 in the tenant's zone: 8 h past the end.
    expect(waitForWeekEndMs(refused(end - 2_000, '0 8 * * 1'), end - 2_000)).toBe(2_000 + 8 * 3600_000 + 1_000);
    // An unreadable schedule falls back to the end.
    expect(waitForWeekEndMs(refused(end - 2_000, 'not a cron'), end - 2_000)).toBe(3_000);
  });

  it('leaves any other error to errors.ts', () => {
    expect(waitForWeekEndMs(new Error('boom'), end - 1_000)).toBeNull();
  });
});
