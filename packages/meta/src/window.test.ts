import { describe, expect, it } from 'vitest';
import { lookbackRange, splitByMonth, todayIn } from './window';

describe('date windows', () => {
  it('lookback ends today in the tenant zone, today included', () => {
    const now = new Date('2026-03-01T03:00:00Z'); // still Feb 28 in New York
    expect(todayIn('America/New_York', now)).toBe('2026-02-28');
    expect(lookbackRange(28, 'America/New_York', now)).toEqual({ since: '2026-02-01', until: '2026-02-28' });
    expect(lookbackRange(1, 'UTC', now)).toEqual({ since: '2026-03-01', until: '2026-03-01' });
  });
  it('splits at month boundaries, leap day included', () => {
    expect(splitByMonth({ since: '2024-01-15', until: '2024-03-02' })).toEqual([
      { since: '2024-01-15', until: '2024-01-31' },
      { since: '2024-02-01', until: '2024-02-29' },
      { since: '2024-03-01', until: '2024-03-02' },
    ]);
    expect(splitByMonth({ since: '2024-05-02', until: '2024-05-01' })).toEqual([]);
  });
});
