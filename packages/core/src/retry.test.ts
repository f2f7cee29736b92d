import { describe, expect, it } from 'vitest';
import { McbError } from './errors';
import { backoffDelay, retry, sleep, TimeoutError, waitAtMost, withDeadline, withTimeout } from './retry';

describe('sleep', () => {
  it('waits about the time asked', async () => {
    const t0 = performance.now();
    await sleep(30);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(28);
  });

  it('rejects at once with the abort reason when the signal aborts during the wait', async () => {
    const controller = new AbortController();
    const t0 = performance.now();
    setTimeout(() => controller.abort(), 20);
    const err = await sleep(10_000, controller.signal).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe('AbortError');
  });

  it('rejects without waiting when the signal has already aborted, with the reason the aborter gave', async () => {
    const reason = new Error('shutting down');
    const t0 = performance.now();
    await expect(sleep(10_000, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(performance.now() - t0).toBeLessThan(100);
  });
});

describe('backoffDelay', () => {
  it('doubles from baseMs, is capped at maxMs, and adds at most the jitter fraction', () => {
    const low = () => 0;
    const high = () => 0.999_999;
    const opts = { baseMs: 100, maxMs: 1_000, jitter: 0.25 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, opts, low))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    for (let attempt = 0; attempt < 12; attempt++) {
      const step = Math.min(1_000, 100 * 2 ** attempt);
      expect(backoffDelay(attempt, opts, high)).toBeLessThanOrEqual(step * 1.25);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt, opts);
        expect(d).toBeGreaterThanOrEqual(step);
        expect(d).toBeLessThanOrEqual(step * 1.25);
      }
    }
  });

  it('full jitter stays between 0 and the step; jitter 0 is the step exactly; default cap 10 s', () => {
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, { baseMs: 5, jitter: 'full' });
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(40);
    }
    expect(backoffDelay(2, { baseMs: 250, jitter: 0 })).toBe(1_000);
    expect(backoffDelay(30, { baseMs: 500, jitter: 0 })).toBe(10_000);
  });
});

describe('retry', () => {
  it('retries until fn succeeds, passing the attempt number and reporting each wait', async () => {
    const seen: number[] = [];
    const waits: number[] = [];
    const result = await retry(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 2) throw new Error(`fail ${attempt}`);
        return 'ok';
      },
      { retries: 5, baseMs: 1, jitter: 0, onRetry: ({ waitMs }) => waits.push(waitMs) },
    );
    expect(result).toBe('ok');
    expect(seen).toEqual([0, 1, 2]);
    expect(waits).toEqual([1, 2]);
  });

  it('gives up after `retries` extra attempts with the last failure', async () => {
    let calls = 0;
    const err = await retry(
      async () => {
        calls++;
        throw new Error(`fail ${calls}`);
      },
      { retries: 2, baseMs: 1 },
    ).catch((e: Error) => e);
    expect(calls).toBe(3);
    expect((err as Error).message).toBe('fail 3');
  });

  it('rethrows a failure `retryable` refuses at once', async () => {
    let calls = 0;
    const final = new Error('final');
    await expect(
      retry(
        async () => {
          calls++;
          throw final;
        },
        { retries: 5, baseMs: 1, retryable: (e) => e !== final },
      ),
    ).rejects.toBe(final);
    expect(calls).toBe(1);
  });

  it('waits what the failure asks for (waitOf) instead of the backoff step', async () => {
    const waits: number[] = [];
    let calls = 0;
    await retry(
      async () => {
        if (calls++ === 0) throw Object.assign(new Error('429'), { retryAfterMs: 7 });
        return null;
      },
      {
        retries: 1,
        baseMs: 5_000,
        waitOf: (e) => (e as { retryAfterMs?: number }).retryAfterMs ?? null,
        onRetry: ({ waitMs }) => waits.push(waitMs),
      },
    );
    expect(waits).toEqual([7]);
  });

  it('an abort ends a backoff wait at once and starts no further attempt', async () => {
    const controller = new AbortController();
    let calls = 0;
    const t0 = performance.now();
    setTimeout(() => controller.abort(), 30);
    const err = await retry(
      async () => {
        calls++;
        throw new Error('down');
      },
      { retries: 10, baseMs: 5_000, signal: controller.signal },
    ).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(calls).toBe(1);
    expect((err as Error).name).toBe('AbortError');
  });

  it('does not retry when the signal aborted during the attempt', async () => {
    const controller = new AbortController();
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          controller.abort();
          throw new Error('aborted request');
        },
        { retries: 3, baseMs: 1, signal: controller.signal },
      ),
    ).rejects.toThrow('aborted request');
    expect(calls).toBe(1);
  });
});

describe('withTimeout', () => {
  it('passes on the value and the rejection of a promise that settles in time', async () => {
    await expect(withTimeout(Promise.resolve(42), 1_000, 'answer')).resolves.toBe(42);
    const boom = new Error('boom');
    await expect(withTimeout(Promise.reject(boom), 1_000)).rejects.toBe(boom);
  });

  it('rejects with a TimeoutError (McbError unavailable: 503, retried) naming what timed out, after the time', async () => {
    const t0 = performance.now();
    const err = await withTimeout(new Promise(() => {}), 30, 'redis ping').catch((e: unknown) => e);
    const ms = performance.now() - t0;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(McbError);
    expect((err as McbError).code).toBe('unavailable');
    expect((err as Error).name).toBe('TimeoutError');
    expect((err as Error).message).toBe('redis ping timed out after 30 ms');
    expect(ms).toBeGreaterThanOrEqual(28);
    expect(ms).toBeLessThan(1_000);
  });

  it('swallows a rejection that arrives after the time (no unhandled rejection)', async () => {
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 20));
    await expect(withDeadline(late, 5, 'batch run')).rejects.toThrow('batch run timed out after 5 ms');
    await sleep(40);
  });
});

describe('waitAtMost', () => {
  it('true when the promise resolves in time, false when the time runs out, its rejection passed on', async () => {
    await expect(waitAtMost(sleep(5), 1_000)).resolves.toBe(true);
    await expect(waitAtMost(new Promise(() => {}), 20)).resolves.toBe(false);
    const boom = new Error('close failed');
    await expect(waitAtMost(Promise.reject(boom), 1_000)).rejects.toBe(boom);
  });
});
