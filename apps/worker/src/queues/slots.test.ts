import { describe, expect, it } from 'vitest';
import { Slots } from './slots';

const tick = () => new Promise((r) => setImmediate(r));

describe('Slots', () => {
  it('caps the jobs running at once, and a freed slot goes to a waiter', async () => {
    const slots = new Slots(2);
    await slots.acquire('a');
    await slots.acquire('a');
    let third = false;
    const waiting = slots.acquire('a').then(() => {
      third = true;
    });
    await tick();
    expect({ inUse: slots.inUse, third }).toEqual({ inUse: 2, third: false });
    slots.release('a');
    await waiting;
    expect({ inUse: slots.inUse, third }).toEqual({ inUse: 2, third: true });
    slots.release('a');
    slots.release('a');
    expect(slots.inUse).toBe(0);
  });

  it('keeps the last tenth for tenants with nothing running: two tenants filling the rest with slow jobs leave B a slot at once', async () => {
    const slots = new Slots(40); // reserve 4
    const started: string[] = [];
    const run = (key: string) => slots.acquire(key).then(() => started.push(key));
    // Two tenants fetch 20 jobs each (their per-tenant concurrency), all slow: together they get 36.
    const slow = [...Array.from({ length: 20 }, () => run('a1')), ...Array.from({ length: 20 }, () => run('a2'))];
    await tick();
    expect(slots.inUse).toBe(36);
    // B's job (and three more tenants') starts at once, while all of theirs are still running.
    for (const key of ['b', 'c', 'd', 'e']) await run(key);
    expect(started.slice(-4)).toEqual(['b', 'c', 'd', 'e']);
    expect(slots.inUse).toBe(40);
    // B's second job is not one of a tenant with nothing running: it waits until more than the reserve is free.
    let second = false;
    const next = slots.acquire('b').then(() => {
      second = true;
    });
    slots.release('c');
    await tick();
    expect(second).toBe(false);
    // A2's last 4 jobs (and B's second) start only once more than the reserve is free again.
    for (let i = 0; i < 3; i++) slots.release('a1');
    await tick();
    expect(started.filter((k) => k === 'a2').length).toBe(16);
    for (let i = 0; i < 5; i++) slots.release('a1');
    await Promise.all([...slow, next]);
    expect(started.filter((k) => k === 'a2').length).toBe(20);
    expect(second).toBe(true);
  });

  it("when every slot is taken, serves tenants in turn: B's one waiting job gets the second freed slot, not the 101st", async () => {
    const slots = new Slots(2); // no reserve
    await slots.acquire('a');
    await slots.acquire('a');
    const served: string[] = [];
    const waiters = [
      ...Array.from({ length: 100 }, (_, i) => slots.acquire('a').then(() => served.push(`a${i}`))),
      slots.acquire('b').then(() => served.push('b')),
      slots.acquire('c').then(() => served.push('c')),
    ];
    for (const key of ['a', 'a', 'a0', 'b']) {
      slots.release(key.slice(0, 1));
      await tick();
    }
    // A waited first, so it is served first; then B and C, one each; then A again.
    expect(served).toEqual(['a0', 'b', 'c', 'a1']);
    for (let i = 0; i < 98; i++) slots.release('a');
    await Promise.all(waiters);
    expect(served.length).toBe(102);
    expect(served.filter((s) => s.startsWith('a'))).toEqual(Array.from({ length: 100 }, (_, i) => `a${i}`));
    expect(slots.inUse).toBe(2);
  });
});
