import { describe, expect, it } from 'vitest';
import { change, divideRounded, ratio } from './money';

describe('report arithmetic', () => {
  it('rounds costs half up, exactly, and gives null for a zero divisor', () => {
    expect(divideRounded(52178, 3)).toBe(17393); // 17392.67
    expect(divideRounded(13999, 2)).toBe(7000); // 6999.5
    expect(divideRounded(13997, 2)).toBe(6999); // 6998.5 → 6999
    expect(divideRounded(1, 3)).toBe(0);
    expect(divideRounded(0, 5)).toBe(0);
    expect(divideRounded(100, 0)).toBeNull();
    expect(divideRounded(-5, 2)).toBe(-3); // halves away from zero
    expect(divideRounded(9_000_000_000_001, 2)).toBe(4_500_000_000_001);
  });

  it('ratios and week-over-week changes', () => {
    expect(ratio(497500, 52178, 2)).toBe(9.53);
    expect(ratio(1, 3)).toBe(0.3333);
    expect(ratio(2, 3)).toBe(0.6667);
    expect(ratio(1, 0)).toBeNull();
    expect(change(3, 2)).toBe(0.5);
    expect(change(52178, 13999)).toBe(2.7273);
    expect(change(0, 4)).toBe(-1);
    expect(change(4, 0)).toBeNull();
  });
});
