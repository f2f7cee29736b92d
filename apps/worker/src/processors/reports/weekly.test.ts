import { WeekNotEnded, weekContaining } from '@mcb/reports';
import { describe, expect, it } from 'vitest';
import { waitForWeekEndMs } from './weekly';

describe('waitForWeekEndMs', () => {
  const week = weekContaining('2026-11-25', 'America/New_York');
  const end = week.end.getTime();
  const refused = (now: number) => new WeekNotEnded('acme', week, new Date(now));

  it('waits until just past the end of the week, however far (a clock behind the tick, a zone changed since)', () => {
    expect(waitForWeekEndMs(refused(end - 2_000), end - 2_000)).toBe(3_000);
    expect(waitForWeekEndMs(refused(end - 26 * 3600_000), end - 26 * 3600_000)).toBe(26 * 3600_000 + 1_000);
    // Ended meanwhile (the send saw an earlier now): looks again at once.
    expect(waitForWeekEndMs(refused(end - 1), end + 5)).toBe(1_000);
  });

  it('leaves any other error to errors.ts', () => {
    expect(waitForWeekEndMs(new Error('boom'), end - 1_000)).toBeNull();
  });
});
