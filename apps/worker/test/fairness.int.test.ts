import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await createHarness('fair', { WORKER_TENANT_CONCURRENCY: '10', WORKER_WEBHOOK_CONCURRENCY: '20' });
});
afterAll(async () => {
  await h?.close();
});

/** Stores `n` ManyChat logs for a tenant in one statement and enqueues them in bulk; returns their ids. */
async function flood(tenantId: string, n: number): Promise<number[]> {
  const payloads = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ subscriber: { id: `flood-${i}`, first_name: 'F', email: `flood${i}@example.com` }, event_type: 'contact_update' }),
  );
  const rows = await h.owner.sql<{ id: number }[]>`
    insert into webhook_logs (tenant_id, source, dedupe_key, payload, status, enqueued_at)
    select ${tenantId}::uuid, 'manychat', 'flood-' || k, p::jsonb, 'received', now()
    from unnest(${payloads}::text[]) with ordinality as t(p, k)
    returning id`;
  const ids = rows.map((r) => r.id);
  for (let i = 0; i < ids.length; i += 2_000) await h.enqueuer.enqueue(ids.slice(i, i + 2_000).map((logId) => ({ tenantId, logId })));
  return ids;
}

it('20,000 queued events of tenant A do not delay tenant B: B is processed within 5 s', async () => {
  const a = await h.makeTenant();
  const b = await h.makeTenant();
  await h.startWorker();
  const t0 = Date.now();
  await flood(a.id, 20_000);
  process.stdout.write(`fairness: stored and enqueued 20000 logs for tenant A in ${Date.now() - t0} ms\n`);
  const [{ waiting = 0 } = {}] = [await h.enqueuer.queueFor(a.id).getJobCounts('waiting')];
  expect(waiting).toBeGreaterThan(15_000);
  const started = Date.now();
  const id = await h.deliver(b.id, 'manychat', { subscriber: { id: 'b-1', email: 'b@example.com' }, event_type: 'contact_created' });
  const [log] = await h.waitForLogs([id], 30_000);
  const tookMs = Date.now() - started;
  const [row] = await h.owner.sql<
    { ms: number }[]
  >`select (extract(epoch from processed_at - received_at) * 1000)::float8 as ms from webhook_logs where id = ${id}`;
  const [{ left }] = (await h.owner
    .sql`select count(*)::int as left from webhook_logs where tenant_id = ${a.id} and status = 'received'`) as unknown as [
    { left: number },
  ];
  process.stdout.write(
    `fairness: tenant B processed ${Math.round(row!.ms)} ms after receipt (${tookMs} ms wall) with ${left} of tenant A's 20000 still queued\n`,
  );
  expect(log).toMatchObject({ status: 'processed' });
  expect(left).toBeGreaterThan(10_000);
  expect(row!.ms).toBeLessThan(5_000);
});
