import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { type ServerType, serve } from '@hono/node-server';
import { createLogger } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection } from '@mcb/queue';
import { createReceiver, type Receiver } from '@mcb/receiver';
import { addTenant, createTenantContextLoader, generateKey, parseKeyring, setIntegration } from '@mcb/tenancy';
import { pollUntil, testEnv } from '@mcb/testing';
import { startWorkerRuntime, type WorkerRuntime, workerEnvSchema } from '@mcb/worker';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

// issue 16: `mcb urls` prints, per tool, the URL of the running receiver, where the secret goes, an
// example body and a curl; the curls are run here exactly as printed against a real receiver on a
// real port, and a real worker then handles what they stored.

const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const key = generateKey();
const keyring = parseKeyring(key);
const prefix = `${redisPrefix}-urls`;
const slug = `urls-${randomUUID().slice(0, 8)}`;
const secrets = {
  manychat: `mc-${randomUUID()}`,
  ghl: `ghl-${randomUUID()}`,
  denefits: `dn-${randomUUID()}`,
  perspective: `ps-${randomUUID()}`,
};
const stripeSecret = `whsec_${randomUUID().replaceAll('-', '')}`;

const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 4 });
const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, prefix);
const tenants = createTenantContextLoader({ admin, keyring, ttlMs: 0, listen: false });
let receiver: Receiver;
let server: ServerType;
let worker: WorkerRuntime;
let port: number;
let tenantId: string;
const saved = { ...process.env };

beforeAll(async () => {
  receiver = createReceiver({
    database: app,
    queue,
    tenants,
    log: createLogger({ name: 'urls-test', level: 'silent' }),
    // Not the 1.5 s production deadline: on a loaded machine a curl must not get a 503 here.
    dbTimeoutMs: 20_000,
  });
  server = serve({ fetch: receiver.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  port = (server.address() as AddressInfo).port;
  worker = await startWorkerRuntime(
    workerEnvSchema.parse({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      MCB_ENCRYPTION_KEY: key,
      WORKER_HEALTH_PORT: '0',
      // Its reconciler would walk the whole shared database and run other test files' rows.
      RECONCILE_INTERVAL_MS: '3600000',
      LOG_LEVEL: 'silent',
    }),
    createLogger({ name: 'urls-test-worker', level: 'silent' }),
  );
  const t = await addTenant(admin, { slug, name: 'Urls Clinic' });
  tenantId = t.id;
  for (const [provider, webhookSecret] of Object.entries({ ...secrets, stripe: stripeSecret })) {
    await setIntegration(admin, keyring, { slug, provider, webhookSecret });
  }
  await worker.webhooks.refresh();
  process.env.DATABASE_URL = databaseUrl;
  process.env.MCB_ENCRYPTION_KEY = key;
  delete process.env.PUBLIC_BASE_URL;
  // Not 3000: the receiver runs on another port, which `npm start` writes to .mcb/dev.env as PORT.
  process.env.PORT = String(port);
});

afterAll(async () => {
  process.env = saved;
  await worker?.close();
  await new Promise((r) => server?.close(r));
  await receiver?.close();
  await tenants.close();
  await queue.close();
  await Promise.all([admin.close(), app.close()]);
});

async function logsOf(id: string) {
  return admin.sql<{ id: number; source: string; status: string; event_type: string | null; error_message: string | null }[]>`
    select id, source, status, event_type, error_message from webhook_logs where tenant_id = ${id} order by id`;
}

async function waitUntil(fn: () => Promise<boolean>, ms = 20_000) {
  if (!(await pollUntil(fn, (ok) => ok, { timeoutMs: ms, intervalMs: 100 }))) throw new Error('condition not met in time');
}

describe('mcb urls <slug>', () => {
  it('prints per tool the running receiver URL, the secret carrier, an example body and a curl that works as printed', async () => {
    const run = await mcb('urls', slug, '--show-secrets');
    expect(run.code).toBe(0);
    const base = `http://127.0.0.1:${port}`;
    expect(run.stdout).toContain(`Receiver: ${base} — a receiver answers there\n`);
    expect(run.stdout).toContain(`manychat: ${base}/api/webhooks/${slug}/manychat   [integration active]\n`);
    expect(run.stdout).toContain('  Secret: header X-Webhook-Secret\n');
    expect(run.stdout).toContain(`  Secret: URL parameter ?secret= (Perspective takes only a URL)\n`);
    expect(run.stdout).toContain(`X-Webhook-Secret: ${secrets.manychat}`);
    expect(run.stdout).toContain('Example body (what the tool sends):\n    {"key":"user:1000000001","id":"1000000001"');

    const curls = run.stdout.split('\n').filter((line) => line.startsWith('    curl '));
    expect(curls).toHaveLength(5);
    for (const line of curls) {
      // Exactly as printed, through a shell (asynchronously: the receiver answers from this process).
      const sent = await promisify(execFile)('sh', ['-c', line.trim()], { encoding: 'utf8', timeout: 20_000 });
      expect(JSON.parse(sent.stdout), `${line}\n${sent.stderr}`).toEqual({ received: true, id: expect.any(Number) });
    }
    // Each test delivery was verified and stored (200 above), then ignored by the worker: nothing counted.
    await waitUntil(async () => (await logsOf(tenantId)).filter((l) => l.status === 'ignored').length === 5);
    const logs = await logsOf(tenantId);
    expect(logs.map((l) => l.source).sort()).toEqual(['denefits', 'ghl', 'manychat', 'perspective', 'stripe']);
    // Said as it is: stored and ignored, counted by mcb stats among the ignored logs (it read "never counted").
    for (const log of logs)
      expect(log.error_message).toBe('test delivery ("mcb_test": true): verified and stored, then ignored: no contact, event or payment');
    const [{ n }] = (await admin.sql`select count(*)::int as n from funnel_events where tenant_id = ${tenantId}`) as unknown as [
      { n: number },
    ];
    expect(n).toBe(0);
  }, 60_000);

  it('masks the secrets without --show-secrets', async () => {
    const run = await mcb('urls', slug);
    expect(run.code).toBe(0);
    for (const secret of [...Object.values(secrets), stripeSecret]) expect(run.stdout).not.toContain(secret);
    expect(run.stdout).toContain("-H 'X-Webhook-Secret: <manychat-secret>'");
    expect(run.stdout).toContain('Headers: X-Webhook-Secret: <manychat-secret>');
  });

  it('prints no test curl for a tool without an integration: it says the delivery would get 401 and what to run', async () => {
    const partial = `urls-part-${randomUUID().slice(0, 8)}`;
    await addTenant(admin, { slug: partial, name: 'Half Set Up' });
    await setIntegration(admin, keyring, { slug: partial, provider: 'manychat', webhookSecret: secrets.manychat });
    const run = await mcb('urls', partial);
    expect(run.code).toBe(0);
    const base = `http://127.0.0.1:${port}`;
    expect(run.stdout).toContain(`manychat: ${base}/api/webhooks/${partial}/manychat   [integration active]\n`);
    expect(run.stdout).toContain(`stripe: ${base}/api/webhooks/${partial}/stripe   [no integration yet: deliveries get 401]\n`);
    const curls = run.stdout.split('\n').filter((line) => line.startsWith('    curl '));
    expect(curls).toHaveLength(1);
    expect(curls[0]).toContain(`/api/webhooks/${partial}/manychat`);
    expect(run.stdout).toContain(
      `(no test curl: the stripe integration does not exist yet, so a delivery would get 401 missing_credentials; first run mcb integration set ${partial} stripe --webhook-secret whsec_…)`,
    );
    // The GET check answers ok for stripe too (SPEC §3: it never reveals whether an integration is set):
    // what it prints about that check must not read as "the tool is set up".
    const get = await fetch(`${base}/api/webhooks/${partial}/stripe`);
    expect(await get.json()).toEqual({ status: 'ok', tenant: partial, source: 'stripe' });
    expect(run.stdout.replace(/\s+/g, ' ')).toContain(
      `Check each URL: curl ${base}/api/webhooks/${partial}/<source> → {"status":"ok",…} means the URL reaches this tenant, not that the tool's integration is set (the GET never says; see [integration …] above).`,
    );
    // What it says is what the receiver does.
    const res = await fetch(`${base}/api/webhooks/${partial}/denefits`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secrets.denefits },
      body: '{"webhook_type":"contract.created"}',
    });
    expect(res.status).toBe(401);

    // An inactive tenant: no tool gets a curl, whatever its integration, and the receiver answers 404.
    expect((await mcb('tenant', 'deactivate', partial)).code).toBe(0);
    const inactive = await mcb('urls', partial);
    expect(inactive.stdout).toContain(`manychat: ${base}/api/webhooks/${partial}/manychat   [tenant INACTIVE: deliveries get 404]\n`);
    expect(inactive.stdout.split('\n').filter((line) => line.startsWith('    curl '))).toHaveLength(0);
    expect(inactive.stdout).toContain(
      `(no test curl: the tenant is inactive, so a delivery would get 404; first run mcb tenant activate ${partial})`,
    );
    const refused = await fetch(`${base}/api/webhooks/${partial}/manychat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secrets.manychat },
      body: '{"id":"1","email":"a@example.com"}',
    });
    expect(refused.status).toBe(404);
  });

  it("prints Stripe's example body and test delivery in the tenant's reporting currency", async () => {
    const yen = `urls-jpy-${randomUUID().slice(0, 8)}`;
    await addTenant(admin, { slug: yen, name: 'Yen Clinic', currency: 'jpy' });
    await setIntegration(admin, keyring, { slug: yen, provider: 'stripe', webhookSecret: stripeSecret });
    const run = await mcb('urls', yen, '--show-secrets');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    const stripeAt = lines.findIndex((l) => l.startsWith('stripe: '));
    const body = JSON.parse((lines[stripeAt + lines.slice(stripeAt).indexOf('  Example body (what the tool sends):') + 1] ?? '').trim());
    expect(body.data.object).toMatchObject({ currency: 'jpy', amount_total: 10000 });
    const curl = lines.slice(stripeAt).find((l) => l.startsWith('    curl ')) as string;
    expect(curl).toContain('"currency":"jpy"');
    expect(run.stdout).not.toContain('"currency":"usd"');
    // Still signed over exactly the body it sends: the receiver takes it.
    const sent = await promisify(execFile)('sh', ['-c', curl.trim()], { encoding: 'utf8', timeout: 20_000 });
    expect(JSON.parse(sent.stdout)).toEqual({ received: true, id: expect.any(Number) });
    // A tenant without a currency reports in usd, and its example says so.
    expect((await mcb('urls', slug)).stdout).toContain('"currency":"usd"');
    // A Stripe secret is stored: the step names rotate-secret, not the set that would now be refused (review of stop 38).
    expect(run.stdout).toContain(
      `mcb integration rotate-secret ${yen} stripe --webhook-secret whsec_… (the stored one stays valid for the overlap)`,
    );
    expect(run.stdout).not.toContain(`mcb integration set ${yen} stripe --webhook-secret whsec_…`);
    // Without one, the step is the set that stores it.
    const bare = `urls-bare-${randomUUID().slice(0, 8)}`;
    await addTenant(admin, { slug: bare, name: 'Bare Clinic' });
    expect((await mcb('urls', bare)).stdout).toContain(
      `Copy the endpoint's signing secret, then: mcb integration set ${bare} stripe --webhook-secret whsec_…`,
    );
  });

  it('says when nothing answers at the URL it prints, and what to check for a PUBLIC_BASE_URL', async () => {
    process.env.PUBLIC_BASE_URL = 'http://127.0.0.1:9';
    try {
      const run = await mcb('urls', slug);
      expect(run.stdout).toContain(
        'Receiver: http://127.0.0.1:9 — nothing answers from here: check that PUBLIC_BASE_URL reaches a running receiver (DNS, proxy or load balancer, TLS)',
      );
      expect(run.stdout).not.toContain('PUBLIC_BASE_URL is not set');
    } finally {
      delete process.env.PUBLIC_BASE_URL;
    }
    // Without it: the local receiver, and a warning that no provider reaches it (an operator's review, stop 38).
    const local = await mcb('urls', slug);
    expect(local.stdout).toContain(
      'This is a local address (PUBLIC_BASE_URL is not set): the providers cannot reach it. Before pasting these URLs into a tool, set PUBLIC_BASE_URL',
    );
  });

  it('each printed example body, sent as is, is processed into what it stands for: one person, her funnel events, her payments', async () => {
    // Its own tenant: the first test counts this file's tenant's funnel events.
    const own = `urls-ex-${randomUUID().slice(0, 8)}`;
    const t = await addTenant(admin, { slug: own, name: 'Example Bodies' });
    for (const [provider, webhookSecret] of Object.entries({ ...secrets, stripe: stripeSecret })) {
      await setIntegration(admin, keyring, { slug: own, provider, webhookSecret });
    }
    await worker.webhooks.refresh();
    const run = await mcb('urls', own);
    expect(run.code).toBe(0);
    // The JSON line under each "Example body", by the source whose section it is in.
    const printed: Record<string, string> = {};
    let section = '';
    const lines = run.stdout.split('\n');
    lines.forEach((line, i) => {
      section = /^(\w+): http/.exec(line)?.[1] ?? section;
      if (line === '  Example body (what the tool sends):') printed[section] = (lines[i + 1] ?? '').trim();
    });
    expect(Object.keys(printed).sort()).toEqual(['denefits', 'ghl', 'manychat', 'perspective', 'stripe']);

    const send = async (source: string) => {
      const body = printed[source] as string;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (source === 'stripe')
        headers['stripe-signature'] = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: stripeSecret });
      else headers['x-webhook-secret'] = secrets[source as keyof typeof secrets];
      const res = await fetch(`http://127.0.0.1:${port}/api/webhooks/${own}/${source}`, { method: 'POST', headers, body });
      expect(res.status, `${source}: ${await res.clone().text()}`).toBe(200);
      const { id } = (await res.json()) as { id: number };
      await waitUntil(async () => (await logsOf(t.id)).find((l) => l.id === id)?.status !== 'received');
      return id;
    };
    // ManyChat first: the person exists when the payments arrive (an orphan would be linked later anyway, SPEC §6.3).
    for (const source of ['manychat', 'ghl', 'stripe', 'denefits', 'perspective']) await send(source);
    await waitUntil(async () => (await logsOf(t.id)).every((l) => l.status !== 'received' && l.status !== 'processing'));
    expect((await logsOf(t.id)).map((l) => [l.source, l.status, l.error_message])).toEqual(
      ['manychat', 'ghl', 'stripe', 'denefits', 'perspective'].map((source) => [source, 'processed', null]),
    );

    const contacts = await admin.sql<{ id: string; merged_into_id: string | null }[]>`
      select id, merged_into_id from contacts where tenant_id = ${t.id} and merged_into_id is null`;
    expect(contacts).toHaveLength(1);
    const person = (contacts[0] as { id: string }).id;
    const events = await admin.sql<{ event_type: string; contact_id: string }[]>`
      select event_type, contact_id from funnel_events where tenant_id = ${t.id} order by event_type`;
    expect([...events]).toEqual(
      ['appointment_scheduled', 'contact_subscribed', 'deposit_paid', 'form_submitted', 'payment_plan_created'].map((event_type) => ({
        event_type,
        contact_id: person,
      })),
    );
    const payments = await admin.sql<{ source: string; category: string; amount_cents: string; contact_id: string | null }[]>`
      select source, category, amount_cents::text, contact_id from payments where tenant_id = ${t.id} order by source, category`;
    expect([...payments]).toEqual([
      { source: 'denefits', category: 'downpayment', amount_cents: '30000', contact_id: person },
      { source: 'denefits', category: 'payment_plan', amount_cents: '240000', contact_id: person },
      { source: 'stripe', category: 'deposit', amount_cents: '10000', contact_id: person },
    ]);
  }, 60_000);

  it('the flat Full Contact Data body with ?event= on the URL is processed as that event (issue 16, end to end)', async () => {
    const flat = {
      key: 'user:5550001',
      id: '5550001',
      page_id: '104938271650123',
      first_name: 'Flat',
      last_name: 'Body',
      email: 'flat.body@example.com',
      custom_fields: { source: 'instagram' },
    };
    const res = await fetch(`http://127.0.0.1:${port}/api/webhooks/${slug}/manychat?event=link_clicked`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secrets.manychat },
      body: JSON.stringify(flat),
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: number };
    await waitUntil(async () => (await logsOf(tenantId)).find((l) => l.id === id)?.status === 'processed');
    const events = await admin.sql`
      select e.event_type, c.mc_id, c.email_primary from funnel_events e join contacts c on c.tenant_id = e.tenant_id and c.id = e.contact_id
      where e.tenant_id = ${tenantId} and e.webhook_log_id = ${id}`;
    expect([...events]).toEqual([{ event_type: 'link_clicked', mc_id: '5550001', email_primary: 'flat.body@example.com' }]);

    const bad = await fetch(`http://127.0.0.1:${port}/api/webhooks/${slug}/manychat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secrets.manychat },
      body: JSON.stringify({ event_type: 'link_clicked' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^ManyChat body has no subscriber id/);
  }, 60_000);
});
