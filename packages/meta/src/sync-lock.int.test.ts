import { createDatabase, type Database } from '@mcb/db';
import { createTenantContextLoader, type TenantContextLoaderHandle } from '@mcb/tenancy';
import { pollUntil, testEnv } from '@mcb/testing';
import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetaTenant, type MetaTenant, testKeyring } from '../test/factories';
import { MetaSyncAlreadyRunning, MetaTokenExpired } from './errors';
import { metaSyncLockKey, withMetaSyncLock } from './sync-lock';
import { loadMetaTarget, type MetaSyncTarget, runTenantMetaSync } from './tenant-sync';
import { lookbackRange } from './window';

// One Meta sync per tenant at a time. Two pools stand for two processes (the CLI and a worker, or two
// workers): each holds its locks in a Postgres session of its own, so only the advisory lock keeps
// them apart. A third, `owner`, reads pg_locks and plays the crash.

const keyring = testKeyring();
const ADS = 30;
let owner: Database;
let admin: Database;
let cli: Database;
let worker: Database;
let loader: TenantContextLoaderHandle;
let fake: FakeGraph;
const tenants: MetaTenant[] = [];

beforeAll(async () => {
  const { databaseUrl } = testEnv();
  owner = createDatabase({ url: databaseUrl, role: 'owner', max: 2 });
  admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
  cli = createDatabase({ url: databaseUrl, role: 'app', max: 4, applicationName: 'mcb-lock-test-cli' });
  worker = createDatabase({ url: databaseUrl, role: 'app', max: 4, applicationName: 'mcb-lock-test-worker' });
  loader = createTenantContextLoader({ admin, keyring, listen: false });
  for (let i = 0; i < 6; i++) tenants.push(await createMetaTenant(admin, keyring));
  fake = await startFakeGraph({
    accounts: tenants.map((t) => ({ adAccountId: t.adAccountId, token: t.token, ads: ADS })),
    maxPageSize: 100,
  });
});

afterAll(async () => {
  await fake?.close();
  await loader?.close();
  await Promise.all([cli?.close(), worker?.close(), admin?.close(), owner?.close()]);
});

const settings = () => ({ graphUrl: fake.url, apiVersion: 'v25.0', pageSize: 10, batchSize: 100, retryBaseMs: 5 });
const range = lookbackRange(3, 'UTC');
const sync = (database: Database, target: MetaSyncTarget) => runTenantMetaSync({ database, target, settings: settings(), range });
const tenant = (i: number) => tenants[i] as MetaTenant;
const targetOf = (i: number) => loadMetaTarget(loader, tenant(i).id);
const requestsOf = (t: MetaTenant) => fake.requests.filter((r) => r.path.includes(t.adAccountId));
/** Holds the first ads request of `t` for `ms`, so its sync is surely still running meanwhile. */
const holdFirstRequest = (t: MetaTenant, ms: number) => fake.failWhen((r) => r.path.includes(t.adAccountId), { kind: 'slow', ms });

/** Sessions holding the tenant's sync lock right now (any pool, any process). */
async function lockHolders(tenantId: string): Promise<number[]> {
  const rows = await owner.sql<{ pid: number }[]>`
    select pid from pg_locks
    where locktype = 'advisory' and objsubid = 1 and granted
      and ((classid::int8 << 32) | objid::int8) = ${metaSyncLockKey(tenantId)}::int8`;
  return rows.map((r) => r.pid);
}

/** Advisory locks held by the test pools' sessions: none once every sync has ended (no lock left on a pooled connection). */
async function advisoryLocksOfPools(): Promise<number> {
  const [row] = await owner.sql<{ n: number }[]>`
    select count(*)::int as n from pg_locks l join pg_stat_activity a using (pid)
    where l.locktype = 'advisory' and a.application_name like 'mcb-lock-test-%'`;
  return row?.n ?? 0;
}

describe('one Meta sync per tenant at a time (runTenantMetaSync)', () => {
  it('two processes syncing one tenant at once: exactly one runs, the other is refused before any request; after it ends a new sync runs', async () => {
    const t = tenant(0);
    const target = await loadMetaTarget(loader, t.id);
    holdFirstRequest(t, 400);
    const [first, second] = await Promise.allSettled([sync(cli, target), sync(worker, target)]);
    const results = [first, second];
    const ran = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    expect(ran).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(MetaSyncAlreadyRunning);
    expect(refused[0]).toMatchObject({
      tenantId: t.id,
      slug: t.slug,
      message: `a Meta sync of ${t.slug} is already running; nothing done`,
    });
    // The Graph API saw one sync's requests: as many as a sync run alone makes (below), not twice as many.
    const concurrent = requestsOf(t).length;
    expect(concurrent).toBeGreaterThan(0);
    expect(await lockHolders(t.id)).toEqual([]);

    // After it ended, either process may sync again.
    const alone = await sync(worker, target);
    expect(alone.ads).toBe(ADS);
    expect(requestsOf(t).length - concurrent).toBe(concurrent);
    expect(await advisoryLocksOfPools()).toBe(0);
  });

  it('two syncs of one tenant in the same process: the second is refused too (session locks are re-entrant)', async () => {
    const t = tenant(1);
    const target = await loadMetaTarget(loader, t.id);
    holdFirstRequest(t, 300);
    const results = await Promise.allSettled([sync(worker, target), sync(worker, target)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: expect.any(MetaSyncAlreadyRunning) });
    expect(await lockHolders(t.id)).toEqual([]);
    expect(await advisoryLocksOfPools()).toBe(0);
  });

  it("another tenant's sync is not blocked by a running one, in this process or another", async () => {
    const a = tenant(2);
    const [ta, tb, tc] = [await targetOf(2), await targetOf(3), await targetOf(4)];
    holdFirstRequest(a, 1_500);
    const order: string[] = [];
    const tracked = async (name: string, database: Database, target: MetaSyncTarget) => {
      const result = await sync(database, target);
      order.push(name);
      return result;
    };
    const slow = tracked('a', cli, ta);
    await pollUntil(
      () => lockHolders(a.id),
      (pids) => pids.length === 1,
      { timeoutMs: 5_000, intervalMs: 10 },
    );
    const [rb, rc] = await Promise.all([tracked('b', cli, tb), tracked('c', worker, tc)]);
    expect(rb.ads).toBe(ADS);
    expect(rc.ads).toBe(ADS);
    expect((await slow).ads).toBe(ADS);
    expect(order.at(-1)).toBe('a');
    expect(await advisoryLocksOfPools()).toBe(0);
  });

  it('a sync that throws releases the lock: the next one runs', async () => {
    const t = tenant(5);
    const target = await loadMetaTarget(loader, t.id);
    // Its first request is answered late, its second with a 190: it holds the lock, then throws.
    holdFirstRequest(t, 300);
    fake.failWhen((r) => r.path.includes(t.adAccountId), { kind: 'token-expired' }, 1);
    const failing = sync(cli, target);
    failing.catch(() => {});
    await pollUntil(
      () => lockHolders(t.id),
      (pids) => pids.length === 1,
      { timeoutMs: 5_000, intervalMs: 10 },
    );
    await expect(sync(worker, target)).rejects.toBeInstanceOf(MetaSyncAlreadyRunning);
    await expect(failing).rejects.toBeInstanceOf(MetaTokenExpired);
    expect(await lockHolders(t.id)).toEqual([]);
    expect(await advisoryLocksOfPools()).toBe(0);
    expect((await sync(worker, target)).ads).toBe(ADS);
    expect((await sync(cli, target)).ads).toBe(ADS);
  });

  it('a process that dies releases the lock with its connection; the survivor can lock again', async () => {
    const t = tenant(0);
    const target = await loadMetaTarget(loader, t.id);
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    // The CLI "process" holds the lock...
    const holding = withMetaSyncLock(cli, target, () => held);
    const [pid] = await pollUntil(
      () => lockHolders(t.id),
      (pids) => pids.length === 1,
      { timeoutMs: 5_000, intervalMs: 10 },
    );
    expect(pid).toEqual(expect.any(Number));
    await expect(sync(worker, target)).rejects.toBeInstanceOf(MetaSyncAlreadyRunning);
    // ...and its session dies (a crash, kill -9, a dropped network): Postgres frees the lock at once.
    await owner.sql`select pg_terminate_backend(${pid as number})`;
    await pollUntil(
      () => lockHolders(t.id),
      (pids) => pids.length === 0,
      { timeoutMs: 5_000, intervalMs: 10 },
    );
    expect((await sync(worker, target)).ads).toBe(ADS);
    // The pool that lost its lock session recovers: it ends cleanly and takes the lock again on a new connection.
    release();
    await holding;
    expect((await sync(cli, target)).ads).toBe(ADS);
    expect(await advisoryLocksOfPools()).toBe(0);
  });

  it('a lock passed in must be held for the same tenant', async () => {
    const [a, b] = [await targetOf(2), await targetOf(3)];
    await withMetaSyncLock(cli, a, async (lock) => {
      await expect(runTenantMetaSync({ database: cli, target: b, settings: settings(), range, lock })).rejects.toThrow(
        /not held for tenant/,
      );
    });
    const released = await withMetaSyncLock(cli, a, async (lock) => lock);
    expect(released.held).toBe(false);
    await expect(runTenantMetaSync({ database: cli, target: a, settings: settings(), range, lock: released })).rejects.toThrow(
      /not held for tenant/,
    );
  });

  // A reviewer (stop 28): the lock holds one of the pool's connections for the whole sync, so with a
  // pool of 1 the sync's own writes waited for it forever (and every other query of the process).
  it('a pool of 1 is refused at once with the setting to change, instead of hanging', async () => {
    const one = createDatabase({ url: testEnv().databaseUrl, role: 'app', max: 1, applicationName: 'mcb-lock-test-one' });
    try {
      const t = await targetOf(4);
      let ran = false;
      const outcome = await Promise.race([
        withMetaSyncLock(one, t, async () => {
          ran = true;
          await one.sql`select 1`;
        }).then(
          () => 'ran',
          (err: Error) => err.message,
        ),
        new Promise((r) => setTimeout(() => r('hung'), 5_000)),
      ]);
      expect(outcome).toBe('A Meta sync needs a database pool of at least 2 connections (DATABASE_POOL_MAX is 1)');
      expect(ran).toBe(false);
    } finally {
      await one.close();
    }
  });
});
