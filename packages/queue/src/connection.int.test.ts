import { freeLoopbackPort } from '@mcb/testing';
import { describe, expect, it } from 'vitest';
import { createQueueConnection } from './connection';
import { WebhookEnqueuer } from './enqueue';

// Issue 13 item 4: Redis `error` events were dropped silently. Now they are logged, rate-limited per
// connection, whoever reports them (the client, each BullMQ Queue on it).

describe('queue backend errors are logged, rate-limited', () => {
  it('an unreachable Redis: the first error is logged at once, the rest held back and counted', async () => {
    const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
    const log = { warn: (fields: Record<string, unknown>, msg: string) => void lines.push({ fields, msg }) };
    const conn = createQueueConnection({ kind: 'redis', url: `redis://127.0.0.1:${await freeLoopbackPort()}` }, 'errlog', {
      log: log as never,
      errorLogIntervalMs: 700,
    });
    const enqueuer = new WebhookEnqueuer(conn);
    enqueuer.queueFor('00000000-0000-4000-8000-000000000001');
    const started = Date.now();
    let elapsed = 0;
    try {
      while (lines.length < 2 && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 20));
      elapsed = Date.now() - started;
    } finally {
      await enqueuer.close().catch(() => undefined);
      await conn.close();
    }
    expect(lines.length).toBeGreaterThanOrEqual(2);
    // Never more than one line per 700 ms (plus the first).
    expect(lines.length).toBeLessThanOrEqual(Math.floor(elapsed / 700) + 1);
    expect(lines[0]).toMatchObject({ msg: 'queue backend error', fields: { err: expect.stringMatching(/ECONNREFUSED/), suppressed: 0 } });
    expect(lines.map((l) => l.fields.source)).toContain('redis');
    // ioredis retries far more often than once per 700 ms: later lines say how many were held back.
    expect(lines.slice(1).some((l) => (l.fields.suppressed as number) > 0)).toBe(true);
  });
});
