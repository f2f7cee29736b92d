import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness, spawnWorkerProcess } from './harness';

// SPEC §10.7 under load (issue 13 fault suite): SIGTERM to a worker process busy with a burst. It exits
// 0 by its deadline with every job either finished (log processed) or released (log back to
// received, job waiting/delayed) — none left active or processing; a new worker completes the rest
// with exactly one contact per event.

let h: Harness;
let manychat: Server;
const children: ChildProcess[] = [];

beforeAll(async () => {
  manychat = createServer((req, res) => {
    const id = /subscriber_id=([^&]+)/.exec(req.url ?? '')?.[1] ?? 'x';
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: { id, first_name: 'Load', email: `${id}@example.com`, custom_fields: [] } }));
    }, 150);
  });
  await new Promise<void>((r) => manychat.listen(0, '127.0.0.1', r));
  h = await createHarness('termload', {
    WORKER_LOCK_MS: '3000',
    SHUTDOWN_TIMEOUT_MS: '4000',
    WORKER_TENANT_CONCURRENCY: '20',
    MANYCHAT_API_BASE_URL: `http://127.0.0.1:${(manychat.address() as AddressInfo).port}`,
  });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await h?.close();
  await new Promise<void>((r) => manychat?.close(() => r()));
});

it('SIGTERM mid-burst: exit 0 by the deadline, every job finished or released, a new worker completes the rest once', async () => {
  const t = await h.makeTenant({}, { manychat: { api_key: 'k-termload' } });
  const ids: number[] = [];
  for (let i = 0; i < 400; i++) ids.push(await h.store(t.id, 'manychat', { subscriber_id: `load-${i}`, event_type: 'contact_created' }));
  const { child, exited, ready } = spawnWorkerProcess(h);
  children.push(child);
  // Its SIGTERM handler is in place only once it is fully started (jobs run a moment before).
  await ready;
  const gone = exited.then((e) => e.code);
  await h.enqueuer.enqueue(ids.map((logId) => ({ tenantId: t.id, logId })));
  const count = async (status: string) =>
    (await h.owner.sql<{ n: number }[]>`select count(*)::int as n from webhook_logs where tenant_id = ${t.id} and status = ${status}`)[0]
      ?.n ?? 0;
  const end = Date.now() + 60_000;
  while ((await count('processed')) < 40 || (await count('processing')) === 0) {
    if (Date.now() > end) throw new Error('the worker never got busy');
    await new Promise((r) => setTimeout(r, 20));
  }
  const sent = Date.now();
  child.kill('SIGTERM');
  expect(await gone).toBe(0);
  const tookMs = Date.now() - sent;
  expect(tookMs).toBeLessThan(4_000 + 1_500);

  const statuses = await h.owner.sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from webhook_logs where tenant_id = ${t.id} group by status order by status`;
  const by = Object.fromEntries(statuses.map((s) => [s.status, s.n]));
  expect(Object.keys(by).sort()).toEqual(
    Object.keys(by)
      .filter((s) => s === 'processed' || s === 'received')
      .sort(),
  );
  expect(by.processed).toBeGreaterThanOrEqual(40);
  expect(by.received ?? 0).toBeGreaterThan(0);
  const jobCounts = await h.enqueuer.queueFor(t.id).getJobCounts('active', 'waiting', 'delayed', 'completed', 'failed');
  expect(jobCounts.active).toBe(0);
  expect(jobCounts.failed).toBe(0);
  expect((jobCounts.waiting ?? 0) + (jobCounts.delayed ?? 0)).toBe(by.received);
  process.stdout.write(`worker SIGTERM under load: exit 0 in ${tookMs} ms; ${by.processed} finished, ${by.received} released\n`);

  await h.startWorker();
  const logs = await h.waitForLogs(ids, 60_000);
  expect(logs.every((l) => l.status === 'processed')).toBe(true);
  const [c] = await h.owner.sql<{ contacts: number; events: number }[]>`
    select (select count(*) from contacts where tenant_id = ${t.id})::int as contacts,
           (select count(*) from funnel_events where tenant_id = ${t.id})::int as events`;
  expect(c).toEqual({ contacts: 400, events: 400 });
});
