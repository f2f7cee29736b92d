import { type AddressInfo, createServer } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { createHarness } from './harness';

// Issue 13 item 4: every listener honours HOST; the worker's health server listened on all
// interfaces even with HOST=127.0.0.1.
const h = await createHarness('host');
afterAll(() => h.close());

it('the worker health server binds to HOST', async () => {
  const rt = await h.startWorker({ HOST: '127.0.0.1' });
  expect(rt.address).toBe('127.0.0.1');
  const res = await fetch(`http://127.0.0.1:${rt.port}/healthz`);
  expect(await res.json()).toEqual({ status: 'ok' });
});

it('defaults to every interface (0.0.0.0), as the receiver and console do', async () => {
  const rt = await h.startWorker();
  expect(rt.address).toBe('0.0.0.0');
});

// Prod walk, stop 32: a second worker on a host with the same WORKER_HEALTH_PORT took jobs, then crashed
// on the port with a raw stack, and the jobs it held waited for the stall check (~100 s).
it('a health port in use fails the start before any job is taken, in one line naming it', async () => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const busy = (holder.address() as AddressInfo).port;
  // A harness of its own: the workers the tests above started would take the job.
  const own = await createHarness('port');
  try {
    const tenant = await own.makeTenant();
    const logId = await own.deliverStored(tenant.id, 'manychat', { subscriber: { id: '9001', email: 'port@example.com' } });
    const started = await own.startWorker({ HOST: '127.0.0.1', WORKER_HEALTH_PORT: busy }).catch((e: Error) => e);
    expect(started).toBeInstanceOf(Error);
    expect((started as Error).message).toBe(
      `WORKER_HEALTH_PORT ${busy} is in use on 127.0.0.1: give each worker on a host a port of its own`,
    );
    // Give a worker that had started taking jobs the time to take this one: it stays waiting.
    await new Promise((r) => setTimeout(r, 1_000));
    const [row] = await own.admin.sql<
      { status: string; attempts: number }[]
    >`select status, attempts from webhook_logs where id = ${logId}`;
    expect(row).toEqual({ status: 'received', attempts: 0 });
  } finally {
    await own.close();
    await new Promise((r) => holder.close(r));
  }
});
