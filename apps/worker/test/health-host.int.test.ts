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
