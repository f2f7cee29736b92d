import { describe, expect, it } from 'vitest';
import { KeyedRateLimiter } from './rate-limit';

describe('KeyedRateLimiter', () => {
  it('allows a burst, then the refill rate, per key', () => {
    let t = 0;
    const limiter = new KeyedRateLimiter({ perSecond: 2, burst: 3 }, () => t);
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([true, true, true, false]);
    expect(limiter.take('b')).toBe(true);
    t = 500; // one token back
    expect(limiter.take('a')).toBe(true);
    expect(limiter.take('a')).toBe(false);
    t = 10_000; // refilled, capped at the burst
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([true, true, true, false]);
  });

  it('spends a cost of several tokens at once, and nothing when the key has fewer left', () => {
    let t = 0;
    const bytes = new KeyedRateLimiter({ perSecond: 100, burst: 1_000 }, () => t);
    expect(bytes.take('a', 600)).toBe(true);
    expect(bytes.take('a', 600)).toBe(false); // 400 left: refused, none spent
    expect(bytes.take('a', 400)).toBe(true);
    expect(bytes.take('b', 1_000)).toBe(true); // per key
    expect(bytes.take('c', 1_001)).toBe(false); // over the burst: never
    t = 2_000; // 200 back
    expect(bytes.take('a', 200)).toBe(true);
    expect(bytes.take('a', 1)).toBe(false);
  });

  it('stays bounded in keys', () => {
    let t = 0;
    const limiter = new KeyedRateLimiter({ perSecond: 1, burst: 1, maxKeys: 10 }, () => t);
    for (let i = 0; i < 1000; i++) {
      t += 1;
      limiter.take(`k${i}`);
    }
    expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(10);
  });
});
