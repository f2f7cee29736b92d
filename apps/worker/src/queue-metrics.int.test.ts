import { createLogger } from '@mcb/core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from '../test/harness';
import { registerQueueMetrics } from './queue-metrics';

let h: Harness;
beforeAll(async () => {
  h = await createHarness('qmetrics');
});
afterAll(async () => {
  await h?.close();
});

it('reports each tenant queue’s waiting jobs and the age of its oldest one, read at scrape time', async () => {
  // No worker runs: the jobs stay waiting.
  const t = await h.makeTenant();
  const ids = [];
  for (let i = 0; i < 3; i++)
    ids.push(await h.deliverStored(t.id, 'manychat', { subscriber: { id: `qm-${i}` }, event_type: 'contact_created' }));
  const registry = new Registry();
  registerQueueMetrics(registry, { admin: h.admin, queue: h.conn, log: createLogger({ name: 'test', level: 'silent' }) });
  await new Promise((r) => setTimeout(r, 1_000));
  const text = await registry.metrics();
  const queue = `webhooks-${t.id}`;
  expect(text).toContain(`mcb_queue_jobs{queue="${queue}",tenant="${t.slug}",state="waiting"} 3`);
  expect(text).toContain(`mcb_queue_jobs{queue="${queue}",tenant="${t.slug}",state="active"} 0`);
  expect(text).toMatch(/mcb_queue_jobs\{queue="reports",tenant="",state="waiting"\} \d+/);
  const age = Number(new RegExp(`mcb_queue_oldest_waiting_seconds\\{queue="${queue}",tenant="${t.slug}"\\} ([\\d.]+)`).exec(text)?.[1]);
  expect(age).toBeGreaterThanOrEqual(1);
  expect(age).toBeLessThan(60);
});
