import { createLogger } from '@mcb/core';
import { withTenantSql } from '@mcb/db';
import { metaTokenExpiredError } from '@mcb/meta';
import { jobId, queueNames } from '@mcb/queue';
import { parseKeyring, setIntegration } from '@mcb/tenancy';
import { pollUntil } from '@mcb/testing';
import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import { type Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerDeps } from '../src/deps';
import { planMetaSyncJobs, processMetaTick } from '../src/processors/meta/tick';
import { metaTickSchedulerId, registerMetaScheduler } from '../src/schedulers/meta';
import { createHarness, type Harness, testEncryptionKey, wasDelayed } from './harness';

const keyring = parseKeyring(testEncryptionKey);
let fake: FakeGraph;
let h: Harness;
let metaQueue: Queue;
let seq = 0;

interface MetaTenant {
  id: string;
  slug: string;
  token: string;
  account: string;
}
const accounts: Array<{ adAccountId: string; token: string; ads: number }> = [];

/** Reserves a fake ad account; `makeMetaTenant` creates its tenant once the harness exists. */
function reserveAccount(ads: number): Omit<MetaTenant, 'id' | 'slug'> {
  seq++;
  const account = `act_${Date.now() % 1_000_000}${seq}${Math.floor(Math.random() * 1000)}`;
  const token = `EAAworker${seq}${Math.random().toString(36).slice(2)}${Date.now()}`;
  accounts.push({ adAccountId: account, token, ads });
  return { token, account };
}

async function makeMetaTenant(r: Omit<MetaTenant, 'id' | 'slug'>, config: Record<string, unknown> = {}): Promise<MetaTenant> {
  const t = await h.makeTenant({ meta: { lookback_days: 7 }, ...config });
  await setIntegration(h.admin, keyring, {
    slug: t.slug,
    provider: 'meta',
    credentials: { access_token: r.token, ad_account_id: r.account },
  });
  return { ...t, ...r };
}

const rateLimited = reserveAccount(150);
const expired = reserveAccount(20);
const tickA = reserveAccount(1);
const tickB = reserveAccount(1);
const tickC = reserveAccount(1);
const stopped = reserveAccount(150);

beforeAll(async () => {
  fake = await startFakeGraph({ accounts, maxPageSize: 100 });
  h = await createHarness('meta', { META_GRAPH_URL: fake.url, JOB_ATTEMPTS: '3' });
  metaQueue = new Queue(queueNames.meta, { connection: h.conn.connection, prefix: h.prefix });
});

afterAll(async () => {
  await metaQueue?.close();
  await h?.close();
  await fake?.close();
});

async function waitForState(job: Job, states: string[], timeoutMs = 30_000): Promise<string> {
  const state = await pollUntil(
    () => metaQueue.getJobState(job.id as string),
    (s) => states.includes(s),
    { timeoutMs, intervalMs: 25 },
  );
  if (!states.includes(state)) throw new Error(`job ${job.id} is ${state}, wanted ${states.join('|')}`);
  return state;
}

async function integration(tenantId: string) {
  const [row] = await h.admin.sql<{ last_success_at: Date | null; last_error: string | null }[]>`
    select last_success_at, last_error from tenant_integrations where tenant_id = ${tenantId} and provider = 'meta'`;
  return row;
}

describe('meta.sync in a real worker against the fake Graph API', () => {
  it('a rate limit mid-sync delays the job (not failed), then it resumes and completes with no missing or duplicated rows', async () => {
    const t = await makeMetaTenant(rateLimited);
    let insightCalls = 0;
    fake.failWhen((r) => r.edge === 'insights' && r.path.includes(t.account) && ++insightCalls === 3, {
      kind: 'rate-limit',
      code: 80004,
      resetSeconds: 1,
    });
    // Not due for the tick the worker runs at start: only the job below syncs this tenant.
    const marked = new Date(Date.now() - 60_000);
    await h.admin.sql`update tenant_integrations set last_success_at = ${marked} where tenant_id = ${t.id} and provider = 'meta'`;
    await h.startWorker();
    const job = await metaQueue.add('meta.sync', { tenantId: t.id }, { jobId: jobId('meta-sync', t.id, 'ratelimit'), attempts: 3 });
    expect(await waitForState(job, ['completed', 'failed'], 45_000)).toBe('completed');
    // The throttle announced a 1 s reset: the job sat in `delayed` (not failed) meanwhile. Read from the
    // queue's event stream: a poll for the state may miss a delay that short on a loaded machine.
    expect(await wasDelayed(h.conn, metaQueue, job.id as string)).toBe(true);

    const done = (await metaQueue.getJob(job.id as string)) as Job;
    expect(done.attemptsMade).toBeLessThanOrEqual(1);
    expect(done.data.checkpoint).toMatchObject({ phase: 'insights' });
    // Redis holds ids, dates and a paging cursor — never the token.
    expect(JSON.stringify([done.data, done.returnvalue])).not.toContain(t.token);
    expect(done.returnvalue).toMatchObject({ ads: expect.any(Number), insightRows: expect.any(Number) });
    const sent = fake.requests.filter((r) => r.path.includes(t.account));
    expect(sent.filter((r) => r.fault === 'rate-limit')).toHaveLength(1);
    // Resumed at the saved cursor: the ads edge (2 pages) was fetched once, not again after the delay.
    expect(sent.filter((r) => r.edge === 'ads')).toHaveLength(2);
    const [c] = await withTenantSql(
      h.admin.sql,
      t.id,
      (tx) => tx<{ ads: number; rows: number; pairs: number; days: number }[]>`
      select (select count(*) from meta_ads where tenant_id = ${t.id})::int as ads,
             (select count(*) from meta_ad_insights where tenant_id = ${t.id})::int as rows,
             (select count(distinct (ad_id, date)) from meta_ad_insights where tenant_id = ${t.id})::int as pairs,
             (select count(distinct date) from meta_ad_insights where tenant_id = ${t.id})::int as days`,
    );
    expect(c).toEqual({ ads: 150, rows: 150 * 7, pairs: 150 * 7, days: 7 });
    const i = await integration(t.id);
    expect(i?.last_success_at?.getTime()).toBeGreaterThan(marked.getTime());
    expect(i?.last_error).toBeNull();
  });

  // Faults walk, stop 37: a worker stopped (SIGTERM) during a long sync kept the job `active` with no worker
  // until its lock ran out; a second such stop failed it for good ("job stalled more than allowable limit").
  it('a worker closed during a sync releases the job by its deadline; the job runs again and completes', async () => {
    const t = await makeMetaTenant(stopped);
    fake.failWhen((r) => r.edge === 'insights' && r.path.includes(t.account), { kind: 'slow', ms: 3_000 }, 1_000);
    // This worker alone (the earlier test's would take the job).
    await h.stopWorkers();
    const rt = await h.startWorker();
    const job = await metaQueue.add('meta.sync', { tenantId: t.id }, { jobId: jobId('meta-sync', t.id, 'stopped'), attempts: 3 });
    await waitForState(job, ['active']);
    await rt.close(Date.now() + 1_500);
    // Released, not left active for the stall check: aborted at the deadline and retried.
    expect(await metaQueue.getJobState(job.id as string)).not.toBe('active');
    fake.clearFaults();
    await h.startWorker();
    expect(await waitForState(job, ['completed', 'failed'], 60_000)).toBe('completed');
    // The retry that completed cleared what the aborted attempt recorded.
    expect((await integration(t.id))?.last_error).toBeNull();
  }, 90_000);

  it('190 fails the job without retrying, sets last_error, and the tick skips the tenant until a new token is stored', async () => {
    const t = await makeMetaTenant(expired);
    fake.failWhen((r) => r.path.includes(t.account), { kind: 'token-expired' }, 100);
    const before = fake.requests.filter((r) => r.path.includes(t.account)).length;
    const job = await metaQueue.add('meta.sync', { tenantId: t.id }, { jobId: jobId('meta-sync', t.id, 'expired'), attempts: 3 });
    expect(await waitForState(job, ['completed', 'failed'])).toBe('failed');
    const failed = (await metaQueue.getJob(job.id as string)) as Job;
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/code 190/);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.requests.filter((r) => r.path.includes(t.account)).length - before).toBe(1);
    const i = await integration(t.id);
    expect(i?.last_error).toMatch(new RegExp(`^${metaTokenExpiredError}: .*code 190`));
    expect(i?.last_error).not.toContain(t.token);
    expect(i?.last_success_at).toBeNull();

    const deps = { admin: h.admin, log: createLogger({ name: 't', level: 'silent' }) };
    expect((await planMetaSyncJobs(deps)).map((j) => j.tenantId)).not.toContain(t.id);
    await setIntegration(h.admin, keyring, {
      slug: t.slug,
      provider: 'meta',
      credentials: { access_token: `${t.token}x`, ad_account_id: t.account },
    });
    expect((await planMetaSyncJobs(deps)).map((j) => j.tenantId)).toContain(t.id);
  });
});

describe('meta.tick', () => {
  // These call the tick and the planner directly. The test below swaps Date.now for an hour later; a
  // worker still running in this process would then promote its scheduled ticks early and sync the
  // tenants being planned here.
  beforeAll(() => h.stopWorkers());

  it('fans out only due tenants, one deterministic job per tenant and window, however often it ticks', async () => {
    const a = await makeMetaTenant(tickA); // never synced: due
    const b = await makeMetaTenant(tickB); // synced a minute ago, default 6h: not due
    const c = await makeMetaTenant(tickC, { meta: { sync_every: '1h' } }); // synced 2h ago, every 1h: due
    await h.admin
      .sql`update tenant_integrations set last_success_at = now() - interval '1 minute' where tenant_id = ${b.id} and provider = 'meta'`;
    await h.admin
      .sql`update tenant_integrations set last_success_at = now() - interval '2 hours' where tenant_id = ${c.id} and provider = 'meta'`;
    const mine = new Set([a.id, b.id, c.id]);
    const now = Date.parse('2026-03-01T10:20:00Z');
    const deps = { admin: h.admin, log: createLogger({ name: 't', level: 'silent' }) };
    const plan = (await planMetaSyncJobs(deps, Date.now())).filter((j) => mine.has(j.tenantId));
    expect(plan.map((j) => j.tenantId).sort()).toEqual([a.id, c.id].sort());
    expect(plan.every((j) => !j.jobId.includes(':'))).toBe(true);
    // Window ids: 6h windows for a, 1h windows for c.
    const fixed = (await planMetaSyncJobs(deps, now)).filter((j) => mine.has(j.tenantId));
    expect(fixed.find((j) => j.tenantId === a.id)?.jobId).toBe(`meta-sync-${a.id}-20260301T0600Z`);

    // Ticks through the real processor, into a queue no worker consumes: count what they add.
    const prefix = `${h.prefix}-tick`;
    const { createQueueConnection } = await import('@mcb/queue');
    const conn = createQueueConnection({ kind: 'redis', url: h.rawEnv.REDIS_URL as string }, prefix);
    const tickDeps = { ...deps, queue: conn, env: h.env } as unknown as WorkerDeps;
    const q = new Queue(queueNames.meta, { connection: conn.connection, prefix });
    try {
      await processMetaTick({} as Job, tickDeps);
      await processMetaTick({} as Job, tickDeps);
      await Promise.all([processMetaTick({} as Job, tickDeps), processMetaTick({} as Job, tickDeps)]);
      const jobs = (await q.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])).filter((j) => mine.has(j.data.tenantId));
      expect(jobs.map((j) => j.data.tenantId).sort()).toEqual([a.id, c.id].sort());
      expect(jobs.every((j) => j.name === 'meta.sync' && Object.keys(j.data).join() === 'tenantId')).toBe(true);

      // Next window: c's previous job is still pending (say, delayed by a rate limit), a's is not.
      await q.obliterate({ force: true });
      const later = Date.now() + 3600_000;
      const [prevA, prevC] = await Promise.all(
        [a, c].map(async (t) => (await planMetaSyncJobs(deps)).find((j) => j.tenantId === t.id)?.jobId as string),
      );
      await q.add('meta.sync', { tenantId: c.id }, { jobId: prevC, delay: 60_000 });
      expect(prevA).toBeTruthy();
      const realNow = Date.now;
      Date.now = () => later;
      try {
        await processMetaTick({} as Job, tickDeps);
      } finally {
        Date.now = realNow;
      }
      const next = (await q.getJobs(['waiting', 'delayed'])).filter((j) => mine.has(j.data.tenantId));
      expect(next.map((j) => j.id).sort()).toEqual(
        [prevC, (await planMetaSyncJobs(deps, later)).find((j) => j.tenantId === a.id)?.jobId].sort(),
      );
    } finally {
      await q.obliterate({ force: true });
      await q.close();
      await conn.close();
    }
  });

  it('the scheduler registers idempotently: one meta-tick however many workers start', async () => {
    const prefix = `${h.prefix}-sched`;
    const { createQueueConnection } = await import('@mcb/queue');
    const conn = createQueueConnection({ kind: 'redis', url: h.rawEnv.REDIS_URL as string }, prefix);
    const deps = { queue: conn, env: { ...h.env, META_TICK_EVERY_MS: 600_000 } } as unknown as WorkerDeps;
    const q = new Queue(queueNames.schedules, { connection: conn.connection, prefix });
    try {
      await Promise.all([registerMetaScheduler(deps), registerMetaScheduler(deps), registerMetaScheduler(deps)]);
      const schedulers = await q.getJobSchedulers();
      expect(schedulers.filter((s) => s.key === metaTickSchedulerId || s.id === metaTickSchedulerId)).toHaveLength(1);
      expect(schedulers.find((s) => s.key === metaTickSchedulerId || s.id === metaTickSchedulerId)).toMatchObject({
        every: 600_000,
        name: 'meta.tick',
      });
    } finally {
      await q.obliterate({ force: true });
      await q.close();
      await conn.close();
    }
  });
});
