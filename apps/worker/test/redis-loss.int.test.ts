import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@mcb/core';
import { queueNames, queueOn, webhookJobId } from '@mcb/queue';
import { type OwnRedis, pollUntil, startOwnRedis } from '@mcb/testing';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness } from './harness';

// SPEC §10.4: no acked event is ever stranded, whatever Redis or a worker does. Redis here is the
// test's own (no persistence) so it can be killed, restarted empty and flushed. The reconciler runs
// inside the real worker runtime with a short interval; everything else is production code.

let redis: OwnRedis;
let h: Awaited<ReturnType<typeof createHarness>>;
const fast = { RECONCILE_INTERVAL_MS: 300, RECONCILE_MIN_AGE_MS: 1_000 };
// Local stand-in for ManyChat's API: down (503) until a test says otherwise.
let manychat: Server;
let manychatUp = false;
const manychatFixture = (name: string) =>
  readFileSync(new URL(`../../../packages/sources/src/manychat/fixtures/${name}.json`, import.meta.url), 'utf8');

beforeAll(async () => {
  manychat = createServer((_req, res) => {
    res.writeHead(manychatUp ? 200 : 503, { 'content-type': 'application/json' });
    res.end(manychatUp ? manychatFixture('getinfo-response') : '{"status":"error"}');
  });
  await new Promise<void>((r) => manychat.listen(0, '127.0.0.1', r));
  redis = await startOwnRedis();
  h = await createHarness('redisloss', {
    REDIS_URL: redis.url,
    RECONCILE_INTERVAL_MS: String(fast.RECONCILE_INTERVAL_MS),
    RECONCILE_MIN_AGE_MS: String(fast.RECONCILE_MIN_AGE_MS),
    MANYCHAT_API_BASE_URL: `http://127.0.0.1:${(manychat.address() as AddressInfo).port}`,
  });
});
afterAll(async () => {
  await h?.close();
  await redis?.close();
  await new Promise<void>((r) => manychat?.close(() => r()));
});

const schedules = () => queueOn(h.conn, queueNames.schedules);
const event = () => ({ subscriber: { id: randomUUID(), first_name: 'Lost' }, event_type: 'contact_created' });

/** Exactly one funnel event per log, and every log processed: nothing lost, nothing doubled. */
async function effectsOf(tenantId: string) {
  const [logs] = await h.owner.sql<{ total: number; processed: number }[]>`
    select count(*)::int as total, count(*) filter (where status = 'processed')::int as processed
    from webhook_logs where tenant_id = ${tenantId}`;
  const [events] = await h.owner.sql<{ n: number; logs: number }[]>`
    select count(*)::int as n, count(distinct webhook_log_id)::int as logs from funnel_events where tenant_id = ${tenantId}`;
  return { logs, events };
}

describe('acked events survive Redis loss and lost jobs', () => {
  it('Redis killed mid-burst (no persistence) and restarted empty: every acked event processed once', async () => {
    const t = await h.makeTenant();
    await h.startWorker();
    const ids: number[] = [];
    for (let i = 0; i < 150; i++) ids.push(await h.deliver(t.id, 'manychat', event()));
    await redis.kill();
    // Intake goes on while Redis is gone: rows are committed, their jobs cannot be added.
    for (let i = 0; i < 150; i++) ids.push(await h.deliver(t.id, 'manychat', event()));
    await redis.start();
    const rows = await h.waitForLogs(ids, 60_000);
    expect(rows.filter((r) => r.status !== 'processed')).toEqual([]);
    const { logs, events } = await effectsOf(t.id);
    expect(logs).toEqual({ total: 300, processed: 300 });
    expect(events).toEqual({ n: 300, logs: 300 });
    await h.stopWorkers();
  }, 120_000);

  it('FLUSHALL with 300 jobs waiting and no worker running: a worker that starts later processes all', async () => {
    const t = await h.makeTenant();
    const ids: number[] = [];
    for (let i = 0; i < 300; i++) ids.push(await h.deliver(t.id, 'manychat', event()));
    // The harness' own queue connection is an ioredis client on the test's Redis.
    await (h.conn.connection as unknown as { flushall: () => Promise<unknown> }).flushall();
    await h.startWorker();
    const rows = await h.waitForLogs(ids, 60_000);
    expect(rows.filter((row) => row.status !== 'processed')).toEqual([]);
    expect((await effectsOf(t.id)).events).toEqual({ n: 300, logs: 300 });
    await h.stopWorkers();
  }, 120_000);

  it('a log failed with a retry promised whose delayed job a FLUSHALL lost is run again and processed', async () => {
    manychatUp = false;
    const t = await h.makeTenant({}, { manychat: { api_key: 'mc-test-key' } });
    await h.startWorker();
    // The body carries only the subscriber id: the worker must fetch it from ManyChat, which is down.
    const id = await h.deliver(t.id, 'manychat', JSON.parse(manychatFixture('subscriber-id-only')));
    const logRow = async () => {
      const [r] = await h.owner.sql<{ status: string; error_message: string | null; retry_at: Date | null }[]>`
        select status, error_message, retry_at from webhook_logs where id = ${id}`;
      return r;
    };
    const row = await pollUntil(logRow, (r) => !!r?.retry_at, { timeoutMs: 15_000, intervalMs: 10 });
    expect(row?.status).toBe('failed');
    expect(row?.error_message).toMatch(/\(attempt 1, will retry\)$/);
    // BullMQ's exponential backoff (1 s for a first retry), recorded when the log was marked failed.
    expect(row?.retry_at?.getTime()).toBeGreaterThan(Date.now() - 1_000);
    // The retry waits in Redis as a delayed job; Redis loses it.
    await (h.conn.connection as unknown as { flushall: () => Promise<unknown> }).flushall();
    manychatUp = true;
    // Without the reconciler the log would stay failed for good: no job is left to run it.
    const [done] = await h.waitForLogs([id], 20_000);
    expect(done?.status).toBe('processed');
    expect((await effectsOf(t.id)).events).toEqual({ n: 1, logs: 1 });
    await h.stopWorkers();
  }, 60_000);

  // Attacker walk, stop 37: the schedulers were registered once, at start. A flush took every tick with it,
  // and weekly reports, Meta syncs and Conversions API sends stopped for every tenant, the worker up.
  it('FLUSHALL with a worker running: the report, meta and capi ticks are registered again, with a warning', async () => {
    const warned: string[] = [];
    const log = createLogger({ name: 'test-worker', level: 'silent' });
    const watched = Object.assign(Object.create(log), {
      warn: (fields: { scheduler?: string }, msg: string) => {
        if (fields.scheduler) warned.push(`${fields.scheduler}: ${msg}`);
      },
    }) as typeof log;
    await h.startWorker({ SCHEDULER_CHECK_MS: 200 }, watched);
    const ids = ['capi-tick', 'meta-tick', 'report-tick'];
    const registered = async () => (await schedules().getJobSchedulers()).map((s) => s.key).sort();
    expect(await registered()).toEqual(ids);
    await (h.conn.connection as unknown as { flushall: () => Promise<unknown> }).flushall();
    expect(await registered()).toEqual([]);
    const back = await pollUntil(registered, (keys) => keys.length === ids.length, { timeoutMs: 10_000, intervalMs: 50 });
    expect(back).toEqual(ids);
    // Each with its next run waiting in Redis (what fires the tick), and each warned about once.
    const next = await Promise.all(ids.map(async (id) => (await schedules().getJobScheduler(id))?.next ?? null));
    expect(next.every((t) => typeof t === 'number' && t > 0)).toBe(true);
    expect(warned.sort()).toEqual(
      ids.map((id) => `${id}: job scheduler was missing from Redis (restarted empty or flushed): registered again`),
    );
    // Present, they are left as they are: no second warning, the same next runs.
    await new Promise((r) => setTimeout(r, 600));
    expect(warned).toHaveLength(ids.length);
    await h.stopWorkers();
  }, 60_000);

  it('a job BullMQ failed for stalling twice (row left processing) is run again and processed', async () => {
    const t = await h.makeTenant();
    const id = await h.deliver(t.id, 'manychat', event());
    // What a worker killed twice mid-job leaves: the row `processing`, the job failed by BullMQ with
    // "job stalled more than allowable limit" — the processor's failure path never ran.
    const q = h.enqueuer.queueFor(t.id);
    const fetcher = new Worker(q.name, null, { connection: h.conn.connection, prefix: h.prefix });
    const job = await fetcher.getNextJob('tok');
    expect(job?.id).toBe(webhookJobId(id));
    await h.owner.sql`update webhook_logs set status = 'processing', attempts = 2 where id = ${id}`;
    // BullMQ fails a twice-stalled job whatever attempts are left (an UnrecoverableError does the same).
    await job?.moveToFailed(new UnrecoverableError('job stalled more than allowable limit'), 'tok', false);
    await fetcher.close();
    expect(await q.getJobState(webhookJobId(id))).toBe('failed');
    await h.startWorker();
    const [row] = await h.waitForLogs([id], 30_000);
    expect(row?.status).toBe('processed');
    expect((await effectsOf(t.id)).events).toEqual({ n: 1, logs: 1 });
    await h.stopWorkers();
  }, 60_000);
});
