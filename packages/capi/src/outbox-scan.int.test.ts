import { randomUUID } from 'node:crypto';
import { createDatabase, type Database, withTenantSql } from '@mcb/db';
import { type GraphClient, graphClientFor } from '@mcb/meta';
import { createTenantContextLoader, setIntegration, type TenantContextLoaderHandle } from '@mcb/tenancy';
import { pagesReadUnderTenant, type SentStatement, testEnv } from '@mcb/testing';
import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CapiTenant, createCapiTenant, seedEvents, testKeyring } from '../test/factories';
import { loadCapiTarget } from './integration';
import { runCapiSend } from './outbox';
import { getCapiStatus, replayCapiSends } from './status';

// The outbox scan of a tenant whose recent events were all sent already (ADR 0017, scan mark): what a
// run with nothing to send reads, and that the mark never makes an event unsent or sent twice.

const keyring = testKeyring();
let app: Database;
let traced: Database;
let admin: Database;
let loader: TenantContextLoaderHandle;
let fake: FakeGraph;
let recording: SentStatement[] | null = null;

beforeAll(async () => {
  const { databaseUrl } = testEnv();
  app = createDatabase({ url: databaseUrl, role: 'app', max: 6 });
  traced = createDatabase({ url: databaseUrl, role: 'app', max: 6, onQuery: (text, params) => recording?.push({ text, params }) });
  admin = createDatabase({ url: databaseUrl, role: 'admin', max: 3 });
  loader = createTenantContextLoader({ admin, keyring, listen: false });
  fake = await startFakeGraph({ accounts: [] });
});

afterAll(async () => {
  await fake?.close();
  await loader?.close();
  await Promise.all([app?.close(), traced?.close(), admin?.close()]);
});

const settings = () => ({ graphUrl: fake.url, apiVersion: 'v25.0', retryBaseMs: 5, maxRetries: 2 });

async function capiTenant(credentials: Record<string, unknown> = {}): Promise<CapiTenant> {
  const t = await createCapiTenant(admin, keyring, credentials);
  fake.addDataset(t.datasetId, t.token);
  return t;
}

/** One run on the statement-recording pool: its result and every statement it sent. */
async function send(t: CapiTenant) {
  loader.invalidate();
  const target = await loadCapiTarget(loader, t.id);
  const statements: SentStatement[] = [];
  recording = statements;
  try {
    return { result: await runCapiSend({ database: traced, target, settings: settings() }), statements };
  } finally {
    recording = null;
  }
}

// The outbox's scan statement runs with these (a forced ordered index range scan); replayed the same way.
const scanSettings = { enable_sort: 'off', enable_bitmapscan: 'off', jit: 'off' };

/** Pages the run's reads (SELECTs) take when replayed under the tenant, one figure per statement. */
async function pagesOfReads(tenantId: string, statements: SentStatement[]): Promise<number[]> {
  const reads = statements.filter((s) => /^\s*select\b/i.test(s.text) && !/set_config\(/.test(s.text));
  const pages: number[] = [];
  for (const s of reads)
    pages.push(await pagesReadUnderTenant(app.sql, tenantId, s, /order by funnel_events\.tenant_id/.test(s.text) ? scanSettings : {}));
  return pages;
}

/** Backdates a tenant's funnel events, as if recorded an hour or two ago (earlier runs sent them). */
const backdate = (tenantId: string, interval: string) =>
  admin.sql`update funnel_events set created_at = now() - ${interval}::interval where tenant_id = ${tenantId}`;

/** (event_name|event_id) → how often the fake accepted it. */
function received(t: CapiTenant) {
  const counts = new Map<string, number>();
  for (const e of fake.capiEvents(t.datasetId)) {
    const key = `${e.event.event_name}|${e.event.event_id}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('the outbox scan mark', () => {
  it('a run with nothing to send reads no more pages for 5,000 events sent before than for 1,000', async () => {
    /** Pages read by a run with nothing to send, for a tenant whose `n` events (one per 10 s) were all sent. */
    async function idlePages(n: number): Promise<number> {
      const t = await capiTenant();
      const newest = Date.now() - 3_600_000;
      await seedEvents(admin, t.id, n, { tag: `idle${n}`, createdAt: (i) => new Date(newest - (n - i) * 10_000) });
      await admin.sql`analyze funnel_events`;
      expect((await send(t)).result).toMatchObject({ sent: n, failed: 0 });
      const idle = await send(t);
      expect(idle.result).toMatchObject({ sent: 0, skipped: 0, requests: 0 });
      return sum(await pagesOfReads(t.id, idle.statements));
    }
    const small = await idlePages(1_000);
    const large = await idlePages(5_000);
    // A rescan reads every event of the 8 days again (index range + a probe per event per table): ~20
    // pages per event. From the mark, a run re-reads only the events of the settle window (60 here).
    // (Measured: 289 and 6,753 pages before the mark; 420 and 492–549 with it.)
    expect(large).toBeLessThan(small * 2);
    expect(large).toBeLessThan(2_000);
  });

  it('events recorded after the mark are sent once, and so is one whose transaction began before it', async () => {
    const t = await capiTenant();
    const old = await seedEvents(admin, t.id, 300, { tag: 'm0' });
    await backdate(t.id, '2 hours');
    expect((await send(t)).result.sent).toBe(300);

    const fresh = await seedEvents(admin, t.id, 20, { tag: 'm1' });
    expect((await send(t)).result).toMatchObject({ sent: 20, failed: 0 });

    // A transaction that began 3 minutes ago commits now: its created_at is older than the mark.
    const late = await seedEvents(admin, t.id, 5, { tag: 'm2' });
    await admin.sql`update funnel_events set created_at = now() - interval '3 minutes'
      where tenant_id = ${t.id} and id = any(${late.map((e) => e.funnelEventId)}::uuid[])`;
    expect((await send(t)).result).toMatchObject({ sent: 5, failed: 0 });
    expect((await send(t)).result).toMatchObject({ sent: 0, requests: 0 });

    const got = received(t);
    expect(new Set(got.keys())).toEqual(new Set([...old, ...fresh, ...late].map((e) => `Lead|${e.sourceEventId}`)));
    expect([...got.values()].every((n) => n === 1)).toBe(true);
    const [row] = await withTenantSql(app.sql, t.id, (tx) => tx<{ n: number }[]>`select count(*)::int as n from capi_sends`);
    expect(row?.n).toBe(325);
  });

  it('a new event mapping plans the events of the scan window again (already examined under the old one)', async () => {
    const t = await capiTenant();
    const seeded = await seedEvents(admin, t.id, 30, { tag: 'map', eventType: 'appointment_scheduled' });
    await backdate(t.id, '2 hours');
    expect((await send(t)).result.sent).toBe(30);
    expect((await send(t)).result.sent).toBe(0);
    await setIntegration(admin, keyring, {
      slug: t.slug,
      provider: 'meta_capi',
      credentials: { dataset_id: t.datasetId, access_token: t.token, events: { appointment_scheduled: 'Schedule' } },
    });
    expect((await send(t)).result).toMatchObject({ sent: 30, failed: 0 });
    const got = received(t);
    expect(seeded.every((e) => got.get(`Schedule|${e.sourceEventId}`) === 1 && got.get(`Lead|${e.sourceEventId}`) === 1)).toBe(true);
  });

  it('mcb capi replay of an event behind the mark plans it again', async () => {
    const t = await capiTenant();
    const seeded = await seedEvents(admin, t.id, 10, { tag: 'rp' });
    await backdate(t.id, '2 hours');
    const bad = seeded[3]!.sourceEventId;
    let refusing = true;
    fake.refuseEvents((e) => refusing && e.event_id === bad, 'event_time is invalid');
    expect((await send(t)).result).toMatchObject({ sent: 9, failed: 1 });
    expect((await send(t)).result.requests).toBe(0);
    refusing = false;
    expect((await replayCapiSends(app, t.id)).count).toBe(1);
    expect((await send(t)).result).toMatchObject({ sent: 1, failed: 0 });
    expect(received(t).get(`Lead|${bad}`)).toBe(1);
  });

  it('mcb capi replay while a send is in flight: the replayed event is sent by a later run', async () => {
    // The run in flight examined the page before the replay forgot the event; saving its position then
    // carried the mark past it again and no run sent it (reviewer). The replay bumps the mark's
    // generation: a run that started from another generation does not save.
    const t = await capiTenant();
    const seeded = await seedEvents(admin, t.id, 10, { tag: 'rif', createdAt: () => new Date(Date.now() - 2 * 3_600_000) });
    const bad = seeded[3]!.sourceEventId;
    let refusing = true;
    fake.refuseEvents((e) => refusing && e.event_id === bad, 'event_time is invalid');
    expect((await send(t)).result).toMatchObject({ sent: 9, failed: 1 });
    refusing = false;
    await seedEvents(admin, t.id, 1, { tag: 'riffresh' });
    loader.invalidate();
    const target = await loadCapiTarget(loader, t.id);
    const real = graphClientFor(settings(), target.accessToken, {});
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let posting!: () => void;
    const posted = new Promise<void>((r) => {
      posting = r;
    });
    // A run whose request to Meta is held until the replay is done.
    const held = Object.create(real) as GraphClient;
    held.post = async (path, body) => {
      posting();
      await gate;
      return real.post(path, body);
    };
    const inFlight = runCapiSend({ database: app, target, settings: settings(), client: held });
    await posted;
    expect((await replayCapiSends(app, t.id)).count).toBe(1);
    release();
    expect((await inFlight).sent).toBe(1);
    await send(t);
    const leads = fake.capiEvents(t.datasetId).filter((e) => e.event.event_name === 'Lead' && e.event.event_id === bad);
    expect(leads).toHaveLength(1);
  });

  // Reviewer (stop 28): a Lead was planned again on the person's earliest event — with an earlier
  // event arrived since the send, that is another event_id, and Meta counts a second Lead.
  it('mcb capi replay --status sent: a Lead goes out again with its event_id, though an earlier event of the person arrived since', async () => {
    const t = await capiTenant();
    const [seed] = await seedEvents(admin, t.id, 1, { tag: 'lr', occurredAt: new Date(Date.now() - 3_600_000) });
    expect((await send(t)).result).toMatchObject({ sent: 1, failed: 0 });
    // The person's earlier event (a ManyChat subscription relayed late): now their first.
    await admin.sql`
      insert into funnel_events (tenant_id, id, contact_id, event_type, occurred_at, source, source_event_id)
      values (${t.id}, ${randomUUID()}, ${seed!.contactId}, 'link_clicked', now() - interval '2 hours', 'manychat', 'lr-earlier')`;
    expect((await send(t)).result).toMatchObject({ sent: 0, requests: 0 });
    expect(await replayCapiSends(app, t.id, { status: 'sent' })).toEqual({ count: 1, leadsResent: 1, tooOld: 0, pastWindow: 0 });
    expect((await send(t)).result).toMatchObject({ sent: 1, failed: 0 });
    const leads = fake.capiEvents(t.datasetId).filter((e) => e.event.event_name === 'Lead');
    expect(leads.map((e) => e.event.event_id)).toEqual([seed!.sourceEventId, seed!.sourceEventId]);
    expect((await send(t)).result).toMatchObject({ sent: 0, requests: 0 });
  });

  // A replayed `sent` row of an event past Meta's 7-day window could only come back `skipped`: the
  // record that Meta has it would be lost.
  it('mcb capi replay --status sent keeps sent rows whose event is past Meta’s window', async () => {
    const t = await capiTenant({ events: { contact_subscribed: 'Subscribe' } });
    const seeded = await seedEvents(admin, t.id, 2, { tag: 'pw', occurredAt: new Date(Date.now() - 6 * 24 * 3_600_000) });
    expect((await send(t)).result).toMatchObject({ sent: 4, failed: 0 });
    // A day later: one of the two people's events is now past the window.
    const aged = seeded[0]!.funnelEventId;
    await admin.sql`update funnel_events set occurred_at = occurred_at - interval '1 day' where id = ${aged}`;
    await admin.sql`update capi_sends set event_time = event_time - interval '1 day' where tenant_id = ${t.id} and funnel_event_id = ${aged}`;
    expect(await replayCapiSends(app, t.id, { status: 'sent', dryRun: true })).toEqual({
      count: 2,
      leadsResent: 1,
      tooOld: 0,
      pastWindow: 2,
    });
    expect(await replayCapiSends(app, t.id, { status: 'sent' })).toEqual({ count: 2, leadsResent: 1, tooOld: 0, pastWindow: 2 });
    expect((await send(t)).result).toMatchObject({ sent: 2, skipped: 0, failed: 0 });
    const statuses = await withTenantSql(app.sql, t.id, (tx) => tx<{ status: string }[]>`select status from capi_sends`);
    expect(statuses.map((r) => r.status)).toEqual(['sent', 'sent', 'sent', 'sent']);
    const got = received(t);
    expect(got.get(`Subscribe|${seeded[0]!.sourceEventId}`)).toBe(1);
    expect(got.get(`Lead|${seeded[0]!.sourceEventId}`)).toBe(1);
    expect(got.get(`Subscribe|${seeded[1]!.sourceEventId}`)).toBe(2);
    expect(got.get(`Lead|${seeded[1]!.sourceEventId}`)).toBe(2);
  });

  // Reviewer (stop 28): with a test_event_code every send went to Test Events only and was recorded as
  // sent — so the conversions of a test period never reached the dataset.
  it('events sent while the integration had a test_event_code are sent for real once the code is removed', async () => {
    const t = await capiTenant({ test_event_code: 'TEST42' });
    const seeded = await seedEvents(admin, t.id, 5, { tag: 'tm', createdAt: () => new Date(Date.now() - 2 * 3_600_000) });
    expect((await send(t)).result).toMatchObject({ sent: 5, failed: 0 });
    expect((await send(t)).result).toMatchObject({ sent: 0, requests: 0 });
    expect(fake.capiEvents(t.datasetId).every((e) => e.testEventCode === 'TEST42')).toBe(true);
    expect(await getCapiStatus(app, t.id)).toMatchObject({ sent: 5, sentToTestEvents: 5 });
    // One of them is past Meta's window by the time test mode ends: it can no longer reach the dataset.
    const aged = seeded[0]!.funnelEventId;
    await admin.sql`update capi_sends set event_time = now() - interval '8 days' where tenant_id = ${t.id} and funnel_event_id = ${aged}`;

    await setIntegration(admin, keyring, {
      slug: t.slug,
      provider: 'meta_capi',
      credentials: { dataset_id: t.datasetId, access_token: t.token },
    });
    expect((await send(t)).result).toMatchObject({ sent: 4, skipped: 1, failed: 0 });
    expect((await send(t)).result).toMatchObject({ sent: 0, requests: 0 });
    const production = fake.capiEvents(t.datasetId).filter((e) => e.testEventCode === null);
    expect(production.map((e) => e.event.event_id).sort()).toEqual(
      seeded
        .slice(1)
        .map((e) => e.sourceEventId)
        .sort(),
    );
    expect(await getCapiStatus(app, t.id)).toMatchObject({ sent: 4, skipped: 1, sentToTestEvents: 0 });
    const [old] = await withTenantSql(
      app.sql,
      t.id,
      (tx) => tx<{ status: string; reason: string }[]>`select status, reason from capi_sends where funnel_event_id = ${aged}`,
    );
    expect(old).toEqual({ status: 'skipped', reason: expect.stringContaining('Test Events only (test_event_code TEST42)') });
  });

  // Second reviewer: a Lead that reached the dataset, replayed while the integration had a test code (to
  // look at it in Test Events), went out again with that code and was recorded test-only; when the code
  // went, the release forgot it and planned it on the person's earliest event — with an earlier event
  // arrived since, another event_id: a second Lead in the dataset.
  it('a sent Lead replayed in test mode goes to the dataset with its own event_id when test mode ends: one Lead per person', async () => {
    const t = await capiTenant();
    const [seed] = await seedEvents(admin, t.id, 1, { tag: 'lrt', occurredAt: new Date(Date.now() - 3_600_000) });
    expect((await send(t)).result).toMatchObject({ sent: 1, failed: 0 });
    await admin.sql`
      insert into funnel_events (tenant_id, id, contact_id, event_type, occurred_at, source, source_event_id)
      values (${t.id}, ${randomUUID()}, ${seed!.contactId}, 'link_clicked', now() - interval '2 hours', 'manychat', 'lrt-earlier')`;
    const credentials = { dataset_id: t.datasetId, access_token: t.token };
    await setIntegration(admin, keyring, {
      slug: t.slug,
      provider: 'meta_capi',
      credentials: { ...credentials, test_event_code: 'TEST9' },
    });
    expect(await replayCapiSends(app, t.id, { status: 'sent' })).toMatchObject({ count: 1, leadsResent: 1 });
    expect((await send(t)).result).toMatchObject({ sent: 1, failed: 0 });
    await setIntegration(admin, keyring, { slug: t.slug, provider: 'meta_capi', credentials });
    await send(t);
    expect((await send(t)).result).toMatchObject({ sent: 0, requests: 0 });
    const production = fake.capiEvents(t.datasetId).filter((e) => e.event.event_name === 'Lead' && e.testEventCode === null);
    expect(new Set(production.map((e) => e.event.event_id))).toEqual(new Set([seed!.sourceEventId]));
  });

  // Guards the fix above: a test-only Lead whose person (contacts merged during test mode) has another
  // Lead is not sent as recorded — the person keeps one Lead in the dataset, whichever way they merged.
  it('when test mode ends, a test-only Lead of contacts merged since with one that has a Lead is not sent: one Lead per person', async () => {
    for (const loserFirst of [false, true]) {
      const t = await capiTenant();
      const at = (h: number) => new Date(Date.now() - h * 3_600_000);
      // `sent` has its Lead in the dataset; `test`'s Lead goes to Test Events only.
      const [sent] = await seedEvents(admin, t.id, 1, {
        tag: `mg${+loserFirst}s`,
        occurredAt: at(loserFirst ? 2 : 1),
        createdAt: () => at(3),
      });
      expect((await send(t)).result).toMatchObject({ sent: 1 });
      const credentials = { dataset_id: t.datasetId, access_token: t.token };
      await setIntegration(admin, keyring, {
        slug: t.slug,
        provider: 'meta_capi',
        credentials: { ...credentials, test_event_code: 'TEST8' },
      });
      const [test] = await seedEvents(admin, t.id, 1, { tag: `mg${+loserFirst}t`, occurredAt: at(loserFirst ? 1 : 2) });
      expect((await send(t)).result).toMatchObject({ sent: 1 });
      // The applier's merge: the loser points at the survivor, its events move to it.
      const [survivor, loser] = loserFirst ? [test!.contactId, sent!.contactId] : [sent!.contactId, test!.contactId];
      await admin.sql`update contacts set merged_into_id = ${survivor} where tenant_id = ${t.id} and id = ${loser}`;
      await admin.sql`update funnel_events set contact_id = ${survivor} where tenant_id = ${t.id} and contact_id = ${loser}`;
      await setIntegration(admin, keyring, { slug: t.slug, provider: 'meta_capi', credentials });
      await send(t);
      expect((await send(t)).result).toMatchObject({ sent: 0, requests: 0 });
      const production = fake.capiEvents(t.datasetId).filter((e) => e.event.event_name === 'Lead' && e.testEventCode === null);
      expect(production.map((e) => e.event.event_id)).toEqual([sent!.sourceEventId]);
    }
  });

  // Second reviewer: the release runs at the start of every run without a test code (every tenant, every
  // minute). Rows it marked skipped kept their code, so they stayed in capi_sends_test_idx and every later
  // run read each of them again (200,000 such rows: ~16,000 pages, ~0.9 s per run, measured).
  it('once test mode has ended, a run reads no more pages for the sends it released than for none', async () => {
    const t = await capiTenant({ test_event_code: 'TEST5' });
    await seedEvents(admin, t.id, 2_000, { tag: 'rc', createdAt: () => new Date(Date.now() - 2 * 3_600_000) });
    expect((await send(t)).result).toMatchObject({ sent: 2_000, failed: 0 });
    // Test mode lasted past Meta's window: none of them can reach the dataset any more.
    await admin.sql`update capi_sends set event_time = now() - interval '8 days' where tenant_id = ${t.id}`;
    await setIntegration(admin, keyring, {
      slug: t.slug,
      provider: 'meta_capi',
      credentials: { dataset_id: t.datasetId, access_token: t.token },
    });
    expect((await send(t)).result).toMatchObject({ sent: 0, skipped: 2_000 });
    // What autovacuum does in production (off on this machine): index entries of replaced row versions go.
    const owner = createDatabase({ url: testEnv().databaseUrl, role: 'owner', max: 1 });
    await owner.sql`vacuum capi_sends`.finally(() => owner.close());
    const idle = await send(t);
    expect(idle.result).toMatchObject({ sent: 0, skipped: 0, requests: 0 });
    const release = idle.statements.filter((s) => /test_event_code is not null/.test(s.text));
    expect(release.length).toBeGreaterThanOrEqual(2);
    const pages = [];
    for (const s of release) pages.push(await pagesReadUnderTenant(app.sql, t.id, s));
    expect(Math.max(...pages)).toBeLessThan(10);
  });

  it('the Lead’s "first event" of a person with thousands of events is one index probe per page', async () => {
    const t = await capiTenant();
    const [seed] = await seedEvents(admin, t.id, 1, { tag: 'busy', occurredAt: new Date(Date.now() - 2 * 3_600_000) });
    const ids = Array.from({ length: 3_000 }, () => randomUUID());
    // Many events at one instant too: ties are ordered by id.
    await admin.sql`
      insert into funnel_events (tenant_id, id, contact_id, event_type, occurred_at, source, source_event_id)
      select ${t.id}::uuid, u.id, ${seed!.contactId}::uuid, 'link_clicked', now() - interval '1 hour', 'manychat', 'busy-' || u.n
      from unnest(${ids}::uuid[]) with ordinality as u(id, n)`;
    await admin.sql`analyze funnel_events`;
    const first = await send(t);
    expect(first.result).toMatchObject({ sent: 1, failed: 0 });
    expect(received(t).get(`Lead|${seed!.sourceEventId}`)).toBe(1);
    const firsts = first.statements.filter((s) => /from funnel_events/.test(s.text) && /order by[\s\S]*occurred_at/.test(s.text));
    expect(firsts.length).toBeGreaterThanOrEqual(3);
    const pages = await pagesOfReads(t.id, firsts);
    expect(Math.max(...pages)).toBeLessThan(20);
  });
});
