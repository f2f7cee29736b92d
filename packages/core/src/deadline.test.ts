import { describe, expect, it } from 'vitest';
import { withDeadline } from './deadline';
import { McbError } from './errors';

describe('withDeadline', () => {
  it('passes through a value or an error that comes in time', async () => {
    await expect(withDeadline(Promise.resolve(7), 50, 'x')).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('boom')), 50, 'x')).rejects.toThrow('boom');
  });

  it('rejects with a retryable `unavailable` error when the work never settles', async () => {
    const started = performance.now();
    const err = await withDeadline(new Promise(() => {}), 30, 'apply run').catch((e: unknown) => e);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(err).toBeInstanceOf(McbError);
    expect((err as McbError).code).toBe('unavailable');
    expect((err as McbError).message).toBe('apply run did not settle within 30 ms');
  });

  it('swallows a rejection that arrives after the deadline (no unhandled rejection)', async () => {
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 20));
    await expect(withDeadline(late, 5, 'x')).rejects.toThrow(/did not settle/);
    await new Promise((r) => setTimeout(r, 40));
  });
});
