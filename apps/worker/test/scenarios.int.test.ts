import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pollUntil } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerRuntime } from '../src/runtime';
import { createHarness, type Harness, settledJobState, tenantState } from './harness';

// Realistic provider bodies: the normalizers' own fixtures (Stripe objects as the API returns them).
const fixture = (source: string, name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../packages/sources/src/${source}/fixtures/${name}.json`, import.meta.url), 'utf8'));
const clone = <T>(v: T): T => structuredClone(v);

let h: Harness;
let runtime: WorkerRuntime;
const tenantIds: string[] = [];
// Local stand-in for ManyChat's API; each test sets how it answers.
let manychat: Server;
let answerManyChat: (url: string, auth: string | undefined) => { status: number; body: unknown } = () => ({ status: 404, body: {} });
beforeAll(async () => {
  manychat = createServer((req, res) => {
    const a = answerManyChat(req.url ?? '', req.headers.authorization);
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => manychat.listen(0, '127.0.0.1', r));
  h = await createHarness('scen', {
    WORKER_TENANT_CONCURRENCY: '8',
    WORKER_WEBHOOK_CONCURRENCY: '16',
    MANYCHAT_API_BASE_URL: `http://127.0.0.1:${(manychat.address() as AddressInfo).port}`,
  });
  runtime = await h.startWorker();
});
afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => manychat?.close(() => r()));
});

function stripeSession(opts: {
  id: string;
  event: string;
  email: string;
  phone?: string | null;
  customer?: string | null;
  cents?: number;
}) {
  const body = clone(fixture('stripe', 'checkout-session-completed-full')) as { id: string; data: { object: Record<string, unknown> } };
  body.id = opts.event;
  const o = body.data.object;
  o.id = opts.id;
  o.customer = opts.customer ?? null;
  o.customer_email = null;
  o.amount_total = opts.cents ?? o.amount_total;
  o.customer_details = { ...(o.customer_details as object), email: opts.email, phone: opts.phone ?? null };
  return body;
}

describe('webhook processing scenarios (log → queue → worker → Postgres)', () => {
  it('ManyChat → GHL (with MC_ID) → Stripe: one contact, three emails, stage purchased', async () => {
    const t = await h.makeTenant();
    tenantIds.push(t.id);
    const mc = await h.deliver(t.id, 'manychat', fixture('manychat', 'contact-created'));
    await h.waitForLogs([mc]);
    const ghl = await h.deliver(t.id, 'ghl', fixture('ghl', 'workflow-form-filled'));
    await h.waitForLogs([ghl]);
    const pay = await h.deliver(
      t.id,
      'stripe',
      stripeSession({ id: 'cs_test_journey', event: 'evt_journey', email: 'maria.pay@example.com', phone: '+15552013344' }),
    );
    const logs = await h.waitForLogs([pay]);
    expect(logs[0]).toMatchObject({ status: 'processed' });
    const s = await tenantState(h.owner, t.id);
    expect(s.contacts).toHaveLength(1);
    expect(s.contacts[0]).toMatchObject({
      mc_id: '1029384756',
      ghl_id: 'nmFmQEsNgz6AVpgLVUJ0',
      email_primary: 'Maria.Lopez@example.com',
      email_booking: 'maria.booking@example.com',
      email_payment: 'maria.pay@example.com',
      phone: '+15552013344',
      stage: 'purchased',
      ad_id: '120210987654320001',
    });
    expect(s.events.map((e) => e.event_type)).toEqual(
      expect.arrayContaining(['contact_subscribed', 'form_submitted', 'purchase_completed']),
    );
    expect(s.payments).toEqual([
      expect.objectContaining({ contact_id: s.contacts[0]!.id, amount_cents: 240000, category: 'full_purchase' }),
    ]);
    const [log] = await h.owner.sql`select contact_id, event_type, processed_at, attempts from webhook_logs where id = ${pay}`;
    expect(log).toMatchObject({ contact_id: s.contacts[0]!.id, event_type: 'checkout.session.completed', attempts: 1 });
  });

  it('a Stripe payment before the person exists waits as an orphan, then links when ManyChat creates them', async () => {
    const t = await h.makeTenant();
    tenantIds.push(t.id);
    const pay = await h.deliver(t.id, 'stripe', fixture('stripe', 'checkout-session-completed-deposit'));
    expect((await h.waitForLogs([pay]))[0]).toMatchObject({ status: 'processed', contact_id: null });
    let s = await tenantState(h.owner, t.id);
    expect(s.contacts).toHaveLength(0);
    expect(s.payments).toEqual([expect.objectContaining({ contact_id: null, category: 'deposit', amount_cents: 10000 })]);
    const mc = await h.deliver(t.id, 'manychat', fixture('manychat', 'contact-created'));
    await h.waitForLogs([mc]);
    s = await tenantState(h.owner, t.id);
    expect(s.contacts).toHaveLength(1);
    expect(s.payments[0]?.contact_id).toBe(s.contacts[0]!.id);
    expect(s.contacts[0]).toMatchObject({ stage: 'deposit_paid', email_payment: 'Maria.Lopez@example.com' });
    const deposit = s.events.find((e) => e.event_type === 'deposit_paid');
    // Recorded at the payment's own time, not when it was linked.
    expect(deposit?.occurred_at.getTime()).toBeLessThan(Date.now() - 24 * 3600_000);
  });

  it('a Denefits plan with downpayment and three recurring payments counts each once; a status change updates the plan', async () => {
    const t = await h.makeTenant();
    tenantIds.push(t.id);
    const mc = await h.deliver(t.id, 'manychat', fixture('manychat', 'contact-created'));
    await h.waitForLogs([mc]);
    const created = fixture('denefits', 'contract-created');
    const ids = [await h.deliver(t.id, 'denefits', created)];
    for (const remaining of [11, 10, 9]) {
      const body = clone(fixture('denefits', 'recurring-payment')) as unknown as Array<{ data: { contract: Record<string, unknown> } }>;
      body[0]!.data.contract.remaining_payments = remaining;
      body[0]!.data.contract.payment_number = 12 - remaining;
      ids.push(await h.deliver(t.id, 'denefits', body));
    }
    // The same recurring delivery again (a Make.com retry with a new body hash) must not count twice.
    const again = clone(fixture('denefits', 'recurring-payment')) as unknown as Array<{ data: { contract: Record<string, unknown> } }>;
    again[0]!.data.contract.remaining_payments = 11;
    again[0]!.data.contract.payment_number = 1;
    ids.push(await h.deliverStored(t.id, 'denefits', again, { dedupeKey: 'make-retry-1' }));
    // And the same delivery again through the receiver is a duplicate of the stored log.
    expect(await h.deliver(t.id, 'denefits', again)).toBe(ids[1]);
    ids.push(await h.deliver(t.id, 'denefits', fixture('denefits', 'contract-status')));
    const logs = await h.waitForLogs(ids);
    expect(logs.map((l) => l.status)).toEqual(['processed', 'processed', 'processed', 'processed', 'processed', 'processed']);
    const s = await tenantState(h.owner, t.id);
    const byCategory = (c: string) => s.payments.filter((p) => p.category === c);
    expect(byCategory('payment_plan')).toHaveLength(1);
    expect(byCategory('payment_plan')[0]).toMatchObject({ amount_cents: 240000, status: 'overdue' });
    expect(byCategory('downpayment')).toEqual([expect.objectContaining({ amount_cents: 30000 })]);
    expect(byCategory('recurring')).toHaveLength(3);
    expect(byCategory('recurring').every((p) => p.amount_cents === 17510 && p.contact_id === s.contacts[0]!.id)).toBe(true);
    expect(s.events.filter((e) => e.event_type === 'payment_plan_created')).toHaveLength(1);
    expect(s.events.filter((e) => e.event_type === 'recurring_payment_received')).toHaveLength(3);
    expect(s.events.filter((e) => e.event_type === 'purchase_completed')).toHaveLength(0);
  });

  it('a Denefits contract that goes Overdue, back to Active, then Overdue again ends overdue (the last change is not a duplicate)', async () => {
    const t = await h.makeTenant();
    tenantIds.push(t.id);
    const ids = [await h.deliver(t.id, 'denefits', fixture('denefits', 'contract-created'))];
    await h.waitForLogs(ids);
    for (const [previous, current, remaining] of [
      ['Active', 'Overdue', 9],
      ['Overdue', 'Active', 8],
      ['Active', 'Overdue', 7],
    ] as const) {
      const body = clone(fixture('denefits', 'contract-status')) as unknown as Array<{
        data: { contract: Record<string, unknown> };
        status_change: Record<string, unknown>;
      }>;
      body[0]!.data.contract.contract_status = current;
      body[0]!.data.contract.remaining_payments = remaining;
      body[0]!.status_change = { previous_status: previous, current_status: current };
      const id = await h.deliver(t.id, 'denefits', body);
      expect(ids).not.toContain(id);
      ids.push(id);
      // Denefits sends no event time: each change is ordered by when it was received.
      await h.waitForLogs([id]);
    }
    const s = await tenantState(h.owner, t.id);
    expect(s.payments.find((p) => p.category === 'payment_plan')).toMatchObject({ status: 'overdue' });
  });

  it('a refund is a negative payment with payment_refunded', async () => {
    const t = await h.makeTenant();
    tenantIds.push(t.id);
    const mc = await h.deliver(t.id, 'manychat', {
      subscriber: { id: '77', first_name: 'Dana', email: 'dana.k@example.com', custom_fields: { MCB_LEAD: true } },
      event_type: 'contact_created',
    });
    await h.waitForLogs([mc]);
    const paid = await h.deliver(t.id, 'stripe', fixture('stripe', 'checkout-session-completed-full'));
    const refund = await h.deliver(t.id, 'stripe', fixture('stripe', 'charge-refunded'));
    await h.waitForLogs([paid, refund]);
    const s = await tenantState(h.owner, t.id);
    expect(s.payments.map((p) => [p.category, p.amount_cents])).toEqual([
      ['full_purchase', 240000],
      ['refund', -240000],
    ]);
    expect(s.events.filter((e) => e.event_type === 'payment_refunded')).toHaveLength(1);
    expect(s.contacts[0]?.stage).toBe('purchased');
  });

  it('a person split across ManyChat and GHL is merged when an event links them', async () => {
    const t = await h.makeTenant();
    tenantIds.push(t.id);
    const mc = await h.deliver(t.id, 'manychat', fixture('manychat', 'contact-created'));
    const ghlAlone = clone(fixture('ghl', 'workflow-form-filled')) as Record<string, unknown> & { customData: Record<string, unknown> };
    ghlAlone.customData = { ...ghlAlone.customData, MC_ID: undefined };
    ghlAlone.phone = '+15559990000';
    const g1 = await h.deliver(t.id, 'ghl', ghlAlone);
    await h.waitForLogs([mc, g1]);
    expect((await tenantState(h.owner, t.id)).contacts).toHaveLength(2);
    const booked = clone(fixture('ghl', 'workflow-stage-dc-booked')) as Record<string, unknown> & { customData?: Record<string, unknown> };
    booked.contact_id = ghlAlone.contact_id;
    booked.customData = { ...(booked.customData ?? {}), MC_ID: '1029384756' };
    const link = await h.deliver(t.id, 'ghl', booked);
    await h.waitForLogs([link]);
    const s = await tenantState(h.owner, t.id);
    expect(s.contacts).toHaveLength(1);
    expect(s.contacts[0]).toMatchObject({ mc_id: '1029384756', ghl_id: 'nmFmQEsNgz6AVpgLVUJ0', stage: 'meeting_booked' });
    expect(new Set(s.events.map((e) => e.contact_id))).toEqual(new Set([s.contacts[0]!.id]));
    const merged = await h.owner.sql`select merged_into_id from contacts where tenant_id = ${t.id} and merged_into_id is not null`;
    expect(merged).toHaveLength(1);
  });

  it('ManyChat {subscriber_id} only: fetches the subscriber with the tenant api_key (retrying a 503)', async () => {
    const seen: Array<{ url: string; auth?: string }> = [];
    const getInfo = fixture('manychat', 'getinfo-response');
    answerManyChat = (url, auth) => {
      seen.push({ url, auth });
      return seen.length === 1 ? { status: 503, body: { status: 'error' } } : { status: 200, body: getInfo };
    };
    const t = await h.makeTenant({}, { manychat: { api_key: 'mc-test-key-123' } });
    tenantIds.push(t.id);
    const id = await h.deliver(t.id, 'manychat', fixture('manychat', 'subscriber-id-only'));
    expect((await h.waitForLogs([id]))[0]).toMatchObject({ status: 'processed' });
    expect(seen).toHaveLength(2);
    expect(seen[1]?.auth).toBe('Bearer mc-test-key-123');
    expect(seen[1]?.url).toContain('/fb/subscriber/getInfo?subscriber_id=');
    const s = await tenantState(h.owner, t.id);
    expect(s.contacts).toHaveLength(1);
    expect(s.contacts[0]?.mc_id).toBeTruthy();
  });

  it('ManyChat {subscriber_id} only without an api_key: failed once, with the command that adds it', async () => {
    const t = await h.makeTenant({}, { manychat: {} });
    tenantIds.push(t.id);
    const id = await h.deliver(t.id, 'manychat', fixture('manychat', 'subscriber-id-only'));
    const [log] = await h.waitForLogs([id]);
    expect(log).toMatchObject({ status: 'failed' });
    expect(log?.error_message).toContain(`mcb integration set ${t.slug} manychat --credentials '{"api_key":"…"}'`);
  });

  it('invalid payload → failed without retry; unknown event type → ignored with the reason', async () => {
    const t = await h.makeTenant();
    tenantIds.push(t.id);
    const bad = await h.deliver(t.id, 'stripe', { hello: 'world' });
    const unknown = await h.deliver(t.id, 'manychat', fixture('manychat', 'unknown-event'));
    const logs = await h.waitForLogs([bad, unknown]);
    expect(logs[0]).toMatchObject({ status: 'failed' });
    expect(logs[0]?.error_message).toBeTruthy();
    expect(logs[1]).toMatchObject({ status: 'ignored' });
    expect(logs[1]?.error_message).toBeTruthy();
    const [row] = await h.owner.sql`select attempts from webhook_logs where id = ${bad}`;
    expect(row?.attempts).toBe(1);
    const job = await h.enqueuer.queueFor(t.id).getJob(`log-${bad}`);
    expect(await settledJobState(job, 'failed')).toBe('failed');
  });

  it('replaying every processed log twice changes no row in contacts, funnel_events or payments', async () => {
    const rows = async () => ({
      contacts: [
        ...(await h.owner.sql`select to_jsonb(c) j from contacts c where tenant_id = any(${tenantIds}::uuid[]) order by tenant_id, id`),
      ],
      events: [
        ...(await h.owner
          .sql`select to_jsonb(f) j from funnel_events f where tenant_id = any(${tenantIds}::uuid[]) order by tenant_id, id`),
      ],
      payments: [
        ...(await h.owner.sql`select to_jsonb(p) j from payments p where tenant_id = any(${tenantIds}::uuid[]) order by tenant_id, id`),
      ],
    });
    const before = await rows();
    expect(before.contacts.length).toBeGreaterThan(5);
    const logs = await h.owner.sql<{ id: number; tenant_id: string; attempts: number }[]>`
      select id, tenant_id, attempts from webhook_logs where tenant_id = any(${tenantIds}::uuid[]) and status = 'processed' order by id`;
    expect(logs.length).toBeGreaterThan(15);
    for (const replay of [1, 2]) {
      // A rerun of a job still active is a no-op (its row is final a moment before BullMQ moves it).
      for (const l of logs)
        expect(await settledJobState(await h.enqueuer.queueFor(l.tenant_id).getJob(`log-${l.id}`), 'completed')).toBe('completed');
      await h.enqueuer.rerun(logs.map((l) => ({ tenantId: l.tenant_id, logId: l.id })));
      // Wait until every replayed log has been processed again (attempts grew by one per replay).
      const processedAgain = async () => {
        const [r] = await h.owner.sql<{ n: number }[]>`
          select count(*)::int as n from webhook_logs w
          join unnest(${logs.map((l) => l.id)}::int8[], ${logs.map((l) => l.attempts)}::int[]) as b(id, attempts) on b.id = w.id
          where w.status = 'processed' and w.attempts >= b.attempts + ${replay}`;
        return r!.n;
      };
      const done = await pollUntil(processedAgain, (n) => n === logs.length, { timeoutMs: 30_000, intervalMs: 100 });
      expect(done, `replay ${replay}: logs done`).toBe(logs.length);
    }
    expect(await rows()).toEqual(before);
  });

  it('serves /healthz, /readyz and processing metrics', async () => {
    const base = `http://127.0.0.1:${runtime.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, postgres: 'ok', queue: 'ok' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/mcb_worker_webhook_jobs_total\{tenant="[0-9a-f-]+",source="manychat",outcome="processed"\} \d+/);
    expect(metrics).toContain('mcb_worker_webhook_end_to_end_seconds_bucket');
    expect(metrics).toMatch(/mcb_worker_tenant_queues \d+/);
  });
});
