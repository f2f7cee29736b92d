import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { rotateWebhookSecret, setGhlLocationIds, setTenantActive } from '@mcb/tenancy';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ghlKeysFromEnv, receiverEnvSchema } from '../src/env';
import { captureLogger, countJobs, createHarness, eventually, type Harness, logsOf, makeReceiver, makeTenant } from './harness';

const h: Harness = createHarness('recv');
afterAll(() => h.close());

const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: { export: (o: { type: 'spki'; format: 'pem' }) => string | Buffer }) => String(k.export({ type: 'spki', format: 'pem' }));
// The test key pairs go in through the same env variables production uses (literal \n, as env files hold them).
const env = receiverEnvSchema.parse({
  DATABASE_URL: 'postgres://unused@127.0.0.1/x',
  MCB_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
  GHL_ED25519_PUBLIC_KEY: pem(ed.publicKey).replaceAll('\n', '\\n'),
  GHL_RSA_PUBLIC_KEY: pem(rsa.publicKey),
});
const ghlPublicKeys = ghlKeysFromEnv(env);

let clock = new Date();
const receiver = makeReceiver(h, { ghlPublicKeys, now: () => clock });
afterAll(() => receiver.close());

const stripeSecret = `whsec_${randomUUID().replaceAll('-', '')}`;
const shared = `sh-${randomUUID()}`;
let tenant: { id: string; slug: string };

beforeAll(async () => {
  tenant = await makeTenant(h, { stripe: stripeSecret, ghl: shared, manychat: shared, denefits: shared, perspective: shared });
});

type Init = { headers?: Record<string, string>; query?: string };
const post = async (slug: string, source: string, body: string, init: Init = {}): Promise<Response> =>
  await receiver.app.request(`/api/webhooks/${slug}/${source}${init.query ?? ''}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...init.headers },
  });
const stripeHeader = (payload: string, secret = stripeSecret, at = clock) =>
  Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: Math.floor(at.getTime() / 1000) });
const stripeEvent = (id = `evt_${randomUUID().replaceAll('-', '')}`) =>
  JSON.stringify({ id, object: 'event', type: 'checkout.session.completed', data: { object: { id: `cs_${id}`, amount_total: 10000 } } });
const edSig = (body: string) => sign(null, Buffer.from(body), ed.privateKey).toString('base64');
const rsaSig = (body: string) => sign('sha256', Buffer.from(body), rsa.privateKey).toString('base64');

/** A valid delivery per source and how to authenticate it. */
const sources = {
  stripe: {
    body: () => stripeEvent(),
    auth: (b: string, secret = stripeSecret) => ({ headers: { 'stripe-signature': stripeHeader(b, secret) } }),
  },
  ghl: {
    body: () => JSON.stringify({ type: 'ContactCreate', webhookId: randomUUID(), locationId: 'loc1', contact_id: 'c1' }),
    auth: (_b: string, secret = shared) => ({ headers: { 'x-webhook-secret': secret } }),
  },
  manychat: {
    body: () => JSON.stringify({ subscriber: { id: randomUUID(), first_name: 'Ann' }, event_type: 'contact_created' }),
    auth: (_b: string, secret = shared) => ({ headers: { 'x-webhook-secret': secret } }),
  },
  denefits: {
    body: () => JSON.stringify({ webhook_type: 'contract.created', data: { contract: { contract_code: randomUUID() } } }),
    auth: (_b: string, secret = shared) => ({ query: `?secret=${encodeURIComponent(secret)}` }),
  },
  perspective: {
    body: () => JSON.stringify({ id: randomUUID(), funnelName: 'F', profile: { email: { value: 'a@b.co' } } }),
    auth: (_b: string, secret = shared) => ({ headers: { authorization: `Bearer ${secret}` } }),
  },
} as const;
type SourceName = keyof typeof sources;

async function jsonOf(res: Response) {
  return (await res.json()) as Record<string, unknown> & { id?: number; error?: { code: string; message: string; requestId: string } };
}

describe('SPEC §3 table', () => {
  it('verified, new: 200 {received, id} after commit; row received; job {logId} enqueued with a log-derived id', async () => {
    const body = stripeEvent();
    const res = await post(tenant.slug, 'stripe', body, sources.stripe.auth(body));
    expect(res.status).toBe(200);
    const json = await jsonOf(res);
    expect(json).toEqual({ received: true, id: expect.any(Number) });
    const rows = (await logsOf(h, tenant.id)).filter((r) => r.id === json.id);
    expect(rows[0]).toMatchObject({
      status: 'received',
      source: 'stripe',
      event_type: 'checkout.session.completed',
      payload: JSON.parse(body),
    });
    // The answer does not wait for the enqueue (the reconciler is the safety net): the job follows at once.
    await eventually(async () => (await h.jobs.queueFor(tenant.id).getJob(`log-${json.id}`)) !== undefined);
    const job = await h.jobs.queueFor(tenant.id).getJob(`log-${json.id}`);
    expect(job?.name).toBe('webhook.process');
    // Ids only, never the payload (SPEC §1) — and the payload's length, which the worker budgets its memory by.
    expect(job?.data).toEqual({ logId: json.id, bytes: body.length });
    // One write per row: the receiver never updates it after the insert.
    expect(rows[0]?.enqueued_at).toBeNull();
  });

  // Docs walk, stop 37: the receiver did not read JOB_ATTEMPTS; every delivery's job had 8 attempts whatever it said.
  it('the jobs it adds have the attempts it is configured with (JOB_ATTEMPTS)', async () => {
    const own = makeReceiver(h, { enqueuer: undefined, jobAttempts: 3, now: () => clock });
    try {
      const body = stripeEvent();
      const res = await own.app.request(`/api/webhooks/${tenant.slug}/stripe`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...sources.stripe.auth(body).headers },
      });
      expect(res.status).toBe(200);
      const { id } = await jsonOf(res);
      await eventually(async () => (await h.jobs.queueFor(tenant.id).getJob(`log-${id}`)) !== undefined);
      expect((await h.jobs.queueFor(tenant.id).getJob(`log-${id}`))?.opts.attempts).toBe(3);
    } finally {
      await own.close();
    }
  });

  it('verified, same dedupe_key: 200 duplicate with the first id; no new row, no new job', async () => {
    const body = stripeEvent();
    const first = await jsonOf(await post(tenant.slug, 'stripe', body, sources.stripe.auth(body)));
    await eventually(async () => (await h.jobs.queueFor(tenant.id).getJob(`log-${first.id}`)) !== undefined);
    // Jobs are enqueued after the answer: wait for every background enqueue before counting, and after.
    await receiver.drain();
    const rowsBefore = (await logsOf(h, tenant.id)).length;
    const jobsBefore = await countJobs(h.jobs, tenant.id);
    // A redelivery is signed again by Stripe (new t=), same event id.
    clock = new Date(clock.getTime() + 1000);
    const again = await post(tenant.slug, 'stripe', body, sources.stripe.auth(body));
    expect(again.status).toBe(200);
    expect(await jsonOf(again)).toEqual({ received: true, duplicate: true, id: first.id });
    await receiver.drain();
    expect((await logsOf(h, tenant.id)).length).toBe(rowsBefore);
    expect(await countJobs(h.jobs, tenant.id)).toBe(jobsBefore);
  });

  it('unknown or inactive tenant: 404 unknown_tenant, nothing stored', async () => {
    const res = await post('no-such-tenant', 'stripe', '{}');
    expect(res.status).toBe(404);
    const json = await jsonOf(res);
    expect(json.error).toEqual({ code: 'unknown_tenant', message: 'Unknown tenant: no-such-tenant', requestId: expect.any(String) });
    expect(res.headers.get('x-request-id')).toBe(json.error?.requestId);
    const pending = await makeTenant(h, { stripe: stripeSecret }, { isActive: false });
    const body = stripeEvent();
    const res2 = await post(pending.slug, 'stripe', body, sources.stripe.auth(body));
    expect(res2.status).toBe(404);
    expect((await jsonOf(res2)).error?.code).toBe('unknown_tenant');
    expect(await logsOf(h, pending.id)).toHaveLength(0);
    await setTenantActive(h.admin, pending.slug, true);
    receiver.tenants.invalidate();
    expect((await post(pending.slug, 'stripe', body, sources.stripe.auth(body))).status).toBe(200);
  });

  it('unknown source: 404 unknown_source, nothing stored', async () => {
    const before = (await logsOf(h, tenant.id)).length;
    const res = await post(tenant.slug, 'paypal', '{}', { headers: { 'x-webhook-secret': shared } });
    expect(res.status).toBe(404);
    expect((await jsonOf(res)).error).toMatchObject({ code: 'unknown_source', message: 'Unknown source: paypal' });
    expect((await logsOf(h, tenant.id)).length).toBe(before);
  });

  it('an unknown tenant or source of 5,000 characters: the 404 and the access log line carry its first 64 characters and "…", no more', async () => {
    const cap = captureLogger();
    const r = makeReceiver(h, { log: cap.log });
    const long = 'a'.repeat(5_000);
    const cut = `${'a'.repeat(64)}…`;
    const cases = [
      {
        path: `/api/webhooks/${long}/stripe`,
        code: 'unknown_tenant',
        message: `Unknown tenant: ${cut}`,
        url: `/api/webhooks/${cut}/stripe`,
      },
      {
        path: `/api/webhooks/${tenant.slug}/${long}`,
        code: 'unknown_source',
        message: `Unknown source: ${cut}`,
        url: `/api/webhooks/${tenant.slug}/${cut}`,
      },
    ];
    try {
      for (const { path, code, message } of cases) {
        for (const method of ['POST', 'GET']) {
          const res = await r.app.request(path, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
          expect(res.status, `${method} ${code}`).toBe(404);
          expect(((await res.json()) as { error: unknown }).error).toEqual({ code, message, requestId: expect.any(String) });
        }
      }
      // A slug of up to 64 characters is echoed whole (slugs are at most 40).
      const res = await r.app.request(`/api/webhooks/${'b'.repeat(64)}/stripe`, { method: 'POST', body: '{}' });
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe(`Unknown tenant: ${'b'.repeat(64)}`);
    } finally {
      await r.close();
    }
    const access = cap.lines.map((line) => JSON.parse(line) as { msg: string; url: string; outcome: string });
    expect(access.filter((line) => line.msg === 'webhook').map(({ url, outcome }) => ({ url, outcome }))).toEqual([
      { url: cases[0]?.url, outcome: 'unknown_tenant' },
      { url: cases[1]?.url, outcome: 'unknown_source' },
      { url: `/api/webhooks/${'b'.repeat(64)}/stripe`, outcome: 'unknown_tenant' },
    ]);
    for (const line of cap.lines) expect(line).not.toContain('a'.repeat(65));
  });

  it('no active integration / no secret: 401 missing_credentials, log rejected with the body', async () => {
    const bare = await makeTenant(h, { manychat: null });
    const body = sources.manychat.body();
    const noSecret = await post(bare.slug, 'manychat', body, sources.manychat.auth(body));
    expect(noSecret.status).toBe(401);
    expect((await jsonOf(noSecret)).error).toMatchObject({ code: 'missing_credentials' });
    const noIntegration = await post(bare.slug, 'stripe', stripeEvent(), sources.stripe.auth(stripeEvent()));
    expect(noIntegration.status).toBe(401);
    expect((await jsonOf(noIntegration)).error?.message).toBe(`Missing credentials: stripe for tenant ${bare.slug}`);
    const rows = await logsOf(h, bare.id);
    expect(rows.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    // Evidence, never input: the body is kept as raw bytes (not parsed), no payload.
    expect(rows[0]?.payload).toBeNull();
    expect(rows[0]?.raw_body).toBe(body);
    expect(rows[0]?.error_message).toMatch(/^missing_credentials/);
    expect(await countJobs(h.jobs, bare.id)).toBe(0);
  });

  it('wrong signature: 401 invalid_signature, log rejected; a later genuine delivery with the same event id is accepted', async () => {
    const body = stripeEvent();
    const forged = await post(tenant.slug, 'stripe', body, sources.stripe.auth(body, 'whsec_forged'));
    expect(forged.status).toBe(401);
    const answer = await jsonOf(forged);
    expect(answer.error?.code).toBe('invalid_signature');
    const genuine = await post(tenant.slug, 'stripe', body, sources.stripe.auth(body));
    expect(genuine.status).toBe(200);
    expect(await jsonOf(genuine)).toEqual({ received: true, id: expect.any(Number) });
    const rows = (await logsOf(h, tenant.id)).filter((r) => r.dedupe_key === JSON.parse(body).id || r.raw_body === body);
    expect(rows.map((r) => r.status)).toEqual(['rejected', 'received']);
    // For the operator: what was checked and how to compare (it read `invalid_signature: Invalid signature`,
    // operator walk, stop 37); the sender was told only `Invalid signature`.
    expect(rows[0]?.error_message).toBe(
      `invalid_signature: the Stripe-Signature header verifies with none of the tenant's Stripe signing secrets (compare the endpoint's whsec_… in Stripe's dashboard with the last 4 characters mcb integration list ${tenant.slug} shows, or store Stripe's with mcb integration rotate-secret ${tenant.slug} stripe --webhook-secret)`,
    );
    expect(answer.error?.message).toBe('Invalid signature');
  });

  it('wrong shared secret: the stored reason names where the secret was sent and how to compare, never its value', async () => {
    const body = JSON.stringify({ subscriber: { id: `wrong-${Date.now()}` }, event_type: 'contact_created' });
    const cases: Array<[string, Record<string, string>, string]> = [
      ['', { 'x-webhook-secret': 'not-the-secret-1' }, 'the X-Webhook-Secret header'],
      ['', { authorization: 'Bearer not-the-secret-2' }, 'the Authorization: Bearer header'],
      ['?secret=not-the-secret-3', {}, "the URL's secret query parameter"],
    ];
    for (const [query, headers, place] of cases) {
      const res = await post(tenant.slug, 'manychat', body, { query, headers });
      expect(res.status).toBe(401);
      const [row] = (await logsOf(h, tenant.id)).filter((r) => r.source === 'manychat' && r.status === 'rejected').slice(-1);
      expect(row?.error_message).toBe(
        `invalid_signature: the secret in ${place} matches none of the tenant's manychat webhook secrets (the current one, and the previous one during a rotation); compare with mcb urls ${tenant.slug} --show-secrets`,
      );
      expect(row?.error_message).not.toContain('not-the-secret');
    }
  });

  it('body over the limit: 413 payload_too_large, nothing stored (declared length and chunked)', async () => {
    const small = makeReceiver(h, { bodyLimitBytes: 2048 });
    const before = (await logsOf(h, tenant.id)).length;
    const big = JSON.stringify({ pad: 'x'.repeat(4096) });
    const declared = await small.app.request(`/api/webhooks/${tenant.slug}/manychat`, {
      method: 'POST',
      body: big,
      headers: { 'content-length': String(big.length), 'x-webhook-secret': shared },
    });
    expect(declared.status).toBe(413);
    expect((await jsonOf(declared)).error?.code).toBe('payload_too_large');
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 8; i++) c.enqueue(new TextEncoder().encode('x'.repeat(1024)));
        c.close();
      },
    });
    const chunked = await small.app.request(`/api/webhooks/${tenant.slug}/manychat`, {
      method: 'POST',
      body: stream,
      headers: { 'x-webhook-secret': shared },
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await logsOf(h, tenant.id)).length).toBe(before);
    await small.close();
  });

  it('default body limit is 1 MiB', async () => {
    const body = JSON.stringify({ subscriber: { id: randomUUID() }, pad: 'x'.repeat(1024 * 1024) });
    expect((await post(tenant.slug, 'manychat', body, sources.manychat.auth(body))).status).toBe(413);
  });

  it('body not JSON: 400 invalid_json, log rejected with the raw body', async () => {
    const raw = `not json ${randomUUID()}`;
    const res = await post(tenant.slug, 'perspective', raw, sources.perspective.auth(raw));
    expect(res.status).toBe(400);
    expect((await jsonOf(res)).error?.code).toBe('invalid_json');
    const row = (await logsOf(h, tenant.id)).find((r) => r.raw_body === raw);
    expect(row).toMatchObject({ status: 'rejected', payload: null });
    const empty = await post(tenant.slug, 'perspective', '[]', sources.perspective.auth('[]'));
    expect(empty.status).toBe(400);
  });

  it('GET health check: 200 for an active tenant and known source, 404s otherwise, never reveals integrations', async () => {
    const bare = await makeTenant(h, {});
    for (const slug of [tenant.slug, bare.slug]) {
      const res = await receiver.app.request(`/api/webhooks/${slug}/stripe`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok', tenant: slug, source: 'stripe' });
    }
    expect((await receiver.app.request('/api/webhooks/nobody-here/stripe')).status).toBe(404);
    const unknownSource = await receiver.app.request(`/api/webhooks/${tenant.slug}/paypal`);
    expect(unknownSource.status).toBe(404);
    expect(((await unknownSource.json()) as { error: { code: string } }).error.code).toBe('unknown_source');
  });

  it('healthz, readyz and metrics', async () => {
    expect(await (await receiver.app.request('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await receiver.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, postgres: 'ok', queue: 'ok' });
    // The metrics carry every tenant's slug and traffic: served on a listener of their own (METRICS_PORT),
    // never on the public port that providers post to.
    const onPublic = await receiver.app.request('/metrics');
    expect(onPublic.status).toBe(404);
    expect(((await onPublic.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const served = await receiver.metricsApp.request('/metrics');
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toContain('text/plain');
    expect((await receiver.metricsApp.request('/api/webhooks/x/stripe', { method: 'POST', body: '{}' })).status).toBe(404);
    const text = await served.text();
    expect(text).toMatch(
      new RegExp(`mcb_receiver_requests_total\\{tenant="${tenant.slug}",source="stripe",status="200",outcome="accepted"\\} \\d+`),
    );
    expect(text).toContain('mcb_receiver_requests_total{tenant="_unknown",source="_unknown",status="404",outcome="unknown_tenant"}');
    expect(text).toContain('mcb_receiver_request_duration_seconds_bucket');
    expect(text).toContain('mcb_receiver_group_commit_batch_size_bucket');
    expect(text).toContain('mcb_receiver_enqueue_failures_total');
    expect(text).toContain('mcb_receiver_rejections_not_stored_total');
  });
});

describe.each(Object.keys(sources) as SourceName[])('%s verification', (source) => {
  const s = sources[source];

  it('valid delivery: 200, stored received', async () => {
    const body = s.body();
    const res = await post(tenant.slug, source, body, s.auth(body));
    expect(res.status).toBe(200);
    const { id } = await jsonOf(res);
    expect((await logsOf(h, tenant.id)).find((r) => r.id === id)).toMatchObject({ status: 'received', source });
  });

  it('wrong secret: 401 invalid_signature', async () => {
    const body = s.body();
    const res = await post(tenant.slug, source, body, s.auth(body, source === 'stripe' ? 'whsec_wrong_secret' : 'wrong-secret'));
    expect(res.status).toBe(401);
    expect((await jsonOf(res)).error?.code).toBe('invalid_signature');
  });

  it('missing header / secret: 401 invalid_signature', async () => {
    const res = await post(tenant.slug, source, s.body());
    expect(res.status).toBe(401);
    expect((await jsonOf(res)).error?.code).toBe('invalid_signature');
  });

  it('a JSON array body is one event: its first element', async () => {
    const event = s.body();
    const body = `[${event},{"second":true}]`;
    const res = await post(tenant.slug, source, body, s.auth(body));
    expect(res.status).toBe(200);
    const { id } = await jsonOf(res);
    const row = (await logsOf(h, tenant.id)).find((r) => r.id === id);
    expect(row?.payload).toEqual(JSON.parse(event));
    expect(row?.raw_body).toBe(body);
  });

  it('rotated secret: previous accepted within the overlap, refused after it', async () => {
    const oldSecret = source === 'stripe' ? `whsec_old_${randomUUID().slice(0, 8)}` : `old-${randomUUID()}`;
    const newSecret = source === 'stripe' ? `whsec_new_${randomUUID().slice(0, 8)}` : `new-${randomUUID()}`;
    const t = await makeTenant(h, { [source]: oldSecret });
    clock = new Date();
    await rotateWebhookSecret(h.admin, h.keyring, { slug: t.slug, provider: source, newSecret, overlapMs: 3_600_000, now: clock });
    receiver.tenants.invalidate();
    const b1 = s.body();
    expect((await post(t.slug, source, b1, s.auth(b1, oldSecret))).status).toBe(200);
    const b2 = s.body();
    expect((await post(t.slug, source, b2, s.auth(b2, newSecret))).status).toBe(200);
    clock = new Date(clock.getTime() + 3_600_001);
    const b3 = s.body();
    const late = await post(t.slug, source, b3, s.auth(b3, oldSecret));
    expect(late.status).toBe(401);
    expect((await jsonOf(late)).error?.code).toBe('invalid_signature');
    const b4 = s.body();
    expect((await post(t.slug, source, b4, s.auth(b4, newSecret))).status).toBe(200);
    clock = new Date();
  });
});

describe('source specifics', () => {
  it('stripe: tampered body 401; timestamp older than 300 s by the injected clock 401, 300 s ok', async () => {
    const body = stripeEvent();
    const header = stripeHeader(body);
    const tampered = body.replace('10000', '99999');
    expect((await post(tenant.slug, 'stripe', tampered, { headers: { 'stripe-signature': header } })).status).toBe(401);
    const signedAt = clock;
    clock = new Date(signedAt.getTime() + 301_000);
    const stale = await post(tenant.slug, 'stripe', body, { headers: { 'stripe-signature': header } });
    expect(stale.status).toBe(401);
    expect((await jsonOf(stale)).error).toMatchObject({ code: 'invalid_signature', message: expect.stringMatching(/tolerance/) });
    clock = new Date(signedAt.getTime() + 300_000);
    expect((await post(tenant.slug, 'stripe', body, { headers: { 'stripe-signature': header } })).status).toBe(200);
    clock = new Date();
  });

  it('ghl: real Ed25519 (x-ghl-signature) and RSA (x-wh-signature) deliveries; tampered and foreign-key ones refused', async () => {
    const signedOnly = await makeTenant(h, { ghl: null });
    await setGhlLocationIds(h.admin, signedOnly.slug, ['loc1']);
    const b1 = sources.ghl.body();
    const ok1 = await post(signedOnly.slug, 'ghl', b1, { headers: { 'x-ghl-signature': edSig(b1) } });
    expect(ok1.status).toBe(200);
    const b2 = sources.ghl.body();
    expect((await post(signedOnly.slug, 'ghl', b2, { headers: { 'x-wh-signature': rsaSig(b2) } })).status).toBe(200);
    const b3 = sources.ghl.body();
    expect((await post(signedOnly.slug, 'ghl', `${b3} `, { headers: { 'x-ghl-signature': edSig(b3) } })).status).toBe(401);
    expect((await post(signedOnly.slug, 'ghl', `${b3} `, { headers: { 'x-wh-signature': rsaSig(b3) } })).status).toBe(401);
    const other = generateKeyPairSync('ed25519');
    const foreign = sign(null, Buffer.from(b3), other.privateKey).toString('base64');
    expect((await post(signedOnly.slug, 'ghl', b3, { headers: { 'x-ghl-signature': foreign } })).status).toBe(401);
    // Unsigned workflow webhook to a tenant with no GHL secret: missing credentials.
    const unsigned = await post(signedOnly.slug, 'ghl', b3, { headers: { 'x-webhook-secret': 'anything' } });
    expect(unsigned.status).toBe(401);
    expect((await jsonOf(unsigned)).error?.code).toBe('missing_credentials');
    const rows = await logsOf(h, signedOnly.id);
    expect(rows.filter((r) => r.status === 'received')).toHaveLength(2);
    expect(rows[0]?.dedupe_key).toBe(`webhook:${JSON.parse(b1).webhookId}`);
  });

  it('denefits: secret in the body field secret_key is accepted and never stored', async () => {
    const body = JSON.stringify({ webhook_type: 'contract.created', contract_code: randomUUID(), secret_key: shared });
    const res = await post(tenant.slug, 'denefits', body);
    expect(res.status).toBe(200);
    const { id } = await jsonOf(res);
    const row = (await logsOf(h, tenant.id)).find((r) => r.id === id);
    expect(row?.payload).toMatchObject({ secret_key: '[redacted]' });
    expect(JSON.stringify(row)).not.toContain(shared);
  });

  it('secrets and query strings never reach the stored headers or any log line', async () => {
    const cap = captureLogger();
    const r = makeReceiver(h, { log: cap.log, ghlPublicKeys });
    const body = sources.manychat.body();
    const ok = await r.app.request(`/api/webhooks/${tenant.slug}/manychat?secret=${shared}`, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${shared}`, 'x-webhook-secret': shared, 'x-trace': 'keep-me' },
    });
    expect(ok.status).toBe(200);
    const bad = await r.app.request(`/api/webhooks/${tenant.slug}/manychat?secret=wrong-${shared}`, { method: 'POST', body });
    expect(bad.status).toBe(401);
    const sbody = stripeEvent();
    await r.app.request(`/api/webhooks/${tenant.slug}/stripe`, {
      method: 'POST',
      body: sbody,
      headers: { 'stripe-signature': stripeHeader(sbody) },
    });
    await r.close();
    const logs = cap.lines.join('\n');
    expect(cap.lines.length).toBeGreaterThanOrEqual(3);
    expect(logs).not.toContain(shared);
    expect(logs).not.toContain('secret=');
    expect(logs).not.toContain('t=');
    for (const line of cap.lines) expect(JSON.parse(line)).toMatchObject({ requestId: expect.any(String) });
    const { id } = (await ok.json()) as { id: number };
    const row = (await logsOf(h, tenant.id)).find((x) => x.id === id);
    expect(row?.headers).toMatchObject({ authorization: '[redacted]', 'x-webhook-secret': '[redacted]', 'x-trace': 'keep-me' });
    const rows = await logsOf(h, tenant.id);
    expect(JSON.stringify(rows.map((x) => x.headers))).not.toContain(shared);
  });
});

describe('headers over real HTTP (@hono/node-server: read from the raw header list)', () => {
  it('stores lowercase names, repeated headers joined with ", ", secrets redacted — as over app.request()', async () => {
    const server = serve({ fetch: receiver.app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const body = stripeEvent();
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: `/api/webhooks/${tenant.slug}/stripe`,
            headers: {
              'Content-Type': 'application/json',
              'Stripe-Signature': stripeHeader(body),
              'X-Trace': ['first', 'second'],
              'X-Webhook-Secret': shared,
            },
          },
          (res) => {
            let text = '';
            res.on('data', (d) => {
              text += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(answer.status).toBe(200);
      const { id } = JSON.parse(answer.text) as { id: number };
      const row = (await logsOf(h, tenant.id)).find((x) => x.id === id);
      expect(row?.headers).toMatchObject({
        'content-type': 'application/json',
        'stripe-signature': '[redacted]',
        'x-webhook-secret': '[redacted]',
        'x-trace': 'first, second',
      });
      expect(Object.keys(row?.headers as object).every((k) => k === k.toLowerCase())).toBe(true);
      expect(JSON.stringify(row?.headers)).not.toContain(shared);
    } finally {
      server.close();
    }
  });
});

describe('group commit', () => {
  it('concurrent requests of two tenants share transactions; each gets its own committed id', async () => {
    const other = await makeTenant(h, { manychat: shared });
    const bodies = Array.from({ length: 120 }, (_, i) => ({ slug: i % 2 ? tenant.slug : other.slug, body: sources.manychat.body() }));
    const before = (await receiver.metrics.batchSize.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    const answers = await Promise.all(bodies.map((b) => post(b.slug, 'manychat', b.body, sources.manychat.auth(b.body)).then(jsonOf)));
    const after = (await receiver.metrics.batchSize.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    expect(after - before).toBeLessThan(120);
    const ids = answers.map((a) => a.id);
    expect(new Set(ids).size).toBe(120);
    const rows = [...(await logsOf(h, tenant.id)), ...(await logsOf(h, other.id))];
    for (const [i, b] of bodies.entries()) {
      const row = rows.find((r) => r.id === ids[i]);
      expect(row?.payload).toEqual(JSON.parse(b.body));
    }
  });

  it('the same delivery sent 20 times at once: one row, one job, everyone gets its id', async () => {
    const body = stripeEvent();
    const auth = sources.stripe.auth(body);
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(tenant.slug, 'stripe', body, auth).then(jsonOf)));
    expect(answers.filter((a) => !a.duplicate)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.id)).size).toBe(1);
    expect((await logsOf(h, tenant.id)).filter((r) => r.dedupe_key === JSON.parse(body).id)).toHaveLength(1);
  });

  it('a body Postgres jsonb refuses (\\u0000, lone surrogate) does not fail the batch it travels in', async () => {
    const weird = JSON.stringify({ subscriber: { id: randomUUID(), first_name: 'a\u0000b', last_name: '\ud800' } });
    const normal = Array.from({ length: 5 }, () => sources.manychat.body());
    const answers = await Promise.all([weird, ...normal].map((b) => post(tenant.slug, 'manychat', b, sources.manychat.auth(b))));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const { id } = await jsonOf(answers[0] as Response);
    const row = (await logsOf(h, tenant.id)).find((r) => r.id === id);
    expect(row?.raw_body).toBe(weird);
    expect(row?.payload).toMatchObject({ subscriber: { first_name: 'a\ufffdb', last_name: '\ufffd' } });
  });
});

// issue 16: ManyChat's External Request sends the Full Contact Data object as the body itself, or wrapped.
describe('ManyChat body shapes at intake', () => {
  const flat = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ key: `user:${randomUUID()}`, id: randomUUID(), page_id: '104938271650123', first_name: 'Maria', ...extra });

  it('accepts the flat Full Contact Data object; the URL ?event= becomes the log event type when the body has none', async () => {
    const withQuery = flat();
    const res = await post(tenant.slug, 'manychat', withQuery, { query: `?event=link_clicked&secret=${shared}` });
    expect(res.status).toBe(200);
    const { id } = await jsonOf(res);
    expect((await logsOf(h, tenant.id)).find((r) => r.id === id)).toMatchObject({ status: 'received', event_type: 'link_clicked' });

    const withBodyType = flat({ event_type: 'link_sent' });
    const res2 = await post(tenant.slug, 'manychat', withBodyType, { query: `?event=link_clicked&secret=${shared}` });
    expect(res2.status).toBe(200);
    const id2 = (await jsonOf(res2)).id;
    expect((await logsOf(h, tenant.id)).find((r) => r.id === id2)).toMatchObject({
      status: 'received',
      event_type: 'link_sent',
      payload: JSON.parse(withBodyType),
    });
  });

  it('answers a verified body with no subscriber in any shape 400 invalid_payload with the reason, kept as rejected', async () => {
    const body = JSON.stringify({ event_type: 'link_sent', first: 'Maria' });
    // The earlier tests' deliveries are enqueued after their answers: count once every enqueue is done.
    await receiver.drain();
    const jobsBefore = await countJobs(h.jobs, tenant.id);
    const res = await post(tenant.slug, 'manychat', body, sources.manychat.auth(body));
    expect(res.status).toBe(400);
    const json = await jsonOf(res);
    expect(json.error).toMatchObject({ code: 'invalid_payload' });
    expect(json.error?.message).toMatch(
      /^ManyChat body has no subscriber id: send the contact as the body itself \("Add Full Contact Data"\)/,
    );
    const row = (await logsOf(h, tenant.id)).at(-1);
    // Evidence, never input: kept as raw bytes, not parsed.
    expect(row).toMatchObject({ status: 'rejected', raw_body: body, payload: null });
    expect(row?.error_message).toMatch(/^invalid_payload: ManyChat body has no subscriber id/);
    await receiver.drain();
    expect(await countJobs(h.jobs, tenant.id)).toBe(jobsBefore);
  });

  it('checks the secret first: an unverified bad body is 401, not a hint about the shape', async () => {
    const body = JSON.stringify({ event_type: 'link_sent' });
    const res = await post(tenant.slug, 'manychat', body, { headers: { 'x-webhook-secret': `wrong-${shared}` } });
    expect(res.status).toBe(401);
    expect((await jsonOf(res)).error?.code).toBe('invalid_signature');
  });
});
