import { randomUUID } from 'node:crypto';
import { pollUntil, testServiceUrls } from '@mcb/testing';
import { type Job, Queue, Worker } from 'bullmq';
import { afterAll, expect, it } from 'vitest';
import { orphansLinkJob, webhookQueueName } from './catalog';
import { createQueueConnection } from './connection';

// Review, stop 35: an apply that leaves an orphan backlog adds the tenant's orphans.link job. Added while
// that job is still running (after its last look at the backlog), the add was dropped by the deduplication,
// and the backlog waited for the reconciler. The last add made while a run is active now runs after it.
const queue = createQueueConnection({ kind: 'redis', url: testServiceUrls().redisUrl }, `orphlink${Date.now().toString(36)}`);
afterAll(async () => {
  await queue.close();
});

it('orphans.link added twice while one runs for the tenant: one more run follows it, not two', async () => {
  const tenantId = randomUUID();
  const q = new Queue(webhookQueueName(tenantId), { connection: queue.connection, prefix: queue.prefix });
  q.on('error', () => {});
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const runs: string[] = [];
  const worker = new Worker(
    webhookQueueName(tenantId),
    async (job: Job) => {
      runs.push(job.id as string);
      if (runs.length === 1) await gate;
    },
    { connection: queue.connection, prefix: queue.prefix, autorun: true },
  );
  worker.on('error', () => {});
  try {
    const add = async () => {
      const job = orphansLinkJob(tenantId);
      await q.add(job.name, job.data, job.opts);
      await new Promise((r) => setTimeout(r, 5));
    };
    await add();
    await pollUntil(
      async () => runs.length,
      (n) => n === 1,
      { timeoutMs: 10_000 },
    );
    // The first run is active: two more adds leave one run to follow it.
    await add();
    await add();
    expect(await q.getWaitingCount()).toBe(0);
    release();
    const done = await pollUntil(
      async () => ({ runs: runs.length, pending: (await q.getWaitingCount()) + (await q.getActiveCount()) }),
      (s) => s.runs === 2 && s.pending === 0,
      { timeoutMs: 10_000 },
    );
    expect(done).toEqual({ runs: 2, pending: 0 });
  } finally {
    await worker.close();
    await q.obliterate({ force: true }).catch(() => {});
    await q.close();
  }
});
