import { randomUUID } from 'node:crypto';
import type { Logger } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection, type WebhookEnqueuer, type WebhookJobRef, webhookJobId } from '@mcb/queue';
import { createTenantContextLoader } from '@mcb/tenancy';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createReceiver } from '../src/app';
import { OutboxSweeper } from '../src/intake/outbox-sweeper';
import { isQueueReady } from '../src/intake/queue-ready';
import { createReceiverMetrics } from '../src/metrics';
import { countJobs, createHarness, logsOf, makeReceiver, makeTenant } from './harness';

const h = createHarness('outbox');
afterAll(() => h.close());
const silent = pino({ level: 'silent' }) as unknown as Logger;
const secret = `sh-${randomUUID()}`;
const event = () => JSON.stringify({ subscriber: { id: randomUUID(), first_name: 'Bo' }, event_type: 'contact_created' });

describe('Redis down (SPEC §10.4)', () => {
  it('500 events with a dead Redis all get 200; two concurrent sweepers then enqueue each exactly once', async () => {
    const t = await makeTenant(h, { manychat: secret });
    // Nothing listens on port 1: the receiver's Redis client never becomes ready.
    const dead = createQueueConnection({ kind: 'redis', url: 'redis://127.0.0.1:1' }, h.prefix);
    const tenants = createTenantContextLoader({ admin: h.admin, keyring: h.keyring, listen: false });
    const receiver = createReceiver({ database: h.app, queue: dead, log: silent, tenants, groupCommit: { enqueueTimeoutMs: 200 } });
    try {
      const started = Date.now();
      const statuses: number[] = [];
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(
          Array.from({ length: 50 }, () =>
            receiver.app.request(`/api/webhooks/${t.slug}/manychat`, {
              method: 'POST',
              body: event(),
              headers: { 'x-webhook-secret': secret },
            }),
          ),
        );
        statuses.push(...answers.map((a) => a.status));
      }
      expect(statuses).toHaveLength(500);
      expect(statuses.every((s) => s === 200)).toBe(true);
      // The dead Redis is never waited on for long.
      expect(Date.now() - started).toBeLessThan(30_000);
      const ready = await receiver.app.request('/readyz');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ok: false, postgres: 'ok', queue: 'down' });
    } finally {
      await receiver.close();
      await dead.close();
      await tenants.close();
    }
    const rows = await logsOf(h, t.id);
    expect(rows).toHaveLength(500);
    expect(rows.every((r) => r.status === 'received' && r.enqueued_at === null)).toBe(true);
    expect(await countJobs(h.jobs, t.id)).toBe(0);

    // Redis is back: two sweepers (two receivers) race over the same outbox. Other test files share
    // this database and may leave rows of their own tenants in it, so claims are counted per tenant.
    const metrics = createReceiverMetrics({ defaults: false });
    const claimed: number[] = [];
    const enqueuer = {
      enqueue: async (refs: WebhookJobRef[]) => {
        for (const ref of refs) if (ref.tenantId === t.id) claimed.push(ref.logId);
        await h.jobs.enqueue(refs);
      },
    } as unknown as WebhookEnqueuer;
    const sweeper = () =>
      new OutboxSweeper(
        { admin: h.admin, enqueuer, queueReady: () => isQueueReady(h.queue), log: silent, metrics },
        { minAgeMs: 0, batchSize: 40 },
      );
    const [a, b] = await Promise.all([sweeper().sweep(), sweeper().sweep()]);
    expect(a + b).toBeGreaterThanOrEqual(500);
    // Exactly once: every row of this tenant claimed by one sweeper, none twice.
    expect(claimed).toHaveLength(500);
    expect(new Set(claimed).size).toBe(500);
    expect(await countJobs(h.jobs, t.id)).toBe(500);
    const after = await logsOf(h, t.id);
    expect(after.every((r) => r.enqueued_at !== null)).toBe(true);
    const q = h.jobs.queueFor(t.id);
    const jobs = await q.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
    expect(new Set(jobs.map((j) => j.id))).toEqual(new Set(after.map((r) => webhookJobId(r.id))));
    expect(jobs.every((j) => j.name === 'webhook.process' && Object.keys(j.data).join() === 'logId')).toBe(true);
    // A third sweep finds nothing; the depth gauge reads 0.
    expect(await sweeper().sweep()).toBe(0);
    expect(claimed).toHaveLength(500);
  });

  it('the sweeper leaves young rows alone and refuses the app role', async () => {
    const t = await makeTenant(h, { manychat: secret });
    const dead = createQueueConnection({ kind: 'redis', url: 'redis://127.0.0.1:1' }, h.prefix);
    const r = makeReceiver(h, { queue: dead, enqueuer: undefined, groupCommit: { enqueueTimeoutMs: 100 } });
    const res = await r.app.request(`/api/webhooks/${t.slug}/manychat`, {
      method: 'POST',
      body: event(),
      headers: { 'x-webhook-secret': secret },
    });
    expect(res.status).toBe(200);
    await r.close();
    await dead.close();
    const young = new OutboxSweeper({ admin: h.admin, enqueuer: h.jobs, queueReady: () => true, log: silent }, { minAgeMs: 60_000 });
    expect(await young.sweep()).toBe(0);
    expect(() => new OutboxSweeper({ admin: h.app, enqueuer: h.jobs, queueReady: () => true, log: silent })).toThrow(/admin/);
  });
});

describe('Postgres down (SPEC §10.5)', () => {
  it('answers 503 when the tenant cannot be resolved', async () => {
    const closed = 'postgres://postgres@127.0.0.1:1/none';
    const deadAdmin = createDatabase({ url: closed, role: 'admin', max: 1 });
    const deadApp = createDatabase({ url: closed, role: 'app', max: 1 });
    const tenants = createTenantContextLoader({ admin: deadAdmin, keyring: h.keyring, listen: false });
    const r = createReceiver({ database: deadApp, queue: h.queue, log: silent, tenants, enqueuer: h.jobs });
    const res = await r.app.request('/api/webhooks/acme/manychat', {
      method: 'POST',
      body: event(),
      headers: { 'x-webhook-secret': secret },
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    expect((await r.app.request('/readyz')).status).toBe(503);
    await r.close();
    await tenants.close();
    await Promise.all([deadAdmin.close(), deadApp.close()]);
  });

  it('answers 503 (never 200) when the commit fails, and stores nothing', async () => {
    const t = await makeTenant(h, { manychat: secret });
    const deadApp = createDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', role: 'app', max: 1 });
    const tenants = createTenantContextLoader({ admin: h.admin, keyring: h.keyring, listen: false });
    const r = createReceiver({ database: deadApp, queue: h.queue, log: silent, tenants, enqueuer: h.jobs });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        r.app.request(`/api/webhooks/${t.slug}/manychat`, { method: 'POST', body: event(), headers: { 'x-webhook-secret': secret } }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([503, 503, 503, 503, 503]);
    expect(await logsOf(h, t.id)).toHaveLength(0);
    await r.close();
    await tenants.close();
    await deadApp.close();
  });
});
