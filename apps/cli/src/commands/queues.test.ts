import { describe, expect, it } from 'vitest';
import { ageOf, queueWarnings } from './queues';

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

describe('queueWarnings', () => {
  const now = Date.parse('2026-12-08T12:00:00Z');
  const counts = (waiting: number, active: number) => ({ waiting, active, delayed: 0, prioritized: 0, completed: 0, failed: 0 });
  it('warns of jobs no worker serves, and of jobs waiting over a minute although a worker is connected (a frozen one keeps its connection)', () => {
    expect(queueWarnings([{ label: 'webhooks · a', counts: counts(3, 0), workers: 1, oldestWaitingAt: now - 5_000 }], now)).toEqual([]);
    expect(queueWarnings([{ label: 'webhooks · a', counts: counts(0, 0), workers: 0, oldestWaitingAt: null }], now)).toEqual([]);
    expect(queueWarnings([{ label: 'webhooks · a', counts: counts(3, 0), workers: 0, oldestWaitingAt: now - 5_000 }], now)).toEqual([
      'no worker is connected to queue with jobs (webhooks · a): nothing processes them until a worker runs (npm start, or the worker deployment)',
    ]);
    expect(
      queueWarnings(
        [
          { label: 'webhooks · a', counts: counts(871, 8), workers: 1, oldestWaitingAt: now - 41_000 },
          { label: 'webhooks · b', counts: counts(871, 8), workers: 1, oldestWaitingAt: now - 61_000 },
        ],
        now,
      ),
    ).toEqual([
      'jobs have waited over 1 min in webhooks · b although a worker is connected: it is stuck or far behind (check its /readyz and its log)',
    ]);
  });
});
