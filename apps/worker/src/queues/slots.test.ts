import { describe, expect, it } from 'vitest';
import { Slots } from './slots';

describe('Slots', () => {
  it('caps the jobs running at once, and a freed slot goes to a waiter', async () => {
    const slots = new Slots(2);
    await slots.acquire('a');
    await slots.acquire('a');
    let third = false;
    const waiting = slots.acquire('a').then(() => {
      third = true;
    });
    await Promise.resolve();
    expect({ inUse: slots.inUse, third }).toEqual({ inUse: 2, third: false });
    slots.release();
    await waiting;
    expect({ inUse: slots.inUse, third }).toEqual({ inUse: 2, third: true });
    slots.release();
    slots.release();
    expect(slots.inUse).toBe(0);
  });

  it("serves tenants in turn: B's one waiting job gets the second freed slot, not the 101st behind A's backlog", async () => {
    const slots = new Slots(2);
    await slots.acquire('a');
    await slots.acquire('a');
    const served: string[] = [];
    const waiters = [
      ...Array.from({ length: 100 }, (_, i) => slots.acquire('a').then(() => served.push(`a${i}`))),
      slots.acquire('b').then(() => served.push('b')),
      slots.acquire('c').then(() => served.push('c')),
    ];
    for (let i = 0; i < 4; i++) {
      slots.release();
      await new Promise((r) => setImmediate(r));
    }
    // A waited first, so it is served first; then B and C, one each; then A again.
    expect(served).toEqual(['a0', 'b', 'c', 'a1']);
    for (let i = 0; i < 98; i++) slots.release();
    await Promise.all(waiters);
    expect(served.length).toBe(102);
    expect(served.filter((s) => s.startsWith('a'))).toEqual(Array.from({ length: 100 }, (_, i) => `a${i}`));
    expect(slots.inUse).toBe(2);
  });
});
