import { WeekNotEnded, weekContaining } from '@mcb/reports';
import { describe, expect, it } from 'vitest';
import { clockSkewGraceMs, waitForWeekEndMs } from './weekly';

describe('waitForWeekEndMs', () => {
  const week = weekContaining('2026-11-25', 'America/New_York');
  const end = week.end.getTime();
  const refused = (now: number) => new WeekNotEnded('acme', week, new Date(now));

  it('waits until just past the end of a week that ends within the grace (a tick on a clock a little ahead)', () => {
    expect(waitForWeekEndMs(refused(end - 2_000), end - 2_000)).toBe(3_000);
    expect(waitForWeekEndMs(refused(end - clockSkewGraceMs), end - clockSkewGraceMs)).toBe(clockSkewGraceMs + 1_000);
    // Ended meanwhile (the send saw an earlier now): looks again at once.
    expect(waitForWeekEndMs(refused(end - 1), end + 5)).toBe(1_000);
  });

  it('fails a week further off, and any other error, for good', () => {
    expect(waitForWeekEndMs(refused(end - clockSkewGraceMs - 1), end - clockSkewGraceMs - 1)).toBeNull();
    expect(waitForWeekEndMs(refused(end - 3 * 24 * 3600_000), end - 3 * 24 * 3600_000)).toBeNull();
    expect(waitForWeekEndMs(new Error('boom'), end - 1_000)).toBeNull();
  });
});
