import { describe, expect, it } from 'vitest';
import { createSignInLimiter } from './sign-in-limit';

describe('createSignInLimiter', () => {
  it('blocks a client after maxFailures within the window, until the window ends; others are unaffected', () => {
    let t = 1_000;
    const limiter = createSignInLimiter({ maxFailures: 3, windowMs: 60_000, now: () => t });
    expect(limiter.fail('a')).toEqual({ failures: 1, justBlocked: false });
    expect(limiter.fail('a')).toEqual({ failures: 2, justBlocked: false });
    expect(limiter.retryAfterMs('a')).toBe(0);
    expect(limiter.fail('a')).toEqual({ failures: 3, justBlocked: true });
    expect(limiter.fail('a')).toEqual({ failures: 4, justBlocked: false });
    t += 10_000;
    expect(limiter.retryAfterMs('a')).toBe(50_000);
    expect(limiter.retryAfterMs('b')).toBe(0);
    t += 50_000;
    expect(limiter.retryAfterMs('a')).toBe(0);
    expect(limiter.fail('a')).toEqual({ failures: 1, justBlocked: false });
  });

  it('a success clears the failures', () => {
    const limiter = createSignInLimiter({ maxFailures: 2, windowMs: 60_000, now: () => 0 });
    limiter.fail('a');
    limiter.succeed('a');
    expect(limiter.fail('a').failures).toBe(1);
    expect(limiter.retryAfterMs('a')).toBe(0);
  });
});
