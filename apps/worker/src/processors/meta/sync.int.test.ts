import { Writable } from 'node:stream';
import { createLogger } from '@mcb/core';
import { createDatabase, type Database } from '@mcb/db';
import { withMetaSyncLock } from '@mcb/meta';
import { jobId, queueNames } from '@mcb/queue';
import { parseKeyring, setIntegration } from '@mcb/tenancy';
import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import { type Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, settledJobState, testEncryptionKey, wasDelayed } from '../../../test/harness';

// `meta.sync` while another process (the CLI, another worker) syncs the same tenant: skipped, not failed.

const account = `act_9${Date.now() % 1_000_000}7`;
const token = `EAAlocked${Math.random().toString(36).slice(2)}${Date.now()}`;
let fake: FakeGraph;
let h: Harness;
let metaQueue: Queue;
let elsewhere: Database;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  fake = await startFakeGraph({ accounts: [{ adAccountId: account, token, ads: 12 }], maxPageSize: 100 });
  h = await createHarness('metalock', { META_GRAPH_URL: fake.url, JOB_ATTEMPTS: '3' });
  metaQueue = new Queue(queueNames.meta, { connection: h.conn.connection, prefix: h.prefix });
  // Another process's pool on the same database: the session that holds the tenant's lock.
  elsewhere = createDatabase({ url: h.rawEnv.DATABASE_URL as string, role: 'app', max: 2, applicationName: 'mcb-cli-elsewhere' });
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  await h.startWorker({}, createLogger({ name: 'worker', level: 'info', destination: sink }));
});

afterAll(async () => {
  await metaQueue?.close();
  await elsewhere?.close();
  await h?.close();
  await fake?.close();
});

describe('meta.sync when the tenant is already syncing elsewhere', () => {
  it('completes as skipped with one info line naming the tenant: no Graph request, no retry, no last_error; the next job syncs', async () => {
    const t = await h.makeTenant({ meta: { lookback_days: 3 } });
    await setIntegration(h.admin, parseKeyring(testEncryptionKey), {
      slug: t.slug,
      provider: 'meta',
      credentials: { access_token: token, ad_account_id: account },
    });
    // Not due for the worker's own tick: only the jobs below sync this tenant.
    const marked = new Date(Date.now() - 60_000);
    await h.admin.sql`update tenant_integrations set last_success_at = ${marked} where tenant_id = ${t.id} and provider = 'meta'`;

    const skipped = await withMetaSyncLock(elsewhere, { tenantId: t.id, slug: t.slug }, async () => {
      const job = await metaQueue.add('meta.sync', { tenantId: t.id }, { jobId: jobId('meta-sync', t.id, 'locked'), attempts: 3 });
      expect(await settledJobState(job, 'completed', 20_000)).toBe('completed');
      return (await metaQueue.getJob(job.id as string)) as Job;
    });
    expect(skipped.returnvalue).toEqual({ skipped: 'already_running' });
    expect(skipped.failedReason).toBeFalsy();
    expect(await wasDelayed(h.conn, metaQueue, skipped.id as string)).toBe(false);
    expect(fake.requests.filter((r) => r.path.includes(account))).toHaveLength(0);
    const said = lines.filter((l) => l.job === skipped.id);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ level: 30, msg: 'meta sync skipped: another sync of this tenant is running', tenant: t.slug });
    const [row] = await h.admin.sql<{ last_success_at: Date | null; last_error: string | null }[]>`
      select last_success_at, last_error from tenant_integrations where tenant_id = ${t.id} and provider = 'meta'`;
    expect(row).toEqual({ last_success_at: marked, last_error: null });

    // The other sync ended: the next job runs.
    const next = await metaQueue.add('meta.sync', { tenantId: t.id }, { jobId: jobId('meta-sync', t.id, 'free'), attempts: 3 });
    expect(await settledJobState(next, 'completed', 20_000)).toBe('completed');
    expect(((await metaQueue.getJob(next.id as string)) as Job).returnvalue).toMatchObject({ ads: 12, insightRows: 36 });
  });
});
