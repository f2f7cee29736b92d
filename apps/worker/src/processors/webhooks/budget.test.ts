import { describe, expect, it } from 'vitest';
import { MemoryBudget, payloadMemoryEstimate } from './budget';

const tick = () => new Promise((r) => setImmediate(r));

/** Acquires and records the order leases are granted in. */
function recorder(budget: MemoryBudget) {
  const granted: string[] = [];
  const releases = new Map<string, () => void>();
  const take = (tenant: string, name: string, bytes: number, signal?: AbortSignal) =>
    budget.acquire(tenant, bytes, signal).then((release) => {
      granted.push(name);
      releases.set(name, release);
    });
  return { granted, take, release: (name: string) => releases.get(name)?.() };
}

describe('MemoryBudget', () => {
  it('grants while the leases fit, and the next one when a lease is released', async () => {
    const budget = new MemoryBudget(100);
    const r = recorder(budget);
    void r.take('a', 'a1', 60);
    void r.take('a', 'a2', 30);
    void r.take('a', 'a3', 30);
    await tick();
    expect(r.granted).toEqual(['a1', 'a2']);
    expect(budget.inUse).toBe(90);
    expect(budget.waiting).toBe(1);
    r.release('a1');
    await tick();
    expect(r.granted).toEqual(['a1', 'a2', 'a3']);
    expect(budget.inUse).toBe(60);
    // Releasing twice gives back once.
    r.release('a1');
    expect(budget.inUse).toBe(60);
  });

  it("serves tenants in turn: a flood's queue does not hold back another tenant's lease", async () => {
    const budget = new MemoryBudget(100);
    const r = recorder(budget);
    for (let i = 1; i <= 5; i++) void r.take('flood', `f${i}`, 50);
    await tick();
    expect(r.granted).toEqual(['f1', 'f2']);
    void r.take('quiet', 'q1', 50);
    r.release('f1');
    await tick();
    // The quiet tenant's lease goes before the flood's third.
    expect(r.granted).toEqual(['f1', 'f2', 'q1']);
    r.release('f2');
    await tick();
    expect(r.granted).toEqual(['f1', 'f2', 'q1', 'f3']);
  });

  it("a tenant whose next lease does not fit yet does not stop a smaller one of another tenant's", async () => {
    const budget = new MemoryBudget(100);
    const r = recorder(budget);
    void r.take('big', 'b1', 70);
    void r.take('big', 'b2', 70);
    void r.take('small', 's1', 20);
    await tick();
    expect(r.granted).toEqual(['b1', 's1']);
  });

  it("a steady stream of small leases from one tenant cannot pass over another tenant's larger one", async () => {
    const budget = new MemoryBudget(100);
    const r = recorder(budget);
    for (let i = 1; i <= 4; i++) void r.take('flood', `f${i}`, 30);
    await tick();
    expect(r.granted).toEqual(['f1', 'f2', 'f3']);
    void r.take('other', 'big', 80);
    // The flood keeps submitting; each release alone would let its next lease in, but the room is kept for `big`.
    for (let i = 5; i <= 10; i++) void r.take('flood', `f${i}`, 30);
    r.release('f1');
    r.release('f2');
    await tick();
    expect(r.granted).toEqual(['f1', 'f2', 'f3']);
    r.release('f3');
    await tick();
    expect(r.granted).toEqual(['f1', 'f2', 'f3', 'big']);
    r.release('big');
    await tick();
    expect(r.granted).toEqual(['f1', 'f2', 'f3', 'big', 'f4', 'f5', 'f6']);
  });

  it('a lease larger than the whole budget is granted alone, once nothing else is held', async () => {
    const budget = new MemoryBudget(100);
    const r = recorder(budget);
    void r.take('a', 'small', 10);
    void r.take('b', 'huge', 1_000);
    await tick();
    expect(r.granted).toEqual(['small']);
    r.release('small');
    await tick();
    expect(r.granted).toEqual(['small', 'huge']);
    expect(budget.inUse).toBe(100);
  });

  it('an aborted wait rejects with the reason, leaves the queue and lets the next one in', async () => {
    const budget = new MemoryBudget(100);
    const r = recorder(budget);
    void r.take('a', 'a1', 100);
    const abort = new AbortController();
    const waiting = r.take('a', 'a2', 100, abort.signal).catch((e: unknown) => e);
    void r.take('b', 'b1', 100);
    await tick();
    abort.abort(new Error('shutting down'));
    expect(((await waiting) as Error).message).toBe('shutting down');
    expect(budget.waiting).toBe(1);
    r.release('a1');
    await tick();
    expect(r.granted).toEqual(['a1', 'b1']);
    await expect(budget.acquire('a', 1, abort.signal)).rejects.toThrow('shutting down');
  });

  it('estimates at least the measured worst parse of a payload (1 MB of {} items: 22.3 MB of heap)', () => {
    const text = `[${'{},'.repeat(333_332)}{}]`;
    expect(payloadMemoryEstimate(text.length)).toBeGreaterThan(22.3 * text.length);
    expect(payloadMemoryEstimate(1_500)).toBeLessThan(64 * 1024);
  });
});
