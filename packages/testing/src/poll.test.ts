import { describe, expect, it } from 'vitest';
import { pollUntil } from './poll';

describe('pollUntil', () => {
  it('returns the matching value as soon as it appears', async () => {
    let reads = 0;
    const started = Date.now();
    const value = await pollUntil(
      () => ++reads,
      (n) => n === 3,
      { intervalMs: 10, timeoutMs: 5_000 },
    );
    expect(value).toBe(3);
    expect(reads).toBe(3);
    // Two intervals, not the timeout.
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('returns at once, without sleeping, when the first value already matches (async read)', async () => {
    let reads = 0;
    const started = Date.now();
    expect(
      await pollUntil(
        async () => ++reads,
        () => true,
        { intervalMs: 1_000 },
      ),
    ).toBe(1);
    expect(reads).toBe(1);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('on timeout returns the last value read (does not throw), within a bounded time', async () => {
    let reads = 0;
    const started = Date.now();
    const value = await pollUntil(
      async () => `read ${++reads}`,
      () => false,
      { timeoutMs: 200, intervalMs: 20 },
    );
    const took = Date.now() - started;
    expect(value).toBe(`read ${reads}`);
    expect(reads).toBeGreaterThan(1);
    expect(took).toBeGreaterThanOrEqual(200);
    expect(took).toBeLessThan(2_000);
  });

  it('propagates a rejection from read()', async () => {
    let reads = 0;
    const read = async () => {
      if (++reads === 2) throw new Error('read failed');
      return reads;
    };
    await expect(pollUntil(read, () => false, { intervalMs: 5 })).rejects.toThrow('read failed');
    expect(reads).toBe(2);
  });
});
