import { describe, expect, it } from 'vitest';
import { createSignInLimiter, signInClientKey } from './sign-in-limit';

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

// A reviewer (stop 28): failures counted per exact address, so an IPv6 client, which holds a whole /64,
// had endless guesses.
describe('signInClientKey', () => {
  it('counts an IPv6 client by its /64, however the address is written', () => {
    const key = '2001:db8:1:2::/64';
    for (const a of ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:0:0:0:9', '2001:DB8:1:2::abcd%eth0'])
      expect(signInClientKey(a)).toBe(key);
    expect(signInClientKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(signInClientKey('::1')).toBe('0:0:0:0::/64');
    expect(signInClientKey('fe80::1:2:3:4')).toBe('fe80:0:0:0::/64');
    expect(signInClientKey('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
  });

  it('keeps IPv4 (and IPv4-mapped IPv6) addresses and anything else as they are', () => {
    expect(signInClientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(signInClientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(signInClientKey('unknown')).toBe('unknown');
  });

  it('one limiter then blocks every address of the /64 together', () => {
    const limiter = createSignInLimiter({ maxFailures: 3, windowMs: 60_000, now: () => 0 });
    for (let i = 1; i <= 3; i++) limiter.fail(signInClientKey(`2001:db8:1:2::${i}`));
    expect(limiter.retryAfterMs(signInClientKey('2001:db8:1:2::99'))).toBe(60_000);
    expect(limiter.retryAfterMs(signInClientKey('2001:db8:1:3::1'))).toBe(0);
  });
});
