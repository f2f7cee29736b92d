import { readFileSync } from 'node:fs';
import { pollUntil } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from './system';

const token = 'replay-test-token-0123456789';
const auth = { authorization: `Bearer ${token}` };
const stripeFixture = JSON.parse(
  readFileSync(new URL('../../../packages/sources/src/stripe/fixtures/checkout-session-completed-full.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem('replay', token);
});
afterAll(async () => {
  await sys?.close();
});

/** Everything a tenant's events produced, every column (updated_at included). */
async function tenantData(tenantId: string) {
  const sql = sys.admin.sql;
  return {
    contacts: [...(await sql`select * from contacts where tenant_id = ${tenantId} order by id`)],
    events: [...(await sql`select * from funnel_events where tenant_id = ${tenantId} order by id`)],
    payments: [...(await sql`select * from payments where tenant_id = ${tenantId} order by id`)],
    changes: [...(await sql`select * from contact_field_changes where tenant_id = ${tenantId} order by id`)],
  };
}

describe('replay through the real worker', () => {
  it('a log that failed (wrong ManyChat key) ends processed after the key is fixed and it is replayed', async () => {
    const tenant = await sys.makeTenant('mc-wrong-key');
    const logId = await sys.deliver(tenant.id, 'manychat', { subscriber_id: '5550001', event_type: 'contact_created' });
    const failed = await sys.waitFor(logId, ['failed']);
    expect(failed?.error_message).toMatch(/HTTP 401/);
    // The row is final a moment before BullMQ moves the job; a replay of a job still active is a no-op.
    expect(await sys.waitForJob(tenant.id, logId, 'failed')).toBe('failed');

    await sys.fixManyChatKey(tenant.slug);
    const res = await sys.consoleApp.app.request(`/admin/api/logs/${logId}/replay`, { method: 'POST', headers: auth });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ matched: 1, replayed: 1 });

    const done = await sys.waitFor(logId, ['processed', 'failed'], 2);
    expect(done).toMatchObject({ status: 'processed', error_message: null, attempts: 2 });
    const detail = (await (await sys.consoleApp.app.request(`/admin/api/logs/${logId}`, { headers: auth })).json()) as {
      log: {
        contact: { mc_id: string; email_primary: string };
        funnelEvents: Array<{ event_type: string }>;
        headers: Record<string, string>;
      };
    };
    expect(detail.log.contact).toMatchObject({ mc_id: '5550001', email_primary: 'ana.5550001@example.com' });
    expect(detail.log.funnelEvents.map((e) => e.event_type)).toContain('contact_subscribed');
    expect(detail.log.headers['x-webhook-secret']).toBe('[redacted]');
  });

  it('bulk replay of failed logs: the dry run enqueues nothing; the replay ends with every log processed', async () => {
    const tenant = await sys.makeTenant('mc-wrong-key');
    const ids = [];
    for (let i = 0; i < 4; i++)
      ids.push(await sys.deliver(tenant.id, 'manychat', { subscriber_id: `66600${i}`, event_type: 'contact_created' }));
    for (const id of ids) await sys.waitFor(id, ['failed']);
    for (const id of ids) expect(await sys.waitForJob(tenant.id, id, 'failed')).toBe('failed');
    await sys.fixManyChatKey(tenant.slug);

    const dry = await sys.consoleApp.app.request('/admin/api/replay', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: tenant.slug, status: 'failed', dryRun: true }),
    });
    expect(await dry.json()).toMatchObject({ dryRun: true, matched: 4 });
    await new Promise((r) => setTimeout(r, 500));
    for (const id of ids) expect(await sys.statusOf(id)).toMatchObject({ status: 'failed', attempts: 1 });

    const res = await sys.consoleApp.app.request('/admin/api/replay', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: tenant.slug, status: 'failed' }),
    });
    expect(await res.json()).toMatchObject({ dryRun: false, matched: 4, replayed: 4 });
    for (const id of ids) expect(await sys.waitFor(id, ['processed', 'failed'], 2)).toMatchObject({ status: 'processed' });
  });

  it('a rejected log (bad signature, body kept) is never processed by replay, one or in bulk', async () => {
    const tenant = await sys.makeTenant('mc-good-key-0001');
    const body = { ...stripeFixture, id: 'evt_rejected_then_replayed' };
    const [row] = await sys.admin.sql<{ id: number }[]>`
      insert into webhook_logs (tenant_id, source, event_type, dedupe_key, payload, status, error_message)
      values (${tenant.id}, 'stripe', 'checkout.session.completed', 'evt_rejected_then_replayed', ${sys.admin.sql.json(body as never)},
              'rejected', 'invalid_signature')
      returning id`;
    const res = await sys.consoleApp.app.request(`/admin/api/logs/${row!.id}/replay`, { method: 'POST', headers: auth });
    expect(await res.json()).toMatchObject({ matched: 1, replayed: 0, skipped: [{ id: row!.id, reason: 'rejected' }] });
    const bulk = await sys.consoleApp.app.request('/admin/api/replay', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: tenant.slug, status: 'rejected' }),
    });
    expect(await bulk.json()).toMatchObject({ matched: 1, replayed: 0, skippedByReason: { rejected: 1 } });
    // Give a worker time to (wrongly) pick anything up: nothing was enqueued, nothing is written.
    await new Promise((r) => setTimeout(r, 500));
    expect(await sys.statusOf(row!.id)).toMatchObject({ status: 'rejected', error_message: 'invalid_signature', attempts: 0 });
    expect(await sys.admin.sql`select id from payments where tenant_id = ${tenant.id}`).toHaveLength(0);
    expect(await sys.admin.sql`select id from contacts where tenant_id = ${tenant.id}`).toHaveLength(0);
  });

  it('replaying processed logs changes no data (SPEC §6.6)', async () => {
    const tenant = await sys.makeTenant('mc-good-key-0001');
    const mc = await sys.deliver(tenant.id, 'manychat', { subscriber_id: '7770001', event_type: 'link_clicked' });
    const stripe = await sys.deliver(tenant.id, 'stripe', { ...stripeFixture, id: 'evt_replay_same' }, 'evt_replay_same');
    for (const id of [mc, stripe]) expect(await sys.waitFor(id, ['processed', 'failed'])).toMatchObject({ status: 'processed' });
    for (const id of [mc, stripe]) expect(await sys.waitForJob(tenant.id, id, 'completed')).toBe('completed');
    const before = await tenantData(tenant.id);
    expect(before.contacts.length).toBeGreaterThan(0);
    expect(before.payments).toHaveLength(1);

    const res = await sys.consoleApp.app.request('/admin/api/replay', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: tenant.slug, status: 'processed' }),
    });
    expect(await res.json()).toMatchObject({ matched: 2, replayed: 2 });
    for (const id of [mc, stripe])
      expect(await sys.waitFor(id, ['processed', 'failed'], 2)).toMatchObject({ status: 'processed', attempts: 2 });
    expect(await tenantData(tenant.id)).toEqual(before);
  });

  // issue 16: Bull Board's failed count (jobs) used to exceed the failed logs, one new job per replay.
  it('a replay re-runs the same job id: however often a log is replayed, Bull Board counts one job per log', async () => {
    const tenant = await sys.makeTenant('mc-wrong-key');
    const ids = [
      await sys.deliver(tenant.id, 'manychat', { subscriber_id: '8810001', event_type: 'contact_created' }),
      await sys.deliver(tenant.id, 'manychat', { subscriber_id: '8810002', event_type: 'contact_created' }),
    ];
    for (const id of ids) await sys.waitFor(id, ['failed']);
    const counts = async () => {
      const res = await sys.consoleApp.app.request('/admin/api/queues', { headers: auth });
      const { queues } = (await res.json()) as { queues: Array<{ tenantSlug: string | null; counts: Record<string, number> }> };
      return queues.find((q) => q.tenantSlug === tenant.slug)?.counts;
    };
    // Polled until they read `want` (then compared): each row is final a moment before BullMQ moves its
    // job, so a single read right after the rows could still count a job active.
    const settledCounts = (want: Record<string, number>) =>
      pollUntil(counts, (now) => Object.entries(want).every(([k, v]) => now?.[k] === v), { timeoutMs: 20_000 });
    /** Waits until each log's job has moved to `state` (a replay of a job still active is a no-op). */
    const jobsSettled = async (state: string) => {
      for (const id of ids) expect(await sys.waitForJob(tenant.id, id, state)).toBe(state);
    };
    // Replayed twice while the cause (the ManyChat key) is still wrong: each replay fails again.
    for (let round = 2; round <= 3; round++) {
      await jobsSettled('failed');
      for (const id of ids) {
        const res = await sys.consoleApp.app.request(`/admin/api/logs/${id}/replay`, { method: 'POST', headers: auth });
        expect(await res.json()).toMatchObject({ replayed: 1 });
      }
      for (const id of ids) expect(await sys.waitFor(id, ['failed'], round)).toMatchObject({ status: 'failed', attempts: round });
    }
    expect(await settledCounts({ failed: 2, completed: 0, waiting: 0, active: 0 })).toMatchObject({
      failed: 2,
      completed: 0,
      waiting: 0,
      active: 0,
    });

    // Fixed and replayed: the same two jobs complete; a replay of a completed job runs it once more.
    await sys.fixManyChatKey(tenant.slug);
    for (const id of ids) await sys.consoleApp.app.request(`/admin/api/logs/${id}/replay`, { method: 'POST', headers: auth });
    for (const id of ids) expect(await sys.waitFor(id, ['processed'], 4)).toMatchObject({ status: 'processed' });
    await jobsSettled('completed');
    await sys.consoleApp.app.request(`/admin/api/logs/${ids[0]}/replay`, { method: 'POST', headers: auth });
    expect(await sys.waitFor(ids[0] as number, ['processed'], 5)).toMatchObject({ attempts: 5 });
    expect(await settledCounts({ failed: 0, completed: 2 })).toMatchObject({ failed: 0, completed: 2 });
  });
});
