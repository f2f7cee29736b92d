import { createLogger } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection, webhookQueueName } from '@mcb/queue';
import { testEnv } from '@mcb/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/app';
import { createTenant, insertLog } from './factories';

const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const token = 'console-test-token-0123456789';
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 4 });
const appDb = createDatabase({ url: databaseUrl, role: 'app', max: 4 });
const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, `${redisPrefix}-console-api`);
const consoleApp = createConsoleApp({
  admin,
  app: appDb,
  queue,
  log: createLogger({ name: 'console-test', level: 'silent' }),
  adminToken: token,
  // Every in-process request shares one client address: the sign-in limit has its own test (console-auth).
  signInMaxFailures: 10_000,
});
const app = consoleApp.app;
const bearer = { authorization: `Bearer ${token}` };
const jsonHeaders = { ...bearer, 'content-type': 'application/json' };

afterAll(async () => {
  await consoleApp.close();
  await queue.close();
  await Promise.all([admin.close(), appDb.close()]);
});

async function jobsOf(tenantId: string) {
  const q = new Queue(webhookQueueName(tenantId), { connection: queue.connection, prefix: queue.prefix });
  try {
    const jobs = await q.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed']);
    return jobs.map((j) => ({ id: j.id, name: j.name, data: j.data }));
  } finally {
    await q.close();
  }
}

async function statusOf(id: number) {
  const [row] = await admin.sql<{ status: string; error_message: string | null; enqueued_at: Date | null }[]>`
    select status, error_message, enqueued_at from webhook_logs where id = ${id}`;
  return row;
}

describe('console security: nothing under /admin answers without ADMIN_TOKEN', () => {
  const routes: Array<[string, string]> = [
    ['GET', '/admin'],
    ['GET', '/admin/api/logs'],
    ['GET', '/admin/api/logs?tenant=x&status=failed'],
    ['GET', '/admin/api/logs/1'],
    ['POST', '/admin/api/logs/1/replay'],
    ['POST', '/admin/api/replay'],
    ['GET', '/admin/api/stats'],
    ['GET', '/admin/api/queues'],
    ['GET', '/admin/queues'],
    ['GET', '/admin/queues/'],
    ['GET', '/admin/queues/api/queues'],
    ['PUT', '/admin/queues/api/queues/reports/retry/failed'],
    ['GET', '/admin/queues/static/images/logo.svg'],
    ['GET', '/admin/logs'],
    ['GET', '/admin/logs/1'],
    ['POST', '/admin/logs/1/replay'],
    ['GET', '/admin/stats'],
    ['GET', '/admin/stats?tenant=x&since=7d'],
    ['GET', '/admin/does-not-exist'],
  ];

  it.each(routes)('%s %s without a token → 401 {error:{code,message,requestId}}', async (method, path) => {
    const res = await app.request(path, { method });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.message).toMatch(/Authentication required/);
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
  });

  it.each(routes)('%s %s with a wrong bearer token or a forged cookie → 401', async (method, path) => {
    expect((await app.request(path, { method, headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await app.request(path, { method, headers: { cookie: 'mcb_console=v1.9999999999999.forged' } })).status).toBe(401);
  });

  it('sends a browser without a session on to the login form, still with 401', async () => {
    const res = await app.request('/admin/queues', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('/login?next=%2Fadmin%2Fqueues');
  });

  it('signs in with the token: signed, HTTP-only, SameSite=Strict cookie that then opens /admin', async () => {
    const wrong = await app.request('/login', { method: 'POST', body: new URLSearchParams({ token: 'nope', next: '/admin/queues' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const res = await app.request('/login', { method: 'POST', body: new URLSearchParams({ token, next: '/admin/queues' }) });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/queues');
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^mcb_console=v2\.[A-Za-z0-9_-]{43}\.[^;]+;/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const cookie = setCookie.split(';')[0] as string;
    expect((await app.request('/admin/api/stats', { headers: { cookie } })).status).toBe(200);
    expect((await app.request('/admin/queues/api/queues', { headers: { cookie } })).status).toBe(200);
    // Bull Board's own overview links carry a trailing slash: reloaded, they reach the board.
    const slash = await app.request('/admin/queues/?status=failed', { headers: { cookie } });
    expect(slash.status).toBe(302);
    expect(slash.headers.get('location')).toBe('/admin/queues?status=failed');
    const board = await app.request('/admin/queues?status=failed', { headers: { cookie, accept: 'text/html' } });
    expect(board.status).toBe(200);
    expect(await board.text()).toContain('<base href="/admin/queues/"');

    // Another session id under the same signature: refused.
    const tampered = cookie.replace(/v2\.(.)/, (_m, ch: string) => `v2.${ch === 'A' ? 'B' : 'A'}`);
    expect((await app.request('/admin/api/stats', { headers: { cookie: tampered } })).status).toBe(401);
  });

  it('GET /admin/api/stats covers the last 7 days unless since is given, as mcb stats does', async () => {
    const before = Date.now();
    const res = await app.request('/admin/api/stats', { headers: bearer });
    expect(res.status).toBe(200);
    const { since, until } = (await res.json()) as { since: string; until: string };
    const week = 7 * 24 * 3600 * 1000;
    expect(new Date(until).getTime() - new Date(since).getTime()).toBe(week);
    expect(new Date(until).getTime()).toBeGreaterThanOrEqual(before);
    const day = (await (await app.request('/admin/api/stats?since=24h', { headers: bearer })).json()) as { since: string; until: string };
    expect(new Date(day.until).getTime() - new Date(day.since).getTime()).toBe(week / 7);
    // Blank parameters are no parameters, `since` as `tenant` (`since=` was a 400 "Invalid time").
    const blank = await app.request('/admin/api/stats?tenant=&since=&until=', { headers: bearer });
    expect(blank.status).toBe(200);
    const blankPeriod = (await blank.json()) as { since: string; until: string };
    expect(new Date(blankPeriod.until).getTime() - new Date(blankPeriod.since).getTime()).toBe(week);
    // An empty period is refused, not answered with zeros.
    const empty = await app.request('/admin/api/stats?since=0d', { headers: bearer });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ error: { message: 'Invalid time window: since 0d is not before until now' } });
  });

  it('never redirects after login outside the console', async () => {
    const res = await app.request('/login', { method: 'POST', body: new URLSearchParams({ token, next: '//evil.example/admin' }) });
    expect(res.headers.get('location')).toBe('/admin/logs');
  });
});

describe('GET /admin/api/logs', () => {
  let tenant: { id: string; slug: string };
  const ids: number[] = [];
  const base = Date.now() - 3_600_000;
  beforeAll(async () => {
    tenant = await createTenant(admin);
    for (let i = 0; i < 7; i++) {
      ids.push(
        await insertLog(admin, tenant.id, {
          receivedAt: new Date(base + i * 1000),
          status: i === 3 ? 'failed' : 'processed',
          errorMessage: i === 3 ? 'boom' : null,
          source: i % 2 ? 'ghl' : 'stripe',
          payload: {
            id: `evt_page_${i}`,
            data: { object: { customer_details: { email: `Person${i}@Example.com` }, customer: `cus_X${i}Y` } },
          },
          dedupeKey: `evt_page_${i}`,
        }),
      );
    }
  });

  it('pages newest first with a keyset cursor, no overlap, no gap', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    for (let pageNo = 0; pageNo < 5; pageNo++) {
      const res = await app.request(`/admin/api/logs?tenant=${tenant.slug}&limit=3${cursor ? `&cursor=${cursor}` : ''}`, {
        headers: bearer,
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: Array<{ id: number; tenantSlug: string }>; nextCursor: string | null };
      seen.push(...body.items.map((i) => i.id));
      for (const item of body.items) expect(item.tenantSlug).toBe(tenant.slug);
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by status, source and time, and finds text in ids and emails', async () => {
    const get = async (qs: string) => {
      const res = await app.request(`/admin/api/logs?tenant=${tenant.slug}&${qs}`, { headers: bearer });
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: Array<{ id: number }> }).items.map((i) => i.id);
    };
    expect(await get('status=failed')).toEqual([ids[3]]);
    expect(await get('source=ghl')).toEqual([ids[5], ids[3], ids[1]]);
    expect(await get('q=person4@example.com')).toEqual([ids[4]]);
    expect(await get('q=PERSON4@EXAMPLE')).toEqual([ids[4]]);
    expect(await get('q=cus_x2y')).toEqual([ids[2]]);
    expect(await get('q=evt_page_6')).toEqual([ids[6]]);
    expect(await get(`q=${ids[1]}`)).toContain(ids[1]);
    // LIKE wildcards are literal: "_" must not match any character.
    expect(await get('q=evt%page')).toEqual([]);
    expect(await get(`since=${new Date(base + 5_500).toISOString()}`)).toEqual([ids[6]]);
    expect(await get('since=10m')).toEqual([]);
  });

  it('answers 400 for a bad filter and 404 for an unknown tenant, with the error body', async () => {
    const bad = await app.request('/admin/api/logs?status=exploded', { headers: bearer });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    expect((await app.request('/admin/api/logs?since=yesterday-ish', { headers: bearer })).status).toBe(400);
    expect((await app.request('/admin/api/logs?cursor=nope', { headers: bearer })).status).toBe(400);
    const unknown = await app.request('/admin/api/logs?tenant=no-such-tenant', { headers: bearer });
    expect(unknown.status).toBe(404);
    const body = (await unknown.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error).toMatchObject({ code: 'unknown_tenant', message: 'Unknown tenant: no-such-tenant' });
    expect(body.error.requestId).toBeTruthy();
  });

  it('uses the trigram index for text and the keyset index for a tenant page', async () => {
    const plan = await admin.sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      // A tenant with a handful of rows may be planned as "PK scan + sort" (cheaper at that size); with
      // sorting off the plan shows the index that serves a tenant page in keyset order at any size.
      await tx`set local enable_sort = off`;
      const text = await tx.unsafe(`explain select log_id from webhook_log_search s where s.search_text like '%person4@example%'`);
      const page = await tx.unsafe(
        `explain select id from webhook_logs l where tenant_id = '${tenant.id}' and (received_at, id) < (now(), 999999) order by received_at desc, id desc limit 50`,
      );
      return { text: text.map((r) => r['QUERY PLAN']).join('\n'), page: page.map((r) => r['QUERY PLAN']).join('\n') };
    });
    expect(plan.text).toContain('webhook_log_search_trgm_idx');
    expect(plan.page).toContain('webhook_logs_tenant_received_idx');
  });

  it('keeps the search text in step with the log: written when a worker picks it up, updated with the event type', async () => {
    const id = await insertLog(admin, tenant.id, { eventType: null, payload: { subscriber_id: '31337001' }, status: 'received' });
    const search = async () => (await admin.sql`select search_text from webhook_log_search where log_id = ${id}`).map((r) => r.search_text);
    // Still waiting in its queue: the intake path writes no search text (drizzle/0010).
    expect(await search()).toEqual([]);
    await admin.sql`update webhook_logs set status = 'processing' where id = ${id}`;
    expect(await search()).toEqual([expect.stringContaining('31337001')]);
    await admin.sql`update webhook_logs set event_type = 'Link_Clicked', status = 'processed' where id = ${id}`;
    expect(await search()).toEqual([expect.stringMatching(/^link_clicked .*31337001/)]);
    const res = await app.request(`/admin/api/logs?tenant=${tenant.slug}&q=link_clicked`, { headers: bearer });
    expect(((await res.json()) as { items: Array<{ id: number }> }).items.map((i) => i.id)).toEqual([id]);
  });
});

describe('GET /admin/api/logs/:id', () => {
  it('shows the log with redacted headers, payload, status, error, attempts and what it produced', async () => {
    const tenant = await createTenant(admin);
    const logId = await insertLog(admin, tenant.id, {
      headers: { 'content-type': 'application/json', authorization: 'Bearer live-secret', 'stripe-signature': 't=1,v1=abc' },
      payload: { id: 'evt_detail', type: 'checkout.session.completed' },
      status: 'processed',
    });
    const [contact] = await admin.sql<{ id: string }[]>`
      insert into contacts (tenant_id, email_primary) values (${tenant.id}, 'detail@example.com') returning id`;
    await admin.sql`update webhook_logs set contact_id = ${contact!.id}, attempts = 2 where id = ${logId}`;
    await admin.sql`
      insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id, webhook_log_id)
      values (${tenant.id}, ${contact!.id}, 'purchase_completed', now(), 'stripe', 'evt_detail', ${logId})`;
    await admin.sql`
      insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at, webhook_log_id)
      values (${tenant.id}, ${contact!.id}, 'evt_detail', 'stripe', 'buy_in_full', 'full_purchase', 150000, 'paid', now(), ${logId})`;

    const res = await app.request(`/admin/api/logs/${logId}`, { headers: bearer });
    expect(res.status).toBe(200);
    const { log } = (await res.json()) as { log: Record<string, unknown> & { headers: Record<string, string> } };
    expect(log).toMatchObject({ id: logId, tenantSlug: tenant.slug, status: 'processed', attempts: 2, payload: { id: 'evt_detail' } });
    expect(log.headers).toEqual({ 'content-type': 'application/json', authorization: '[redacted]', 'stripe-signature': '[redacted]' });
    expect(log.contact).toMatchObject({ id: contact!.id, email_primary: 'detail@example.com' });
    expect(log.funnelEvents).toEqual([expect.objectContaining({ event_type: 'purchase_completed', source_event_id: 'evt_detail' })]);
    expect(log.payments).toEqual([expect.objectContaining({ category: 'full_purchase', amount_cents: 150000 })]);
    expect(JSON.stringify(log)).not.toContain('live-secret');
  });

  it('404s an unknown or malformed id', async () => {
    for (const path of ['/admin/api/logs/987654321', '/admin/api/logs/abc']) {
      const res = await app.request(path, { headers: bearer });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });
});

describe('replay', () => {
  it('POST /admin/api/replay with dryRun reports the count and a sample and enqueues nothing', async () => {
    const tenant = await createTenant(admin);
    const failed = [];
    for (let i = 0; i < 3; i++) failed.push(await insertLog(admin, tenant.id, { status: 'failed', errorMessage: 'bug' }));
    await insertLog(admin, tenant.id, { status: 'processed' });
    const res = await app.request('/admin/api/replay', {
      method: 'POST',
      headers: jsonHeaders,
      body: JSON.stringify({ tenant: tenant.slug, status: 'failed', dryRun: true }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { dryRun: boolean; matched: number; sample: Array<{ id: number }> };
    expect(body).toMatchObject({ dryRun: true, matched: 3 });
    expect(body.sample.map((s) => s.id)).toEqual(failed);
    expect(await jobsOf(tenant.id)).toEqual([]);
    for (const id of failed) expect((await statusOf(id))?.status).toBe('failed');
  });

  it('bulk replay resets matching logs to received and enqueues {logId} under the log job id', async () => {
    const tenant = await createTenant(admin);
    const failed = [
      await insertLog(admin, tenant.id, { status: 'failed', errorMessage: 'bug' }),
      await insertLog(admin, tenant.id, { status: 'failed' }),
    ];
    const other = await insertLog(admin, tenant.id, { status: 'processed' });
    const res = await app.request('/admin/api/replay', {
      method: 'POST',
      headers: jsonHeaders,
      body: JSON.stringify({ tenant: tenant.slug, status: 'failed' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { matched: number; replayed: number; replayNumber: number };
    expect(body).toMatchObject({ dryRun: false, matched: 2, replayed: 2, skipped: [], notEnqueued: 0 });
    for (const id of failed)
      expect(await statusOf(id)).toMatchObject({ status: 'received', error_message: null, enqueued_at: expect.any(Date) });
    expect((await statusOf(other))?.status).toBe('processed');
    const jobs = await jobsOf(tenant.id);
    expect(jobs.map((j) => j.id).sort()).toEqual(failed.map((id) => `log-${id}`).sort());
    for (const job of jobs) expect(Object.keys(job.data)).toEqual(['logId']);
  });

  it('never replays a rejected log (one or in bulk): it is evidence, shown and skipped', async () => {
    const tenant = await createTenant(admin);
    const rejected = await insertLog(admin, tenant.id, { status: 'rejected', errorMessage: 'invalid_signature', dedupeKey: 'evt_twin' });
    const alone = await insertLog(admin, tenant.id, { status: 'rejected', errorMessage: 'missing_credentials', dedupeKey: 'evt_alone' });
    await insertLog(admin, tenant.id, { status: 'processed', dedupeKey: 'evt_twin' });

    for (const id of [alone, rejected]) {
      const one = await app.request(`/admin/api/logs/${id}/replay`, { method: 'POST', headers: bearer });
      expect(one.status).toBe(200);
      expect(await one.json()).toMatchObject({ matched: 1, replayed: 0, skippedCount: 1, skipped: [{ id, reason: 'rejected' }] });
      expect((await statusOf(id))?.status).toBe('rejected');
    }
    const dry = await app.request('/admin/api/replay', {
      method: 'POST',
      headers: jsonHeaders,
      body: JSON.stringify({ tenant: tenant.slug, dryRun: true }),
    });
    expect(await dry.json()).toMatchObject({ matched: 3, replayable: 1, rejected: 2, needsConfirmation: false });
    const bulk = await app.request('/admin/api/replay', {
      method: 'POST',
      headers: jsonHeaders,
      body: JSON.stringify({ tenant: tenant.slug }),
    });
    expect(await bulk.json()).toMatchObject({ matched: 3, replayed: 1, skippedCount: 2, skippedByReason: { rejected: 2 } });
    for (const id of [alone, rejected]) expect((await statusOf(id))?.status).toBe('rejected');
    expect(await jobsOf(tenant.id)).toHaveLength(1);

    // The log page shows no replay button for a rejected log, and a direct POST does nothing.
    const page = await app.request(`/admin/logs/${alone}`, { headers: bearer });
    const text = await page.text();
    expect(text).toContain(
      'refused at intake (no secret or credentials: failed authentication). It is kept as evidence and is never replayed.',
    );
    expect(text).not.toContain('id="replay"');
    // A body refused for its shape was not an authentication failure, and the page says so.
    const shape = await insertLog(admin, tenant.id, {
      status: 'rejected',
      errorMessage: 'invalid_payload: ManyChat body has no subscriber id',
      dedupeKey: 'evt_shape',
    });
    const shapeText = await (await app.request(`/admin/logs/${shape}`, { headers: bearer })).text();
    expect(shapeText).toContain('refused at intake (the body is not the shape this source sends)');
    expect(shapeText).not.toContain('failed authentication');
    const post = await app.request(`/admin/logs/${alone}/replay`, { method: 'POST', headers: bearer });
    expect(post.headers.get('location')).toBe(`/admin/logs/${alone}?replayed=rejected`);
    const followed = await (await app.request(post.headers.get('location') as string, { headers: bearer })).text();
    expect(followed).toContain('Replay: not replayed: rejected');
    // A link can carry any text in the query: the page shows none of it (a reviewer, stop 28).
    const forged = await (
      await app.request(`/admin/logs/${alone}?replayed=${encodeURIComponent('Session expired: sign in again at evil.example')}`, {
        headers: bearer,
      })
    ).text();
    expect(forged).not.toContain('evil.example');
    expect(forged).not.toContain('class="error">Replay');
    expect((await statusOf(alone))?.status).toBe('rejected');

    expect((await app.request('/admin/api/logs/987654321/replay', { method: 'POST', headers: bearer })).status).toBe(404);
  });

  // Stop 28 "Known, left": an empty search said only "No logs match." — not what it had searched.
  it('an empty log search names what it searched, all time when no since is given', async () => {
    const tenant = await createTenant(admin);
    const all = await (await app.request(`/admin/logs?tenant=${tenant.slug}&status=failed`, { headers: bearer })).text();
    expect(all).toContain(`No logs match (tenant ${tenant.slug}, status failed, received at any time).`);
    const week = await (await app.request(`/admin/logs?tenant=${tenant.slug}&since=7d&q=%3Cb%3Ex`, { headers: bearer })).text();
    expect(week).toContain(`No logs match (tenant ${tenant.slug}, text &quot;&lt;b&gt;x&quot;, received in the last 7d).`);
  });

  it('a bulk replay of more than 10 logs needs confirm equal to the dry run count', async () => {
    const tenant = await createTenant(admin);
    for (let i = 0; i < 11; i++) await insertLog(admin, tenant.id, { status: 'failed' });
    const send = (extra: Record<string, unknown>) =>
      app.request('/admin/api/replay', { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ tenant: tenant.slug, ...extra }) });
    const dry = (await (await send({ dryRun: true })).json()) as { replayable: number; needsConfirmation: boolean };
    expect(dry).toMatchObject({ replayable: 11, needsConfirmation: true });
    for (const extra of [{}, { confirm: 10 }]) {
      const refused = await send(extra);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
        'Replaying 11 logs needs confirmation: send "confirm": 11 (the dry run\'s replayable count)',
      );
    }
    expect(await jobsOf(tenant.id)).toEqual([]);
    expect(await (await send({ confirm: 11 })).json()).toMatchObject({ replayed: 11 });
  });

  it('refuses an unknown field rather than dropping it: a misspelt dry_run replays nothing', async () => {
    const tenant = await createTenant(admin);
    const failed = await insertLog(admin, tenant.id, { status: 'failed', errorMessage: 'bug' });
    for (const extra of [{ dry_run: true }, { stauts: 'processed', dryRun: false }]) {
      const res = await app.request('/admin/api/replay', {
        method: 'POST',
        headers: jsonHeaders,
        body: JSON.stringify({ tenant: tenant.slug, status: 'failed', ...extra }),
      });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('bad_request');
      expect(error.message).toMatch(new RegExp(`^Unknown field ${Object.keys(extra)[0]}: the body takes tenant, .*dryRun, confirm$`));
    }
    expect(await jobsOf(tenant.id)).toEqual([]);
    expect((await statusOf(failed))?.status).toBe('failed');
    // The same rule for the log search: a misspelt filter is an error, not a wider search.
    const search = await app.request(`/admin/api/logs?tenant=${tenant.slug}&stauts=failed`, { headers: bearer });
    expect(search.status).toBe(400);
  });

  it('refuses a bulk replay with no filter, a body that is not JSON, or a bad dryRun', async () => {
    for (const body of ['{}', '{"dryRun":true}', 'not json', '{"status":"failed","dryRun":"yes"}']) {
      const res = await app.request('/admin/api/replay', { method: 'POST', headers: jsonHeaders, body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    }
  });
});

describe('GET /admin/api/stats and /admin/api/queues', () => {
  it('counts per tenant: logs by status, outbox depth, last event, contacts, events, cash collected', async () => {
    const tenant = await createTenant(admin);
    const now = Date.now();
    for (const status of ['processed', 'processed', 'failed', 'ignored', 'rejected']) await insertLog(admin, tenant.id, { status });
    await insertLog(admin, tenant.id, { status: 'received', enqueuedAt: null, receivedAt: new Date(now - 1000) });
    await insertLog(admin, tenant.id, { status: 'processed', receivedAt: new Date(now - 30 * 86_400_000) });
    const [c] = await admin.sql<{ id: string }[]>`insert into contacts (tenant_id) values (${tenant.id}) returning id`;
    await admin.sql`insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id)
                    values (${tenant.id}, ${c!.id}, 'deposit_paid', now(), 'stripe', 'e1')`;
    const pay = (id: string, category: string, cents: number) => admin.sql`
      insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at)
      values (${tenant.id}, ${c!.id}, ${id}, 'stripe', 'buy_in_full', ${category}, ${cents}, 'paid', now())`;
    await pay('p1', 'deposit', 10_000);
    await pay('p2', 'full_purchase', 250_000);
    await pay('p3', 'refund', -10_000);
    await pay('p4', 'payment_plan', 900_000);

    const res = await app.request(`/admin/api/stats?tenant=${tenant.slug}&since=7d`, { headers: bearer });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { tenants: Array<Record<string, unknown>> };
    expect(body.tenants).toHaveLength(1);
    expect(body.tenants[0]).toMatchObject({
      slug: tenant.slug,
      // `received` is the accepted logs: the rejected one is counted apart, never in it.
      logs: { received: 5, pending: 1, processed: 2, failed: 1, ignored: 1, rejected: 1 },
      waiting: 1,
      contacts: { new: 1, total: 1 },
      funnelEvents: { count: 1, contacts: 1 },
      revenueCents: 250_000,
    });
    expect(new Date(body.tenants[0]?.lastEventAt as string).getTime()).toBeGreaterThan(now - 60_000);

    const all = (await (await app.request('/admin/api/stats', { headers: bearer })).json()) as { tenants: Array<{ slug: string }> };
    expect(all.tenants.map((t) => t.slug)).toContain(tenant.slug);
  });

  it('last event is the newest accepted delivery: forged (rejected) ones anyone can send do not count', async () => {
    const tenant = await createTenant(admin);
    const accepted = new Date(Date.now() - 3 * 3_600_000);
    await insertLog(admin, tenant.id, { status: 'processed', receivedAt: accepted });
    await insertLog(admin, tenant.id, { status: 'rejected', receivedAt: new Date(Date.now() - 60_000) });
    const res = await app.request(`/admin/api/stats?tenant=${tenant.slug}&since=7d`, { headers: bearer });
    const body = (await res.json()) as { tenants: Array<{ lastEventAt: string; logs: { rejected: number } }> };
    expect(body.tenants[0]?.logs.rejected).toBe(1);
    expect(new Date(body.tenants[0]?.lastEventAt as string).getTime()).toBe(accepted.getTime());
  });

  it('lists the fixed queues and one webhook queue per tenant with counts', async () => {
    const tenant = await createTenant(admin);
    const res = await app.request('/admin/api/queues', { headers: bearer });
    const { queues } = (await res.json()) as { queues: Array<{ name: string; label: string; counts: Record<string, number> }> };
    const names = queues.map((q) => q.name);
    expect(names).toEqual(expect.arrayContaining(['meta-sync', 'reports', 'schedules', webhookQueueName(tenant.id)]));
    expect(queues.find((q) => q.name === webhookQueueName(tenant.id))).toMatchObject({
      label: `webhooks · ${tenant.slug}`,
      counts: { failed: 0 },
    });

    // Bull Board sees it too once discovery runs (it refreshes on a timer).
    await consoleApp.refreshQueues();
    const board = (await (await app.request('/admin/queues/api/queues', { headers: bearer })).json()) as {
      queues: Array<{ name: string }>;
    };
    // Listed under "<slug> · <name>:webhooks" (grouped per tenant), not the raw queue name (issue 16).
    expect(board.queues.map((q) => q.name)).toContain(`${tenant.slug} · Tenant ${tenant.slug}:webhooks`);
    expect(board.queues.map((q) => q.name)).not.toContain(webhookQueueName(tenant.id));

    // A renamed tenant is listed under its new name at the next discovery, once.
    await admin.sql`update tenants set name = 'Renamed Clinic' where id = ${tenant.id}`;
    await consoleApp.refreshQueues();
    const renamed = (await (await app.request('/admin/queues/api/queues', { headers: bearer })).json()) as {
      queues: Array<{ name: string; displayName: string }>;
    };
    const mine = renamed.queues.filter((q) => q.name.startsWith(`${tenant.slug} · `));
    expect(mine.map((q) => [q.name, q.displayName])).toEqual([
      [`${tenant.slug} · Renamed Clinic:webhooks`, `${tenant.slug} (Renamed Clinic) · webhooks`],
    ]);
  });
});
