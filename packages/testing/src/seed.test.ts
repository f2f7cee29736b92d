import { describe, expect, it } from 'vitest';
import { seededRandom, seededShuffle, testSeed } from './seed';

describe('seeded randomness', () => {
  it('TEST_SEED reproduces a run; without it a fresh seed is drawn', () => {
    expect(testSeed('t', { TEST_SEED: '12345' })).toBe(12345);
    expect(Number.isSafeInteger(testSeed('t', {}))).toBe(true);
  });

  it('the same seed gives the same shuffle, a permutation of the input', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const a = seededShuffle(items, seededRandom(7));
    expect(seededShuffle(items, seededRandom(7))).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(items);
    expect(a).not.toEqual(items);
    expect(seededShuffle(items, seededRandom(8))).not.toEqual(a);
  });
});
