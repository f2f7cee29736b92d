import { Writable } from 'node:stream';
import { createDatabase, type Database, withTenantSql } from '@mcb/db';
import { createTenantContextLoader, type TenantContextLoaderHandle } from '@mcb/tenancy';
import { testEnv } from '@mcb/testing';
import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetaTenant, type MetaTenant, testKeyring } from '../test/factories';
import { createGraphClient } from './client';
import { MetaBadResponse, MetaRateLimited, MetaSyncBudgetSpent } from './errors';
import { type MetaSyncCheckpoint, syncMetaAccount } from './sync';
import { loadMetaTarget, markMetaSyncSuccess, runTenantMetaSync } from './tenant-sync';
import { addDays, type DateRange, lookbackRange } from './window';

const keyring = testKeyring();
let app: Database;
let admin: Database;
let loader: TenantContextLoaderHandle;
let fake: FakeGraph;
let a: MetaTenant;
let b: MetaTenant;
let c: MetaTenant;
const ADS_A = 230;
const ADS_B = 40;

beforeAll(async () => {
  const { databaseUrl } = testEnv();
  app = createDatabase({ url: databaseUrl, role: 'app', max: 4 });
  admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
  loader = createTenantContextLoader({ admin, keyring, listen: false });
  a = await createMetaTenant(admin, keyring);
  b = await createMetaTenant(admin, keyring);
  c = await createMetaTenant(admin, keyring);
  fake = await startFakeGraph({
    accounts: [
      { adAccountId: a.adAccountId, token: a.token, ads: ADS_A },
      { adAccountId: b.adAccountId, token: b.token, ads: ADS_B },
      { adAccountId: c.adAccountId, token: c.token, ads: ADS_B },
    ],
    maxPageSize: 100,
  });
});

afterAll(async () => {
  await fake?.close();
  await loader?.close();
  await Promise.all([app?.close(), admin?.close()]);
});

const settings = () => ({ graphUrl: fake.url, apiVersion: 'v25.0', pageSize: 100, batchSize: 250, retryBaseMs: 5 });

async function counts(tenantId: string) {
  return withTenantSql(app.sql, tenantId, async (tx) => {
    const [row] = await tx<{ ads: number; creatives: number; insights: number; spend: number; days: number }[]>`
      select (select count(*) from meta_ads)::int as ads,
             (select count(*) from meta_ad_creatives)::int as creatives,
             (select count(*) from meta_ad_insights)::int as insights,
             (select coalesce(sum(spend_cents), 0) from meta_ad_insights)::int8 as spend,
             (select count(distinct date) from meta_ad_insights)::int as days`;
    return row as { ads: number; creatives: number; insights: number; spend: number; days: number };
  });
}

function expectedSpend(t: MetaTenant, range: DateRange): number {
  let sum = 0;
  for (const ad of fake.ads(t.adAccountId))
    for (let d = range.since; d <= range.until; d = addDays(d, 1)) sum += fake.spendCents(t.adAccountId, ad.id, d);
  return sum;
}

describe('syncMetaAccount against the fake Graph API', () => {
  it('follows every page: every ad (all statuses, creative expanded) and every ad-day, token only in the header', async () => {
    const target = await loadMetaTarget(loader, a.id);
    const range = lookbackRange(target.lookbackDays, target.timeZone);
    const before = fake.requests.length;
    const result = await runTenantMetaSync({ database: app, target, settings: settings(), range });
    const sent = fake.requests.slice(before);

    expect(result.ads).toBe(ADS_A);
    expect(result.insightRows).toBe(ADS_A * 28);
    const c = await counts(a.id);
    expect(c).toMatchObject({ ads: ADS_A, creatives: ADS_A, insights: ADS_A * 28, days: 28 });
    expect(c.spend).toBe(expectedSpend(a, range));
    // Many pages: 3 of ads, ≥ 65 of insights (28 days may straddle two months).
    expect(sent.filter((r) => r.edge === 'ads')).toHaveLength(3);
    expect(sent.filter((r) => r.edge === 'insights').length).toBeGreaterThanOrEqual(65);
    expect(sent.every((r) => !r.tokenInQuery && r.authorization === 'Bearer [redacted]')).toBe(true);
    const insight = sent.find((r) => r.edge === 'insights');
    expect(insight?.query).toMatchObject({ level: 'ad', time_increment: '1' });

    const statuses = await withTenantSql(
      app.sql,
      a.id,
      (tx) => tx<{ s: string }[]>`select distinct effective_status as s from meta_ads order by 1`,
    );
    expect(statuses.map((r) => r.s)).toEqual(expect.arrayContaining(['ARCHIVED', 'DELETED', 'PAUSED', 'ACTIVE']));
    const [ad] = await withTenantSql(
      app.sql,
      a.id,
      (tx) => tx<Record<string, unknown>[]>`
      select a.ad_name, a.adset_name, a.campaign_name, a.created_time, c.creative_id, c.title, c.media_type
      from meta_ads a join meta_ad_creatives c using (tenant_id, ad_id) where a.ad_id = ${fake.ads(a.adAccountId)[0]?.id ?? ''}`,
    );
    expect(ad).toMatchObject({ ad_name: 'Ad 0', media_type: 'video', title: 'Title 0' });
    expect(ad?.created_time).toEqual(new Date('2026-01-05T17:30:00.000Z'));
  });

  it('a restated day (changed spend) is updated in place, not duplicated', async () => {
    const target = await loadMetaTarget(loader, a.id);
    const range = lookbackRange(target.lookbackDays, target.timeZone);
    const adId = fake.ads(a.adAccountId)[5]?.id as string;
    const day = addDays(range.until, -2);
    fake.restate(a.adAccountId, adId, day, 123_456);
    await runTenantMetaSync({ database: app, target, settings: settings(), range });
    const rows = await withTenantSql(
      app.sql,
      a.id,
      (tx) => tx<{ spend_cents: number }[]>`
      select spend_cents from meta_ad_insights where ad_id = ${adId} and date = ${day}`,
    );
    expect(rows).toEqual([{ spend_cents: 123_456 }]);
    const c = await counts(a.id);
    expect(c.insights).toBe(ADS_A * 28);
    expect(c.spend).toBe(expectedSpend(a, range));
  });

  it('resumes from a checkpoint after a rate limit with no missing or duplicated rows', async () => {
    const target = await loadMetaTarget(loader, b.id);
    // 10 days in one month, whatever today is: 40 ads × 10 days, 8 insights pages at 50. A window ending today
    // straddled a month on the 1st–9th, and on the 8th and 9th its first month had 2 pages or fewer: the third
    // request (throttled) was then the second month's first, with no cursor to resume (failed CI, Dec 8).
    const range = { since: '2026-03-01', until: '2026-03-10' };
    const client = createGraphClient({ baseUrl: fake.url, version: 'v25.0', accessToken: b.token });
    let checkpoint: MetaSyncCheckpoint | null = null;
    // Third insights request is throttled.
    let seen = 0;
    fake.failWhen((r) => r.edge === 'insights' && r.path.includes(b.adAccountId) && ++seen === 3, {
      kind: 'rate-limit',
      code: 80004,
      resetSeconds: 2,
    });
    const run = (resumeFrom: MetaSyncCheckpoint | null) =>
      syncMetaAccount({
        database: app,
        client,
        tenantId: target.tenantId,
        adAccountId: target.adAccountId,
        range,
        resumeFrom,
        pageSize: 50,
        batchSize: 50,
        onCheckpoint: (cp) => {
          checkpoint = cp;
        },
      });
    const err = await run(null).catch((e) => e);
    expect(err).toBeInstanceOf(MetaRateLimited);
    expect((err as MetaRateLimited).waitMs).toBe(2_000);
    expect(checkpoint).toMatchObject({ phase: 'insights', after: expect.any(String) });
    const partial = await counts(b.id);
    expect(partial.insights).toBe(100);
    const adsRequestsBefore = fake.requests.filter((r) => r.edge === 'ads' && r.path.includes(b.adAccountId)).length;
    await run(checkpoint);
    // Resumed at the cursor: the ads edge was not fetched again.
    expect(fake.requests.filter((r) => r.edge === 'ads' && r.path.includes(b.adAccountId)).length).toBe(adsRequestsBefore);
    const c = await counts(b.id);
    expect(c).toMatchObject({ ads: ADS_B, insights: ADS_B * 10, days: 10 });
    expect(c.spend).toBe(expectedSpend(b, range));
  });

  it('a run whose time budget is spent commits what it read, saves a checkpoint and resumes from it; the page cap counts every run', async () => {
    // 40 ads × 10 days in one month: 1 page of ads, 8 of insights at limit 50.
    const range = { since: '2026-02-01', until: '2026-02-10' };
    const insightRequests = () => fake.requests.filter((r) => r.edge === 'insights' && r.path.includes(c.adAccountId)).length;
    const run = (resumeFrom: MetaSyncCheckpoint | null, budgetMs: number | undefined, maxPages?: number) => {
      // A clock that moves one second each time the budget is looked at (between pages): no real time involved.
      let ticks = 0;
      const checkpoints: MetaSyncCheckpoint[] = [];
      const result = syncMetaAccount({
        database: app,
        client: createGraphClient({ baseUrl: fake.url, version: 'v25.0', accessToken: c.token, maxPages }),
        tenantId: c.id,
        adAccountId: c.adAccountId,
        range,
        resumeFrom,
        pageSize: 50,
        batchSize: 1_000,
        budgetMs,
        now: () => 1_000 * ticks++,
        onCheckpoint: (cp) => void checkpoints.push(cp),
      });
      return { result, checkpoints };
    };
    const first = run(null, 5_500);
    const err = await first.result.catch((e) => e);
    expect(err).toBeInstanceOf(MetaSyncBudgetSpent);
    expect(err.message).toMatch(/budget \(META_SYNC_BUDGET_MS\) at page 6 of insights/);
    const cp = first.checkpoints.at(-1) as MetaSyncCheckpoint;
    expect(cp).toMatchObject({ phase: 'insights', chunk: 0, after: expect.any(String), pages: 6 });
    // Batches of 1,000 rows: nothing but the budget made this batch commit — its 300 rows are kept.
    expect(await counts(c.id)).toMatchObject({ ads: ADS_B, insights: 300 });
    expect(insightRequests()).toBe(6);

    const resumed = await run(cp, undefined).result;
    expect(resumed.insightRows).toBe(100);
    expect(insightRequests()).toBe(8);
    const done = await counts(c.id);
    expect(done).toMatchObject({ ads: ADS_B, insights: ADS_B * 10 });
    expect(done.spend).toBe(expectedSpend(c, range));

    // maxPages 5 with a budget of 3 pages a run: the resumed run stops at the edge's 5th page, not its 8th.
    const short = run(null, 2_500, 5);
    await expect(short.result).rejects.toBeInstanceOf(MetaSyncBudgetSpent);
    expect(short.checkpoints.at(-1)).toMatchObject({ pages: 3 });
    const capped = await run(short.checkpoints.at(-1) as MetaSyncCheckpoint, 2_500, 5).result.catch((e) => e);
    expect(capped).toBeInstanceOf(MetaBadResponse);
    expect(capped.reason).toBe('page_cap');
  });

  it('a resume cursor Meta no longer accepts restarts that part instead of failing', async () => {
    const target = await loadMetaTarget(loader, b.id);
    // 10 days in one month, whatever today is: 40 ads × 10 days, 8 insights pages at 50. A window ending today
    // straddled a month on the 1st–9th, and on the 8th and 9th its first month had 2 pages or fewer: the third
    // request (throttled) was then the second month's first, with no cursor to resume (failed CI, Dec 8).
    const range = { since: '2026-03-01', until: '2026-03-10' };
    const client = createGraphClient({ baseUrl: fake.url, version: 'v25.0', accessToken: b.token });
    const result = await syncMetaAccount({
      database: app,
      client,
      tenantId: target.tenantId,
      adAccountId: target.adAccountId,
      range,
      resumeFrom: { range, phase: 'insights', chunk: 0, after: 'expired-cursor' },
      pageSize: 50,
    });
    expect(result.insightRows).toBeGreaterThan(0);
    const c = await counts(b.id);
    expect(c).toMatchObject({ ads: ADS_B, insights: ADS_B * 10 });
    expect(c.spend).toBe(expectedSpend(b, range));
  });

  it("tenants never see each other's rows (RLS), and a session without a tenant sees none", async () => {
    const ca = await counts(a.id);
    const cb = await counts(b.id);
    expect(ca.ads).toBe(ADS_A);
    expect(cb.ads).toBe(ADS_B);
    const idsOfB = new Set(fake.ads(b.adAccountId).map((x) => x.id));
    const seenByA = await withTenantSql(app.sql, a.id, (tx) => tx<{ ad_id: string }[]>`select ad_id from meta_ads`);
    expect(seenByA.some((r) => idsOfB.has(r.ad_id))).toBe(false);
    const [none] = await app.sql<{ n: number }[]>`select count(*)::int as n from meta_ad_insights`;
    expect(none?.n).toBe(0);
    await markMetaSyncSuccess(app, a.id);
    const [ia] = await admin.sql<
      { last_success_at: Date | null }[]
    >`select last_success_at from tenant_integrations where tenant_id = ${a.id} and provider = 'meta'`;
    const [ib] = await admin.sql<
      { last_success_at: Date | null }[]
    >`select last_success_at from tenant_integrations where tenant_id = ${b.id} and provider = 'meta'`;
    expect(ia?.last_success_at).toBeInstanceOf(Date);
    expect(ib?.last_success_at).toBeNull();
  });

  it('never logs the access token, even with debug logs, retries and paging.next URLs', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    // Plain pino with NO redaction: the client itself must never put the token in a log line.
    const capture = pino({ level: 'debug' }, sink);
    const target = await loadMetaTarget(loader, b.id);
    fake.failWhen((r) => r.path.includes(b.adAccountId), { kind: 'server-error', status: 503 }, 1);
    await runTenantMetaSync({ database: app, target, settings: settings(), range: lookbackRange(3, 'UTC'), log: capture });
    const text = lines.join('');
    expect(lines.length).toBeGreaterThan(3);
    expect(text).toContain('meta graph retry');
    expect(text).not.toContain(b.token);
    expect(text).not.toContain('access_token');
  });
});

// Spend was stored ×100 whatever the ad account's currency: a ¥5,000 day became 500000 "cents".
describe('spend in the ad account currency', () => {
  it('stores spend in the minor units of the account currency, with the currency; a row synced before gets it', async () => {
    const yen = await createMetaTenant(admin, keyring);
    const graph = await startFakeGraph({
      accounts: [{ adAccountId: yen.adAccountId, token: yen.token, ads: 3, currency: { code: 'JPY', decimals: 0 } }],
    });
    try {
      const target = await loadMetaTarget(loader, yen.id);
      const range: DateRange = { since: '2026-10-26', until: '2026-10-28' };
      const adId = graph.ads(yen.adAccountId)[0]?.id as string;
      graph.restate(yen.adAccountId, adId, '2026-10-27', 5_000);
      // A row from before account_currency was asked for: same spend, no currency.
      await withTenantSql(
        app.sql,
        yen.id,
        (tx) => tx`
        insert into meta_ad_insights (tenant_id, ad_id, date, spend_cents) values (${yen.id}, ${adId}, '2026-10-27', 5000)`,
      );
      await runTenantMetaSync({ database: app, target, settings: { ...settings(), graphUrl: graph.url }, range });

      const sent = graph.requests.find((r) => r.edge === 'insights');
      expect(sent?.query.fields?.split(',')).toContain('account_currency');
      const rows = await withTenantSql(
        app.sql,
        yen.id,
        (tx) => tx<{ ad_id: string; date: string; spend_cents: number; currency: string | null }[]>`
          select ad_id, date, spend_cents, currency from meta_ad_insights order by ad_id, date`,
      );
      expect(rows).toHaveLength(9);
      expect(rows.find((r) => r.ad_id === adId && r.date === '2026-10-27')).toMatchObject({ spend_cents: 5_000, currency: 'jpy' });
      for (const r of rows) {
        expect(r.currency).toBe('jpy');
        expect(r.spend_cents).toBe(graph.spendCents(yen.adAccountId, r.ad_id, r.date));
      }
    } finally {
      await graph.close();
    }
    // The USD accounts above carry theirs too.
    const usd = await withTenantSql(app.sql, a.id, (tx) => tx<{ c: string | null }[]>`select distinct currency as c from meta_ad_insights`);
    expect(usd).toEqual([{ c: 'usd' }]);
  });
});
