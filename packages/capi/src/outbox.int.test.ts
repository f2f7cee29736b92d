import { Writable } from 'node:stream';
import { createDatabase, type Database, withTenantSql } from '@mcb/db';
import { MetaRateLimited, MetaTokenExpired } from '@mcb/meta';
import { createTenantContextLoader, type TenantContextLoaderHandle } from '@mcb/tenancy';
import { testEnv } from '@mcb/testing';
import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CapiTenant, createCapiTenant, person, seedEvents, testKeyring } from '../test/factories';
import { capiLastError, loadCapiTarget } from './integration';
import { runCapiSend } from './outbox';
import { getCapiStatus } from './status';
import { sendCapiTestEvents } from './test-send';

const keyring = testKeyring();
let app: Database;
let admin: Database;
let loader: TenantContextLoaderHandle;
let fake: FakeGraph;
const tenants: CapiTenant[] = [];

async function tenant(credentials: Record<string, unknown> = {}): Promise<CapiTenant> {
  const t = await createCapiTenant(admin, keyring, credentials);
  tenants.push(t);
  return t;
}

beforeAll(async () => {
  const { databaseUrl } = testEnv();
  app = createDatabase({ url: databaseUrl, role: 'app', max: 6 });
  admin = createDatabase({ url: databaseUrl, role: 'admin', max: 3 });
  loader = createTenantContextLoader({ admin, keyring, listen: false });
  fake = await startFakeGraph({ accounts: [] });
});

afterAll(async () => {
  await fake?.close();
  await loader?.close();
  await Promise.all([app?.close(), admin?.close()]);
});

const settings = () => ({ graphUrl: fake.url, apiVersion: 'v25.0', retryBaseMs: 5, maxRetries: 2 });

/** A tenant whose dataset the fake knows. */
async function capiTenant(credentials: Record<string, unknown> = {}) {
  const t = await tenant(credentials);
  fake.addDataset(t.datasetId, t.token);
  return t;
}

async function send(t: CapiTenant, extra: Partial<Parameters<typeof runCapiSend>[0]> = {}) {
  loader.invalidate();
  return runCapiSend({ database: app, target: await loadCapiTarget(loader, t.id), settings: settings(), ...extra });
}

async function rows(tenantId: string) {
  return withTenantSql(
    app.sql,
    tenantId,
    (tx) =>
      tx<
        {
          funnel_event_id: string;
          event_name: string;
          status: string;
          reason: string | null;
          events_received: number | null;
          fbtrace_id: string | null;
          claimed_at: Date | null;
          attempts: number;
        }[]
      >`select funnel_event_id, event_name, status, reason, events_received, fbtrace_id, claimed_at, attempts from capi_sends order by id`,
  );
}

const requestsTo = (t: CapiTenant) => fake.requests.filter((r) => r.dataset === t.datasetId);

/** Every (event_name, event_id) the fake accepted for a dataset, with how often. */
function received(t: CapiTenant) {
  const counts = new Map<string, number>();
  for (const e of fake.capiEvents(t.datasetId)) {
    const key = `${e.event.event_name}|${e.event.event_id}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe('runCapiSend against the fake Graph API', () => {
  it('batches up to 1,000 events per request, records Meta’s answer per row, and sends nothing twice', async () => {
    const t = await capiTenant();
    const seeded = await seedEvents(admin, t.id, 2_500);
    const first = await send(t);
    expect(first).toMatchObject({ sent: 2_500, skipped: 0, failed: 0, eventsReceived: 2_500, requests: 3 });
    expect(
      requestsTo(t)
        .map((r) => r.eventCount)
        .sort(),
    ).toEqual([1_000, 1_000, 500].sort());
    const got = received(t);
    expect(got.size).toBe(2_500);
    expect([...got.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(seeded.map((s) => `Lead|${s.sourceEventId}`))).toEqual(new Set(got.keys()));
    const stored = await rows(t.id);
    expect(stored).toHaveLength(2_500);
    expect(stored.every((r) => r.status === 'sent' && r.event_name === 'Lead' && r.claimed_at === null && r.attempts === 1)).toBe(true);
    expect(new Set(stored.map((r) => r.events_received))).toEqual(new Set([1_000, 500]));
    expect(stored.every((r) => r.fbtrace_id?.startsWith('AFake'))).toBe(true);

    const again = await send(t);
    expect(again).toMatchObject({ sent: 0, requests: 0 });
    expect(requestsTo(t)).toHaveLength(3);
  });

  it('a Purchase carries the payment’s value (a plan at its whole contract value); Lead once per person', async () => {
    const t = await capiTenant({ events: { appointment_scheduled: 'Schedule' } });
    const [stripe, plan] = await seedEvents(admin, t.id, 2, { eventType: 'appointment_scheduled', source: 'ghl', tag: 'pv' });
    const at = new Date(Date.now() - 600_000);
    await admin.sql`
      insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, currency, status, paid_at, denefits_contract_code)
      values (${t.id}, ${stripe!.contactId}, 'cs_1', 'stripe', 'buy_in_full', 'full_purchase', 199900, 'usd', 'paid', ${at}, null),
             (${t.id}, ${plan!.contactId}, 'DNF9_plan', 'denefits', 'buy_now_pay_later', 'payment_plan', 450000, 'usd', 'active', ${at}, 'DNF9'),
             (${t.id}, ${plan!.contactId}, 'DNF9_downpayment', 'denefits', 'buy_now_pay_later', 'downpayment', 50050, 'usd', 'paid', ${at}, 'DNF9')`;
    await admin.sql`
      insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id, data)
      values (${t.id}, ${stripe!.contactId}, 'purchase_completed', ${at}, 'stripe', 'payment:cs_1', ${admin.sql.json({ payment_event_id: 'cs_1' })}),
             (${t.id}, ${plan!.contactId}, 'payment_plan_created', ${at}, 'denefits', 'payment:DNF9_plan', ${admin.sql.json({ payment_event_id: 'DNF9_plan' })})`;
    const r = await send(t);
    expect(r).toMatchObject({ sent: 6, failed: 0, skipped: 0 });
    const events = fake.capiEvents(t.datasetId).map((e) => e.event);
    const byKey = Object.fromEntries(events.map((e) => [`${e.event_name}|${e.event_id}`, e]));
    expect(Object.keys(byKey).sort()).toEqual(
      [
        'Lead|pv-evt-0',
        'Lead|pv-evt-1',
        'Purchase|payment:DNF9_plan',
        'Purchase|payment:cs_1',
        'Schedule|pv-evt-0',
        'Schedule|pv-evt-1',
      ].sort(),
    );
    expect(byKey['Purchase|payment:cs_1']?.custom_data).toMatchObject({ value: 1999, currency: 'USD' });
    expect(byKey['Purchase|payment:DNF9_plan']?.custom_data).toMatchObject({ value: 5000.5, currency: 'USD' });
    expect(byKey['Purchase|payment:cs_1']?.action_source).toBe('system_generated');
  });

  it('a rate limit stops the run and releases its claims; the next run sends the rest, each event once', async () => {
    const t = await capiTenant();
    await seedEvents(admin, t.id, 2_200, { tag: 'rl' });
    let n = 0;
    fake.failWhen((r) => r.dataset === t.datasetId && ++n === 2, { kind: 'rate-limit', code: 80004, resetSeconds: 2 });
    // One pipeline, so "the second request" is the second batch.
    const err = await send(t, { settings: { ...settings(), concurrency: 1 } }).catch((e) => e);
    expect(err).toBeInstanceOf(MetaRateLimited);
    expect(err.waitMs).toBe(2_000);
    let stored = await rows(t.id);
    expect(stored.filter((r) => r.status === 'sent')).toHaveLength(1_000);
    // The throttled batch is pending and unclaimed: nothing waits for a lease to lapse.
    expect(stored.filter((r) => r.status === 'pending' && r.claimed_at === null)).toHaveLength(1_000);
    const rest = await send(t);
    expect(rest).toMatchObject({ sent: 1_200, failed: 0 });
    stored = await rows(t.id);
    expect(stored.every((r) => r.status === 'sent')).toBe(true);
    const got = received(t);
    expect(got.size).toBe(2_200);
    expect([...got.values()].every((c) => c === 1)).toBe(true);
  });

  it('an expired token (190): nothing accepted, claims released, recorded as token_expired', async () => {
    const t = await capiTenant();
    await seedEvents(admin, t.id, 10, { tag: 'exp' });
    fake.failWhen((r) => r.dataset === t.datasetId, { kind: 'token-expired' }, 1);
    const err = await send(t).catch((e) => e);
    expect(err).toBeInstanceOf(MetaTokenExpired);
    expect(capiLastError(err)).toMatch(/^token_expired: .*190/);
    expect(fake.capiEvents(t.datasetId)).toHaveLength(0);
    expect((await rows(t.id)).every((r) => r.status === 'pending' && r.claimed_at === null)).toBe(true);
    expect((await send(t)).sent).toBe(10);
  });

  it('an event Meta refuses is isolated by halving the batch and marked failed; the others are sent', async () => {
    const t = await capiTenant();
    const seeded = await seedEvents(admin, t.id, 40, { tag: 'bad' });
    const bad = seeded[17]!.sourceEventId;
    fake.refuseEvents((e) => e.event_id === bad, 'custom_data.value must be positive');
    const r = await send(t);
    expect(r).toMatchObject({ sent: 39, failed: 1 });
    // 1 + 2·⌈log2 40⌉ requests at most: the good halves go through as soon as they are split off.
    expect(requestsTo(t).length).toBeLessThanOrEqual(13);
    const stored = await rows(t.id);
    const failed = stored.filter((x) => x.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ funnel_event_id: seeded[17]!.funnelEventId, fbtrace_id: 'AFakeTraceId' });
    expect(failed[0]?.reason).toMatch(/Meta refused the event: .*code 100/);
    expect(received(t).size).toBe(39);
    expect((await send(t)).requests).toBe(0);
  });

  it('events past Meta’s 7-day window are recorded as skipped with a reason and never posted', async () => {
    const t = await capiTenant();
    await seedEvents(admin, t.id, 5, { tag: 'old', occurredAt: new Date(Date.now() - 8 * 24 * 3600_000) });
    const r = await send(t);
    expect(r).toMatchObject({ sent: 0, skipped: 5, requests: 0 });
    const stored = await rows(t.id);
    expect(stored.every((x) => x.status === 'skipped' && /7 days/.test(x.reason ?? ''))).toBe(true);
    expect(await getCapiStatus(app, t.id)).toMatchObject({ sent: 0, skipped: 5, failed: 0, pending: 0 });
  });

  it('a claim left by a crashed sender is taken over after the lease; a live claim is not', async () => {
    const t = await capiTenant();
    await seedEvents(admin, t.id, 3, { tag: 'lease' });
    // A sender claims the rows and dies before posting: simulate by a throttled run whose release is undone.
    fake.failWhen((r) => r.dataset === t.datasetId, { kind: 'rate-limit', resetSeconds: 1 }, 1);
    await send(t).catch(() => {});
    await admin.sql`update capi_sends set claimed_at = now() where tenant_id = ${t.id}`;
    expect((await send(t)).sent).toBe(0);
    await admin.sql`update capi_sends set claimed_at = now() - interval '11 minutes' where tenant_id = ${t.id}`;
    const r = await send(t);
    expect(r.sent).toBe(3);
    expect((await rows(t.id)).every((x) => x.status === 'sent' && x.attempts === 2)).toBe(true);
  });

  it('two senders racing on one tenant never send an event twice', async () => {
    const t = await capiTenant();
    await seedEvents(admin, t.id, 3_000, { tag: 'race' });
    const [a, b] = await Promise.all([
      send(t, { settings: { ...settings(), batchSize: 250 } }),
      send(t, { settings: { ...settings(), batchSize: 250 } }),
    ]);
    expect(a.sent + b.sent).toBe(3_000);
    const got = received(t);
    expect(got.size).toBe(3_000);
    expect([...got.values()].every((c) => c === 1)).toBe(true);
  });

  it('tenant isolation: each dataset gets only its tenant’s events, each request its tenant’s token', async () => {
    const a = await capiTenant();
    const b = await capiTenant();
    const ea = await seedEvents(admin, a.id, 30, { tag: 'isoa' });
    const eb = await seedEvents(admin, b.id, 20, { tag: 'isob' });
    await Promise.all([send(a), send(b)]);
    // The fake answers 190 to a token that is not the dataset's own: none happened.
    expect(fake.requests.filter((r) => (r.dataset === a.datasetId || r.dataset === b.datasetId) && r.method === 'POST')).toHaveLength(2);
    expect(new Set(fake.capiEvents(a.datasetId).map((e) => e.event.event_id))).toEqual(new Set(ea.map((e) => e.sourceEventId)));
    expect(new Set(fake.capiEvents(b.datasetId).map((e) => e.event.event_id))).toEqual(new Set(eb.map((e) => e.sourceEventId)));
    // Every request to a dataset presented that dataset's own token, and each target is its tenant's.
    const posts = fake.requests.filter((r) => r.dataset === a.datasetId || r.dataset === b.datasetId);
    expect(posts.every((r) => r.tokenOf === r.dataset)).toBe(true);
    expect(await loadCapiTarget(loader, b.id)).toMatchObject({ tenantId: b.id, datasetId: b.datasetId, accessToken: b.token });
  });

  it('logs and error messages carry no token and no unhashed personal data', async () => {
    const t = await capiTenant();
    await seedEvents(admin, t.id, 5, { tag: 'logs' });
    const lines: string[] = [];
    const log = pino(
      { level: 'trace' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    fake.failWhen((r) => r.dataset === t.datasetId, { kind: 'server-error' }, 1);
    fake.failWhen((r) => r.dataset === t.datasetId, { kind: 'token-expired' }, 1);
    const err = await send(t, { log }).catch((e) => e);
    await send(t, { log });
    const text = lines.join('') + String(err?.message) + capiLastError(err);
    expect(lines.length).toBeGreaterThan(0);
    expect(text).not.toContain(t.token);
    for (let i = 0; i < 5; i++) {
      const p = person(i, 'logs');
      for (const value of [p.email, p.phone, p.phone.slice(1), p.firstName, p.lastName]) expect(text).not.toContain(value);
    }
    // What left the process: hashed only.
    const bodies = fake.capiBodies.filter((b) => b.includes('logs-evt-'));
    expect(bodies.length).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      const p = person(i, 'logs');
      for (const value of [p.email, p.phone.slice(1), p.firstName.toLowerCase(), p.lastName.toLowerCase()])
        for (const b of bodies) expect(b.toLowerCase()).not.toContain(value.toLowerCase());
    }
  });

  // A reviewer (stop 28): `mcb capi test` took the first 500 events of the 7-day window, oldest first,
  // and sent the last 5 of those: with more than 500 events it sent week-old ones.
  it('mcb capi test sends the most recent events, however many older ones the window holds', async () => {
    const t = await capiTenant({ test_event_code: 'TEST777' });
    const sixDaysAgo = new Date(Date.now() - 6 * 24 * 3_600_000);
    await seedEvents(admin, t.id, 520, { tag: 'old', occurredAt: sixDaysAgo, createdAt: () => sixDaysAgo });
    await seedEvents(admin, t.id, 20, { tag: 'new', occurredAt: new Date(Date.now() - 60_000) });
    loader.invalidate();
    const result = await sendCapiTestEvents({ database: app, target: await loadCapiTarget(loader, t.id), settings: settings(), limit: 5 });
    expect(result).toMatchObject({ synthetic: false });
    const ids = fake.capiEvents(t.datasetId).map((e) => e.event.event_id);
    expect(ids).toHaveLength(5);
    for (const id of ids) expect(id).toMatch(/^new-evt-/);
  });
});
