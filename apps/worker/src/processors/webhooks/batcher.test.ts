import { McbError } from '@mcb/core';
import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher';

describe('Batcher deadline', () => {
  it('a run that never settles fails its items once the deadline passes and frees its place', async () => {
    let calls = 0;
    const batcher = new Batcher<number, number>(
      async (items) => {
        calls++;
        // The first run hangs for good, as a query on a dead connection did (issue 11).
        if (calls === 1) return new Promise(() => {});
        return items.map((value) => ({ ok: true as const, value: value * 2 }));
      },
      { maxBatch: 10, maxInFlight: 1, deadlineMs: 50 },
    );
    const stuck = batcher.submit(1).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
    // Submitted while the hung run holds the only place: waits for a next run.
    const next = batcher.submit(2);
    const err = await stuck;
    expect(err).toBeInstanceOf(McbError);
    expect((err as McbError).code).toBe('unavailable');
    // With one place and the first run never settling, this item only runs because the deadline freed it.
    await expect(next).resolves.toBe(4);
  });

  it('without a deadline a run is awaited however long it takes', async () => {
    const batcher = new Batcher<number, number>(
      async (items) => {
        await new Promise((r) => setTimeout(r, 30));
        return items.map((value) => ({ ok: true as const, value }));
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    await expect(batcher.submit(3)).resolves.toBe(3);
  });
});
