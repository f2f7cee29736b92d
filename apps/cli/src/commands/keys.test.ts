import { describe, expect, it } from 'vitest';
import { rotationAdvice } from './keys';

describe('rotationAdvice', () => {
  const current = 'aaaa1111';
  it('says an old key can go only when no value of any tenant is under it', () => {
    expect(rotationAdvice({ currentKid: current, usage: { [current]: 3 }, usageEverywhere: { [current]: 9 } }, 2)).toBe(
      'Old keys can now be removed from MCB_ENCRYPTION_KEY.',
    );
    expect(rotationAdvice({ currentKid: current, usage: { [current]: 3 }, usageEverywhere: { [current]: 3, bbbb2222: 30 } }, 2)).toBe(
      'Other tenants still have 30 value(s) under bbbb2222: keep those keys in MCB_ENCRYPTION_KEY until mcb keys rotate (without --tenant) has re-sealed them.',
    );
  });
  it('asks for another run while the scope still has old values, and names no old key when there is none', () => {
    expect(rotationAdvice({ currentKid: current, usage: { [current]: 1, bbbb2222: 2 }, usageEverywhere: {} }, 2)).toBe(
      'Still under old keys: bbbb2222; run again.',
    );
    expect(rotationAdvice({ currentKid: current, usage: {}, usageEverywhere: {} }, 1)).toBe(`Every value is under key ${current}.`);
  });
});
