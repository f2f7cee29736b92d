import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { createLogger } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection, WebhookEnqueuer, webhookJobId } from '@mcb/queue';
import { createReceiver } from '@mcb/receiver';
import { parseGhlPublicKeys } from '@mcb/sources';
import { addTenant, createTenantContextLoader, parseKeyring, setGhlLocationIds, setIntegration } from '@mcb/tenancy';
import { pollUntil, testEnv } from '@mcb/testing';
import { startWorkerRuntime, type WorkerRuntime, workerEnvSchema } from '@mcb/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

const runTag = randomUUID().slice(0, 8);
/** GHL location ids of this file: unique per run (a location can be bound to one tenant only, and test files share a database). */
const L = { loc_alpha: `loc_alpha_${runTag}`, loc_bravo: `loc_bravo_${runTag}` };

// Issue 13 fault suite: the two attacks the issue reproduced, end to end with the real receiver,
// a real worker runtime, and the real `mcb replay`:
// - a forged ManyChat webhook (wrong secret) is stored rejected; replaying it creates nothing;
// - a HighLevel-signed delivery meant for bravo, replayed at alpha, is refused and stays inert.

const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const prefix = `${redisPrefix}-attacks`;
const encryptionKey = randomBytes(32).toString('base64');
const keyring = parseKeyring(encryptionKey);
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 4 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 4 });
const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, prefix);
const enqueuer = new WebhookEnqueuer(queue, 2);
const tenants = createTenantContextLoader({ admin, keyring, ttlMs: 0, listen: false });
const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: { export: (o: { type: 'spki'; format: 'pem' }) => string | Buffer }) => String(k.export({ type: 'spki', format: 'pem' }));
const receiver = createReceiver({
  database: app,
  queue,
  log: createLogger({ name: 'attack-receiver', level: 'silent' }),
  tenants,
  enqueuer,
  ghlPublicKeys: parseGhlPublicKeys({ ed25519: pem(ed.publicKey), rsa: pem(rsa.publicKey) }),
  // Not the 1.5 s production deadline: on a loaded machine a delivery must not become a 503 here.
  dbTimeoutMs: 20_000,
});
let worker: WorkerRuntime;
const secret = `mc-secret-${randomUUID()}`;
let acme: { id: string; slug: string };
let alpha: { id: string; slug: string };
let bravo: { id: string; slug: string };

async function tenant(label: string) {
  const slug = `${label}-${randomBytes(4).toString('hex')}`;
  const t = await addTenant(admin, { slug, name: `Tenant ${slug}` });
  for (const provider of ['manychat', 'ghl'])
    await setIntegration(admin, keyring, { slug, provider, webhookSecret: `${secret}-${label}`, credentials: { api_key: 'unused' } });
  return { id: t.id, slug };
}

beforeAll(async () => {
  process.env.DATABASE_URL = databaseUrl;
  process.env.REDIS_URL = redisUrl;
  process.env.QUEUE_PREFIX = prefix;
  process.env.MCB_ENCRYPTION_KEY = encryptionKey;
  acme = await tenant('acme');
  alpha = await tenant('alpha');
  bravo = await tenant('bravo');
  await setGhlLocationIds(admin, alpha.slug, [L.loc_alpha]);
  await setGhlLocationIds(admin, bravo.slug, [L.loc_bravo]);
  worker = await startWorkerRuntime(
    workerEnvSchema.parse({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      MCB_ENCRYPTION_KEY: encryptionKey,
      WORKER_HEALTH_PORT: '0',
      WORKER_TENANT_REFRESH_MS: '200',
      // Its reconciler would walk the whole shared database and run other test files' rows.
      RECONCILE_INTERVAL_MS: '3600000',
      LOG_LEVEL: 'silent',
    }),
    createLogger({ name: 'attack-worker', level: 'silent' }),
  );
});

afterAll(async () => {
  await worker?.close();
  await receiver.close();
  await tenants.close();
  await enqueuer.close();
  await queue.close();
  await Promise.all([admin.close(), app.close()]);
});

const post = (slug: string, source: string, body: string, headers: Record<string, string>) =>
  receiver.app.request(`/api/webhooks/${slug}/${source}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });

async function until(check: () => Promise<boolean>, what: string, ms = 20_000) {
  if (!(await pollUntil(check, (ok) => ok, { timeoutMs: ms }))) throw new Error(`timed out: ${what}`);
}

const rowsOf = (tenantId: string) =>
  admin.sql<
    { id: number; status: string; attempts: number }[]
  >`select id, status, attempts from webhook_logs where tenant_id = ${tenantId} order by id`;
const contactsOf = async (tenantId: string) =>
  (await admin.sql<{ n: number }[]>`select count(*)::int as n from contacts where tenant_id = ${tenantId}`)[0]?.n;

describe('replay cannot turn a rejected delivery into data', () => {
  it('forged ManyChat webhook: 401 + rejected; mcb replay --status rejected --yes creates no contact', async () => {
    const forged = JSON.stringify({
      subscriber: { id: 'attacker-1', first_name: 'Mallory', email: 'mallory@evil.example' },
      event_type: 'contact_created',
    });
    const res = await post(acme.slug, 'manychat', forged, { 'x-webhook-secret': 'guessed-wrong-secret' });
    expect(res.status).toBe(401);
    // A genuine delivery proves the worker runs for this tenant.
    const genuine = JSON.stringify({
      subscriber: { id: 'real-1', first_name: 'Ann', email: 'ann@acme.example' },
      event_type: 'contact_created',
    });
    expect((await post(acme.slug, 'manychat', genuine, { 'x-webhook-secret': `${secret}-acme` })).status).toBe(200);
    await until(async () => (await rowsOf(acme.id)).some((r) => r.status === 'processed'), 'the genuine delivery');
    // The row is final a moment before BullMQ moves its job, and a replay of a job still active is a no-op.
    const processed = (await rowsOf(acme.id)).find((r) => r.status === 'processed');
    await until(
      async () => (await enqueuer.queueFor(acme.id).getJobState(webhookJobId(processed?.id as number))) === 'completed',
      'the genuine delivery’s job to complete',
    );

    const replay = await mcb('replay', '--tenant', acme.slug, '--status', 'rejected', '--yes');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('No log to replay (1 matched).');
    const all = await mcb('replay', '--tenant', acme.slug, '--yes');
    expect(all.stdout).toMatch(/Replayed 1 of 2 log\(s\)/);
    expect(all.stdout).toContain('Skipped 1 (1 rejected)');
    await until(async () => (await rowsOf(acme.id)).every((r) => r.status !== 'received' && r.status !== 'processing'), 'the replay');

    const rows = await rowsOf(acme.id);
    expect(rows.map((r) => r.status)).toEqual(['rejected', 'processed']);
    expect(rows[0]?.attempts).toBe(0);
    expect(await contactsOf(acme.id)).toBe(1);
    expect(await admin.sql`select id from contacts where tenant_id = ${acme.id} and mc_id = 'attacker-1'`).toHaveLength(0);
  });

  it("cross-tenant GHL replay: bravo's signed delivery sent to alpha is refused, stored rejected, and replay leaves it inert", async () => {
    const body = JSON.stringify({
      type: 'ContactCreate',
      webhookId: randomUUID(),
      locationId: L.loc_bravo,
      timestamp: new Date().toISOString(),
      contact_id: 'ghl-bravo-1',
      email: 'person@bravo.example',
    });
    const signature = sign(null, Buffer.from(body), ed.privateKey).toString('base64');
    expect((await post(bravo.slug, 'ghl', body, { 'x-ghl-signature': signature })).status).toBe(200);
    const atAlpha = await post(alpha.slug, 'ghl', body, { 'x-ghl-signature': signature });
    expect(atAlpha.status).toBe(401);
    await until(async () => (await rowsOf(bravo.id)).some((r) => r.status === 'processed'), 'bravo processing its delivery');
    expect(await contactsOf(bravo.id)).toBe(1);

    const replay = await mcb('replay', '--tenant', alpha.slug, '--yes');
    expect(replay.stdout).toContain('No log to replay (1 matched).');
    await new Promise((r) => setTimeout(r, 500));
    expect((await rowsOf(alpha.id)).map((r) => [r.status, r.attempts])).toEqual([['rejected', 0]]);
    expect(await contactsOf(alpha.id)).toBe(0);
  });
});
