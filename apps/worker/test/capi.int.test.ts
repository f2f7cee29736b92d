import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { capiLastError, capiRefusedError, capiRefusedRetryMs, capiTokenExpiredError } from '@mcb/capi';
import { MetaRequestError } from '@mcb/meta';
import { parseKeyring, setIntegration } from '@mcb/tenancy';
import { pollUntil } from '@mcb/testing';
import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planCapiSendJobs, processCapiTick, tenantQueue } from '../src/processors/capi/tick';
import type { WorkerRuntime } from '../src/runtime';
import { createHarness, type Harness, settledJobState, testEncryptionKey, wasDelayed } from './harness';

const fixture = (source: string, name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../packages/sources/src/${source}/fixtures/${name}.json`, import.meta.url), 'utf8'));
// Computed here with node:crypto on hand-normalised values, independently of packages/capi's hashing.
const sha = (v: string) => createHash('sha256').update(v).digest('hex');

const keyring = parseKeyring(testEncryptionKey);
let fake: FakeGraph;
let h: Harness;
let runtime: WorkerRuntime;
let seq = 0;

interface CapiTenant {
  id: string;
  slug: string;
  datasetId: string;
  token: string;
}

async function makeCapiTenant(): Promise<CapiTenant> {
  const t = await h.makeTenant();
  seq++;
  const datasetId = `77${Date.now() % 1_000_000}${seq}`;
  const token = `EAAworkercapi${seq}${Math.random().toString(36).slice(2)}`;
  await setIntegration(h.admin, keyring, {
    slug: t.slug,
    provider: 'meta_capi',
    credentials: { dataset_id: datasetId, access_token: token },
  });
  fake.addDataset(datasetId, token);
  runtime.deps.tenants.invalidate();
  return { ...t, datasetId, token };
}

/** Adds a `capi.send` for the tenant on its own queue and waits for the job to finish. */
async function sendNow(t: CapiTenant, name: string): Promise<{ state: string; job: Job }> {
  const queue = tenantQueue(h.conn, t.id);
  const job = await queue.add('capi.send', { tenantId: t.id }, { jobId: `capi-send-${t.id}-${name}`, attempts: 3 });
  const finished = (state: string) => state === 'completed' || state === 'failed';
  const state = await pollUntil(() => queue.getJobState(job.id as string), finished, { timeoutMs: 30_000 });
  if (!finished(state)) throw new Error(`capi.send ${job.id} still ${state}`);
  return { state, job: (await queue.getJob(job.id as string)) as Job };
}

function stripeSession(email: string, cents: number) {
  const body = structuredClone(fixture('stripe', 'checkout-session-completed-full')) as {
    id: string;
    created: number;
    data: { object: Record<string, unknown> };
  };
  const now = Math.floor(Date.now() / 1000);
  body.id = `evt_capi_${seq}_${now}`;
  body.created = now;
  const o = body.data.object;
  o.id = `cs_capi_${seq}_${now}`;
  o.created = now;
  o.customer = null;
  o.customer_email = null;
  o.amount_total = cents;
  o.customer_details = { ...(o.customer_details as object), email, phone: null };
  return body;
}

interface RedisReader {
  keys(pattern: string): Promise<string[]>;
  type(key: string): Promise<string>;
  get(key: string): Promise<string | null>;
  hgetall(key: string): Promise<Record<string, string>>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  smembers(key: string): Promise<string[]>;
  zrange(key: string, start: number, stop: number): Promise<string[]>;
  xrange(key: string, start: string, end: string): Promise<unknown[]>;
}

beforeAll(async () => {
  fake = await startFakeGraph({ accounts: [] });
  h = await createHarness('capi', { META_GRAPH_URL: fake.url, JOB_ATTEMPTS: '3', CAPI_TICK_EVERY_MS: '3600000' });
  runtime = await h.startWorker();
});

afterAll(async () => {
  await h?.close();
  await fake?.close();
});

describe('capi.send in a real worker, from real webhooks to the fake Graph API', () => {
  it('ManyChat lead then Stripe purchase → Lead and Purchase, hashed as Meta wants; redeliveries and replays send nothing again', async () => {
    const t = await makeCapiTenant();
    const logs = [await h.deliver(t.id, 'manychat', fixture('manychat', 'contact-created'))];
    await h.waitForLogs(logs);
    // Stripe's event time has whole seconds: a second later, so the ManyChat event stays the person's first.
    await new Promise((r) => setTimeout(r, 1_100));
    const stripe = stripeSession('maria.lopez@example.com', 240_000);
    logs.push(await h.deliver(t.id, 'stripe', stripe));
    await h.waitForLogs(logs);

    expect((await sendNow(t, 'first')).state).toBe('completed');
    const sent = () => fake.capiEvents(t.datasetId).map((e) => e.event);
    const events = sent();
    expect(events.map((e) => e.event_name).sort()).toEqual(['Lead', 'Purchase']);
    const lead = events.find((e) => e.event_name === 'Lead') as Record<string, unknown>;
    const purchase = events.find((e) => e.event_name === 'Purchase') as Record<string, unknown>;
    const [contact] = await h.owner.sql<{ id: string }[]>`select id from contacts where tenant_id = ${t.id} and merged_into_id is null`;
    const expectedUser = {
      em: [sha('maria.lopez@example.com')],
      ph: [sha('15552013344')],
      fn: sha('maria'),
      ln: sha('lopez'),
      external_id: [sha(contact!.id)],
    };
    expect(lead).toMatchObject({ action_source: 'chat', user_data: expectedUser, custom_data: { ad_id: '120210987654320001' } });
    expect(purchase).toMatchObject({
      action_source: 'system_generated',
      event_id: `payment:${(stripe.data.object as { id: string }).id}`,
      event_time: stripe.created,
      user_data: { ...expectedUser, em: expect.arrayContaining([sha('maria.lopez@example.com')]) },
      custom_data: { value: 2400, currency: 'USD', ad_id: '120210987654320001' },
    });
    // The Lead's event_id is the ManyChat delivery's dedupe key.
    const [mcLog] = await h.owner.sql<{ dedupe_key: string }[]>`select dedupe_key from webhook_logs where id = ${logs[0]!}`;
    expect(lead.event_id).toBe(mcLog!.dedupe_key);

    // The same deliveries again (duplicates at the receiver), then a replay of both logs.
    expect(await h.deliver(t.id, 'manychat', fixture('manychat', 'contact-created'))).toBe(logs[0]);
    expect(await h.deliver(t.id, 'stripe', stripe)).toBe(logs[1]);
    const before = await h.owner.sql<
      { id: number; attempts: number }[]
    >`select id, attempts from webhook_logs where id = any(${logs}::int8[])`;
    // A rerun of a job still active is a no-op (its row is final a moment before BullMQ moves it).
    for (const id of logs)
      expect(await settledJobState(await h.enqueuer.queueFor(t.id).getJob(`log-${id}`), 'completed')).toBe('completed');
    await h.enqueuer.rerun(logs.map((logId) => ({ tenantId: t.id, logId })));
    const rerun = (r: { id: number; attempts: number; status: string }) =>
      r.status === 'processed' && r.attempts > (before.find((b) => b.id === r.id)?.attempts ?? 0);
    const replayed = await pollUntil(
      () => h.owner.sql<{ id: number; attempts: number; status: string }[]>`
        select id, attempts, status from webhook_logs where id = any(${logs}::int8[])`,
      (rows) => rows.every(rerun),
      { timeoutMs: 20_000 },
    );
    expect(
      replayed.filter((r) => !rerun(r)),
      'replay did not finish',
    ).toEqual([]);
    expect((await sendNow(t, 'after-replay')).state).toBe('completed');
    expect(sent()).toHaveLength(2);
    const rows = await h.owner.sql<{ event_name: string; status: string; webhook_log_id: number }[]>`
      select event_name, status, webhook_log_id from capi_sends where tenant_id = ${t.id} order by event_name`;
    expect(rows.map((r) => [r.event_name, r.status])).toEqual([
      ['Lead', 'sent'],
      ['Purchase', 'sent'],
    ]);
  });

  it('a rate limit delays the job (not failed, no attempt used), then it resumes and sends each event once', async () => {
    const t = await makeCapiTenant();
    const logs = [];
    for (let i = 0; i < 3; i++)
      logs.push(
        await h.deliver(t.id, 'manychat', {
          ...fixture('manychat', 'contact-created'),
          subscriber: { id: `capi-rl-${i}`, first_name: `Rl${i}`, email: `rl${i}@example.com` },
        }),
      );
    await h.waitForLogs(logs);
    fake.failWhen((r) => r.dataset === t.datasetId, { kind: 'rate-limit', code: 80004, resetSeconds: 1 }, 1);
    const queue = tenantQueue(h.conn, t.id);
    const { job } = await sendNow(t, 'rl');
    // It waited in `delayed` meanwhile (the queue's event stream says so; a poll may miss a 1 s delay).
    expect(await wasDelayed(h.conn, queue, job.id as string)).toBe(true);
    expect(await queue.getJobState(job.id as string)).toBe('completed');
    expect(((await queue.getJob(job.id as string)) as Job).attemptsMade).toBeLessThanOrEqual(1);
    const events = fake.capiEvents(t.datasetId).map((e) => `${e.event.event_name}|${e.event.event_id}`);
    expect(events).toHaveLength(3);
    expect(new Set(events).size).toBe(3);
    expect(fake.requests.filter((r) => r.dataset === t.datasetId && r.fault === 'rate-limit')).toHaveLength(1);
  });

  // Operator walk, stop 37: last_error was written only after the last attempt (8 attempts with exponential
  // backoff: 10+ minutes), so a failing send read "last error -" in `mcb capi status` all that time.
  it('a retried failure shows in last_error at once, saying it will retry; the retry that succeeds clears it', async () => {
    const t = await makeCapiTenant();
    const log = await h.deliver(t.id, 'manychat', {
      ...fixture('manychat', 'contact-created'),
      subscriber: { id: 'capi-retry-1', first_name: 'Re', email: 'retry@example.com' },
    });
    expect((await h.waitForLogs([log]))[0]).toMatchObject({ status: 'processed' });
    // One attempt's requests (the client's first try and its 4 retries) answered 503.
    fake.failWhen((r) => r.dataset === t.datasetId, { kind: 'server-error', status: 503 }, 5);
    const queue = tenantQueue(h.conn, t.id);
    const job = await queue.add(
      'capi.send',
      { tenantId: t.id },
      { jobId: `capi-send-${t.id}-retry`, attempts: 3, backoff: { type: 'fixed', delay: 4_000 } },
    );
    const lastError = async () =>
      (
        await h.admin.sql<{ last_error: string | null }[]>`
        select last_error from tenant_integrations where tenant_id = ${t.id} and provider = 'meta_capi'`
      )[0]?.last_error ?? null;
    const failing = await pollUntil(lastError, (e) => e !== null, { timeoutMs: 30_000, intervalMs: 50 });
    expect(failing).toMatch(/503.*\(attempt 1 of 3, will retry\)$/);
    expect(failing).not.toContain(t.token);
    expect(await queue.getJobState(job.id as string)).toBe('delayed');
    expect(await settledJobState(job, 'completed', 30_000)).toBe('completed');
    expect(await lastError()).toBeNull();
    expect(fake.capiEvents(t.datasetId).map((e) => e.event.event_name)).toEqual(['Lead']);
  });

  it('an expired token fails the job without retry, marks the integration, and the tick skips the tenant', async () => {
    const t = await makeCapiTenant();
    const log = await h.deliver(t.id, 'manychat', {
      ...fixture('manychat', 'contact-created'),
      subscriber: { id: 'capi-exp-1', first_name: 'Ex' },
    });
    // Processed first (it was a 300 ms sleep): with nothing to send yet the job would just complete.
    expect((await h.waitForLogs([log]))[0]).toMatchObject({ status: 'processed' });
    fake.failWhen((r) => r.dataset === t.datasetId, { kind: 'token-expired' }, 10);
    const { state, job } = await sendNow(t, 'expired');
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    const [i] = await h.admin.sql<{ last_error: string | null }[]>`
      select last_error from tenant_integrations where tenant_id = ${t.id} and provider = 'meta_capi'`;
    expect(i?.last_error).toMatch(new RegExp(`^${capiTokenExpiredError}: .*190`));
    expect(i?.last_error).not.toContain(t.token);
    const planned = await planCapiSendJobs(runtime.deps);
    expect(planned.map((p) => p.tenantId)).not.toContain(t.id);
    // A new token (operator: `mcb integration set`) clears last_error: planned again.
    await setIntegration(h.admin, keyring, {
      slug: t.slug,
      provider: 'meta_capi',
      credentials: { dataset_id: t.datasetId, access_token: t.token },
    });
    expect((await planCapiSendJobs(runtime.deps)).map((p) => p.tenantId)).toContain(t.id);
  });

  // A reviewer (stop 28): an unknown dataset or a missing permission is permanent (ADR 0017), yet the
  // tenant was planned every minute: a Meta request, a failed job and a last_error write each time.
  it('an integration whose whole request Meta refused is tried again after an hour, not every minute', async () => {
    const t = await makeCapiTenant();
    await h.admin.sql`
      update tenant_integrations set last_error = ${`${capiRefusedError}: Meta Graph 400 code 100/33: dataset does not exist`},
        updated_at = now()
      where tenant_id = ${t.id} and provider = 'meta_capi'`;
    const now = Date.now();
    expect((await planCapiSendJobs(runtime.deps, now)).map((p) => p.tenantId)).not.toContain(t.id);
    expect((await planCapiSendJobs(runtime.deps, now + capiRefusedRetryMs + 60_000)).map((p) => p.tenantId)).toContain(t.id);
    // And what a refused request records says so.
    expect(capiLastError(new MetaRequestError('Meta Graph 400 code 100/33: x', { status: 400, code: 100, subcode: 33 }))).toMatch(
      new RegExp(`^${capiRefusedError}: `),
    );
  });

  it('the tick plans one deterministic job per tenant and window; adding it twice queues it once', async () => {
    const a = await makeCapiTenant();
    const now = Date.now();
    const first = await planCapiSendJobs(runtime.deps, now);
    const second = await planCapiSendJobs(runtime.deps, now + 1);
    const mine = first.find((j) => j.tenantId === a.id);
    expect(mine?.jobId).toMatch(/^capi-send-[0-9a-f-]{36}-\d{8}T\d{6}Z$/);
    expect(second.find((j) => j.tenantId === a.id)?.jobId).toBe(mine?.jobId);
    // Two ticks in one window (two workers, a restart): one job on the tenant's own queue.
    await processCapiTick({} as Job, runtime.deps);
    await processCapiTick({} as Job, runtime.deps);
    const jobs = await tenantQueue(h.conn, a.id).getJobs(['waiting', 'active', 'completed', 'delayed', 'failed']);
    const ids = jobs.filter((j) => j.name === 'capi.send').map((j) => j.id);
    expect(ids.filter((id) => id === mine?.jobId).length).toBe(1);
    expect(jobs.find((j) => j.id === mine?.jobId)?.data).toEqual({ tenantId: a.id });
    await h.admin.sql`update tenants set is_active = false where id = ${a.id}`;
    expect((await planCapiSendJobs(runtime.deps, now)).map((j) => j.tenantId)).not.toContain(a.id);
  });

  it('Redis holds no token and no personal data: job data is the tenant id only', async () => {
    // The harness's shared ioredis client (the worker's package has no direct ioredis dependency).
    const redis = h.conn.connection as unknown as RedisReader;
    {
      const keys = await redis.keys(`${h.prefix}:*`);
      expect(keys.some((k) => k.includes('webhooks-'))).toBe(true);
      let dump = '';
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'string') dump += await redis.get(key);
        else if (type === 'hash') dump += JSON.stringify(await redis.hgetall(key));
        else if (type === 'list') dump += JSON.stringify(await redis.lrange(key, 0, -1));
        else if (type === 'set') dump += JSON.stringify(await redis.smembers(key));
        else if (type === 'zset') dump += JSON.stringify(await redis.zrange(key, 0, -1));
        else if (type === 'stream') dump += JSON.stringify(await redis.xrange(key, '-', '+'));
      }
      expect(dump).toContain('capi.send');
      const tokens = await h.admin.sql<{ n: number }[]>`select count(*)::int as n from tenant_integrations where provider = 'meta_capi'`;
      expect(tokens[0]!.n).toBeGreaterThan(0);
      expect(dump).not.toMatch(/EAAworkercapi/);
      for (const pii of ['maria.lopez@example.com', 'Maria.Lopez@example.com', '15552013344', '201-3344']) expect(dump).not.toContain(pii);
      // Hashes are not stored there either: the payloads live in Postgres only.
      expect(dump).not.toContain(sha('maria.lopez@example.com'));
    }
  });
});
