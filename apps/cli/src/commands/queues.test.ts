import { describe, expect, it } from 'vitest';
import { ageOf } from './queues';

describe('ageOf', () => {
  it('words how long ago a job was added, to the two largest units', () => {
    const now = Date.parse('2026-12-08T12:00:00Z');
    expect(ageOf(null, now)).toBe('-');
    expect(ageOf(now - 45_000, now)).toBe('45s');
    expect(ageOf(now - 12 * 60_000 - 5_000, now)).toBe('12m');
    expect(ageOf(now - (3 * 60 + 5) * 60_000, now)).toBe('3h 5m');
    expect(ageOf(now - (2 * 24 + 4) * 3_600_000, now)).toBe('2d 4h');
    // A clock a little behind Redis' never prints a negative age.
    expect(ageOf(now + 2_000, now)).toBe('0s');
  });
});
