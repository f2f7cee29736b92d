import { queueNames } from '@mcb/queue';
import { parseKeyring, setIntegration } from '@mcb/tenancy';
import { pollUntil } from '@mcb/testing';
import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import { type Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enqueueDueMetaSyncs } from '../src/processors/meta/tick';
import { createHarness, type Harness, testEncryptionKey, wasDelayed } from './harness';

// Review F1/F2: one tenant whose Graph account never ends (or sends one huge page) must not take the
// worker's Meta-sync slots from every other tenant, nor its memory.
const keyring = parseKeyring(testEncryptionKey);
const stamp = `${Date.now() % 1_000_000}${Math.floor(Math.random() * 1000)}`;
const hostile = { adAccountId: `act_71${stamp}`, token: `EAAhostile${stamp}`, ads: 5 };
const huge = { adAccountId: `act_72${stamp}`, token: `EAAhuge${stamp}`, ads: 5 };
const good = { adAccountId: `act_73${stamp}`, token: `EAAgood${stamp}`, ads: 5 };
const maxPages = 400;
const hugeSent = { bytes: 0, closedEarly: false };
let fake: FakeGraph;
let h: Harness;
let metaQueue: Queue;
let worker: Awaited<ReturnType<Harness['startWorker']>>;

beforeAll(async () => {
  fake = await startFakeGraph({ accounts: [hostile, huge, good], maxPageSize: 100 });
  // The hostile account's paging never ends (a new cursor each page, 5 ms a page); the huge one's
  // ads edge answers 16 MB.
  fake.failWhen((r) => r.path.includes(hostile.adAccountId), { kind: 'endless-paging', ms: 5 }, Number.POSITIVE_INFINITY);
  fake.failWhen((r) => r.path.includes(huge.adAccountId), { kind: 'huge-page', bytes: 16 * 1024 * 1024, sent: hugeSent }, 1);
  // ONE meta slot, so a sync that kept it would starve every other tenant; ticks are driven by hand.
  h = await createHarness('metahostile', {
    META_GRAPH_URL: fake.url,
    WORKER_CONCURRENCY: '1',
    META_SYNC_BUDGET_MS: '1000',
    META_MAX_PAGES: String(maxPages),
    META_MAX_RESPONSE_MB: '1',
    META_TICK_EVERY_MS: '86400000',
    JOB_ATTEMPTS: '3',
  });
  metaQueue = new Queue(queueNames.meta, { connection: h.conn.connection, prefix: h.prefix });
  worker = await h.startWorker();
  // The scheduler's first meta.tick runs at start: let it pass before the tenants exist.
  const schedules = new Queue(queueNames.schedules, { connection: h.conn.connection, prefix: h.prefix });
  try {
    await pollUntil(
      async () => (await schedules.getJobs(['completed'])).filter((j) => j.name === 'meta.tick').length,
      (n) => n > 0,
      { timeoutMs: 20_000, intervalMs: 50 },
    );
  } finally {
    await schedules.close();
  }
});

afterAll(async () => {
  await metaQueue?.close();
  await h?.close();
  await fake?.close();
});

async function metaTenant(account: { adAccountId: string; token: string }) {
  const t = await h.makeTenant({ meta: { lookback_days: 3 } }); // default sync_every: 6 h
  await setIntegration(h.admin, keyring, {
    slug: t.slug,
    provider: 'meta',
    credentials: { access_token: account.token, ad_account_id: account.adAccountId },
  });
  return t;
}

const jobsOf = async (tenantId: string, states: Parameters<Queue['getJobs']>[0]) =>
  (await metaQueue.getJobs(states)).filter((j) => j.data.tenantId === tenantId);
const unfinishedOf = (tenantId: string) => jobsOf(tenantId, ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

async function lastError(tenantId: string): Promise<string | null> {
  const [row] = await h.admin.sql<{ last_error: string | null }[]>`
    select last_error from tenant_integrations where tenant_id = ${tenantId} and provider = 'meta'`;
  return row?.last_error ?? null;
}

async function settled(jobId: string, timeoutMs = 60_000): Promise<string> {
  return pollUntil(
    () => metaQueue.getJobState(jobId),
    (s) => s === 'completed' || s === 'failed',
    { timeoutMs, intervalMs: 50 },
  );
}

// Ticks as the scheduler would run them on later days: the window (6 h) of each is a new one.
const sixHours = 6 * 3600_000;
const base = Math.floor(Date.now() / sixHours) * sixHours + 100 * sixHours;

describe('meta.sync: one hostile tenant against the others, one worker slot', () => {
  it('a 16 MB page with a 1 MB cap fails that sync at once, naming the cap; the response is cut off and the worker goes on', async () => {
    const t = await metaTenant(huge);
    const { enqueued } = await enqueueDueMetaSyncs(worker.deps, base);
    const id = enqueued.find((j) => j.includes(t.id)) as string;
    expect(await settled(id)).toBe('failed');
    const job = (await metaQueue.getJob(id)) as Job;
    expect(job.attemptsMade).toBe(1);
    const error = await lastError(t.id);
    expect(error).toMatch(
      /^Meta Graph response over 1048576 bytes \(META_MAX_RESPONSE_MB\): cut off after \d+ bytes of \/v25.0\/act_\d+\/ads$/,
    );
    // `mcb meta status` shows the first 80 characters: the cap is named in them.
    expect(error?.slice(0, 80)).toContain('(META_MAX_RESPONSE_MB)');
    await vi.waitFor(() => expect(hugeSent.closedEarly).toBe(true));
    expect(hugeSent.bytes).toBeLessThan(16 * 1024 * 1024);
  });

  it('a never-ending sync gives the slot up at its budget, is never enqueued beside itself, and fails at the page cap; the other tenant syncs', async () => {
    const bad = await metaTenant(hostile);
    const first = await enqueueDueMetaSyncs(worker.deps, base + sixHours);
    const badJobId = first.enqueued.find((j) => j.includes(bad.id)) as string;
    expect(badJobId).toBeTruthy();
    await pollUntil(
      () => metaQueue.getJobState(badJobId),
      (s) => s === 'active',
      { timeoutMs: 10_000, intervalMs: 20 },
    );

    // Two windows later (the old tick looked only one back), and every window after: never a second job.
    const g = await metaTenant(good);
    const later = await enqueueDueMetaSyncs(worker.deps, base + 3 * sixHours);
    expect(later.enqueued.filter((j) => j.includes(bad.id))).toEqual([]);
    const goodJobId = later.enqueued.find((j) => j.includes(g.id)) as string;
    expect(goodJobId).toBeTruthy();
    // The only slot is the hostile sync's until its budget runs out: then the good tenant's sync runs.
    expect(await settled(goodJobId)).toBe('completed');
    expect(await lastError(g.id)).toBeNull();
    expect(['active', 'delayed', 'waiting']).toContain(await metaQueue.getJobState(badJobId));
    expect(await wasDelayed(h.conn, metaQueue, badJobId)).toBe(true);

    for (let k = 5; (await metaQueue.getJobState(badJobId)) !== 'failed'; k += 2) {
      await enqueueDueMetaSyncs(worker.deps, base + k * sixHours);
      expect((await unfinishedOf(bad.id)).length).toBeLessThanOrEqual(1);
      expect((await jobsOf(bad.id, ['active'])).length).toBeLessThanOrEqual(1);
      expect(k).toBeLessThan(400);
      await new Promise((r) => setTimeout(r, 250));
    }
    // It resumed at its checkpoint across budget delays (the page count kept) and ended at the cap:
    // no retry, the reason in last_error (`mcb meta status`).
    const done = (await metaQueue.getJob(badJobId)) as Job;
    expect(done.attemptsMade).toBe(1);
    expect(done.data.checkpoint).toMatchObject({ phase: 'ads', after: expect.any(String), pages: expect.any(Number) });
    expect(done.data.checkpoint.pages).toBeLessThan(maxPages);
    const error = await lastError(bad.id);
    expect(error).toBe(`Meta Graph paging did not end after ${maxPages} pages (META_MAX_PAGES): ${hostile.adAccountId}/ads`);
    expect(error?.slice(0, 80)).toContain('(META_MAX_PAGES)');
    // A later job of the tenant was enqueued only once this one had ended, never beside it.
    const others = (await jobsOf(bad.id, ['waiting', 'active', 'delayed', 'completed', 'failed'])).filter((j) => j.id !== badJobId);
    expect(others.every((j) => j.timestamp >= (done.finishedOn as number))).toBe(true);
    expect(fake.requests.filter((r) => r.path.includes(hostile.adAccountId)).length).toBeGreaterThanOrEqual(maxPages);
  }, 120_000);
});
