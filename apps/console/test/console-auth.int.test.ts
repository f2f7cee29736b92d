import { Writable } from 'node:stream';
import { type Logger, redactPaths } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection, queueNames } from '@mcb/queue';
import { testEnv } from '@mcb/testing';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/app';
import { createTenant, insertLog } from './factories';

// Issue 13 item 3: CSRF defence beyond SameSite (Origin / Sec-Fetch-Site) on every state-changing
// route, Bull Board's included; server-side sessions that logout and token rotation end; the
// Secure cookie setting; a per-client sign-in limit with every failure logged.

const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const token = 'console-auth-token-0123456789';
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 4 });
const appDb = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, `${redisPrefix}-console-auth`);
const lines: string[] = [];
const log = pino(
  { level: 'info', redact: { paths: redactPaths, censor: '[redacted]' } },
  new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  }),
) as unknown as Logger;
const consoleApp = createConsoleApp({ admin, app: appDb, queue, log, adminToken: token, signInMaxFailures: 5 });
const app = consoleApp.app;
const host = 'console.test:3001';
/** A request from `client` (its socket address), as the node server hands it to Hono. */
const from = (client: string) => ({ incoming: { socket: { remoteAddress: client } } });
const reports = new Queue(queueNames.reports, { connection: queue.connection, prefix: queue.prefix });

afterAll(async () => {
  await reports.close();
  await consoleApp.close();
  await queue.close();
  await Promise.all([admin.close(), appDb.close()]);
});

let clientNo = 0;
async function signIn(headers: Record<string, string> = {}, url = `http://${host}/login`): Promise<{ cookie: string; setCookie: string }> {
  clientNo += 1;
  const res = await app.request(
    url,
    { method: 'POST', headers: { host, ...headers }, body: new URLSearchParams({ token, next: '/admin/logs' }) },
    from(`10.1.0.${clientNo}`),
  );
  expect(res.status).toBe(303);
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0] as string, setCookie };
}

const statusOf = async (id: number) => (await admin.sql<{ status: string }[]>`select status from webhook_logs where id = ${id}`)[0]?.status;

describe("state-changing requests need the console's own origin (CSRF)", () => {
  it('a cross-site Origin POST to /admin/logs/:id/replay with the session cookie is refused; same-origin works', async () => {
    const { cookie } = await signIn();
    const tenant = await createTenant(admin, 'csrf');
    const id = await insertLog(admin, tenant.id, { status: 'failed' });
    const evil = await app.request(`/admin/logs/${id}/replay`, {
      method: 'POST',
      headers: { host, cookie, origin: 'https://evil.example' },
    });
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect(await statusOf(id)).toBe('failed');
    const sibling = await app.request(`/admin/logs/${id}/replay`, {
      method: 'POST',
      headers: { host, cookie, 'sec-fetch-site': 'same-site' },
    });
    expect(sibling.status).toBe(403);
    const bare = await app.request(`/admin/logs/${id}/replay`, { method: 'POST', headers: { host, cookie } });
    expect(bare.status).toBe(403);
    expect(await statusOf(id)).toBe('failed');
    const own = await app.request(`/admin/logs/${id}/replay`, { method: 'POST', headers: { host, cookie, origin: `http://${host}` } });
    expect(own.status).toBe(303);
    expect(await statusOf(id)).toBe('received');
    expect(lines.some((l) => l.includes('console cross-site request refused') && l.includes('evil.example'))).toBe(true);
  });

  it('a text/plain cross-site POST to /admin/api/replay is refused (no CORS preflight needed for it)', async () => {
    const { cookie } = await signIn();
    const tenant = await createTenant(admin, 'csrf');
    const id = await insertLog(admin, tenant.id, { status: 'failed' });
    const body = JSON.stringify({ tenant: tenant.slug, status: 'failed' });
    for (const headers of [
      { origin: 'https://evil.example' } as Record<string, string>,
      { 'sec-fetch-site': 'cross-site', origin: `http://${host}` },
      { origin: 'null' },
    ]) {
      const res = await app.request('/admin/api/replay', {
        method: 'POST',
        headers: { host, cookie, 'content-type': 'text/plain', ...headers },
        body,
      });
      expect(res.status).toBe(403);
    }
    expect(await statusOf(id)).toBe('failed');
    const ok = await app.request('/admin/api/replay', {
      method: 'POST',
      headers: { host, cookie, 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
      body,
    });
    expect(await ok.json()).toMatchObject({ replayed: 1 });
  });

  it('Bull Board mutating routes (pause) are behind the same check', async () => {
    const { cookie } = await signIn();
    const path = `/admin/queues/api/queues/${queueNames.reports}/pause`;
    const evil = await app.request(path, { method: 'PUT', headers: { host, cookie, origin: 'https://evil.example' } });
    expect(evil.status).toBe(403);
    expect(await reports.isPaused()).toBe(false);
    const own = await app.request(path, { method: 'PUT', headers: { host, cookie, 'sec-fetch-site': 'same-origin' } });
    expect(own.status).toBe(200);
    expect(await reports.isPaused()).toBe(true);
    await reports.resume();
  });

  it('a bearer token is no ambient credential: API clients need no Origin', async () => {
    const tenant = await createTenant(admin, 'csrf');
    const res = await app.request('/admin/api/replay', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: tenant.slug, dryRun: true }),
    });
    expect(res.status).toBe(200);
  });

  it('a cross-site sign-in form post is refused (login CSRF)', async () => {
    const res = await app.request('/login', {
      method: 'POST',
      headers: { host, origin: 'https://evil.example' },
      body: new URLSearchParams({ token, next: '/admin/logs' }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});

describe('sessions are server-side and revocable', () => {
  it('logout ends the session: a captured cookie is refused afterwards', async () => {
    const { cookie } = await signIn();
    expect((await app.request('/admin/api/stats', { headers: { cookie } })).status).toBe(200);
    const out = await app.request('/logout', { method: 'POST', headers: { host, cookie, origin: `http://${host}` } });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^mcb_console=;/);
    // The attacker kept the cookie value: it no longer opens anything.
    expect((await app.request('/admin/api/stats', { headers: { cookie } })).status).toBe(401);
    expect((await app.request('/admin/queues/api/queues', { headers: { cookie } })).status).toBe(401);
  });

  it('only the console itself signs an operator out: GET shows the button, a POST from another origin is refused', async () => {
    // Red team, stop 32: a page on a sibling subdomain is same-site (SameSite=Strict sends the cookie)
    // and signed the operator out, by POST or by a plain link or image on GET /logout.
    const { cookie } = await signIn();
    const shown = await app.request('/logout', { headers: { host, cookie } });
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain('<form method="post" action="/logout"');
    const sibling = await app.request('/logout', {
      method: 'POST',
      headers: { host, cookie, origin: 'https://evil.sibling.example', 'sec-fetch-site': 'same-site' },
    });
    expect(sibling.status).toBe(403);
    expect(sibling.headers.get('set-cookie')).toBeNull();
    expect((await app.request('/admin/api/stats', { headers: { cookie } })).status).toBe(200);
  });

  it('no page of the console can be framed by another site (X-Frame-Options, frame-ancestors)', async () => {
    // Review, stop 33: a sibling subdomain's page is same-site, so a framed console carried the session
    // and its buttons (sign out, replay) could be clicked through a disguised page.
    const { cookie } = await signIn();
    for (const path of ['/login', '/logout', '/admin/logs', '/admin/stats', '/admin/queues', '/admin/api/stats']) {
      const res = await app.request(path, { headers: { host, cookie } });
      expect({ path, status: res.status < 400 }).toEqual({ path, status: true });
      expect({ path, xfo: res.headers.get('x-frame-options') }).toEqual({ path, xfo: 'DENY' });
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      // Re-walk, stop 33: `Referrer-Policy: no-referrer` (Hono's secureHeaders default) makes a browser send
      // `Origin: null` on the console's own forms, refused as cross-site where no Sec-Fetch-Site is sent
      // (plain http off loopback); and no HSTS policy nobody chose.
      expect({ path, referrer: res.headers.get('referrer-policy'), hsts: res.headers.get('strict-transport-security') }).toEqual({
        path,
        referrer: null,
        hsts: null,
      });
    }
  });

  it('rotating ADMIN_TOKEN ends every session', async () => {
    const { cookie } = await signIn();
    const rotated = createConsoleApp({ admin, app: appDb, queue, log, adminToken: `${token}-rotated` });
    try {
      expect((await rotated.app.request('/admin/api/stats', { headers: { cookie } })).status).toBe(401);
      expect((await rotated.app.request('/admin/api/stats', { headers: { authorization: `Bearer ${token}-rotated` } })).status).toBe(200);
    } finally {
      await rotated.close();
    }
    const [row] = await admin.sql<{ n: number }[]>`select count(*)::int as n from console_sessions`;
    expect(row?.n).toBeGreaterThan(0);
  });

  it('only a hash of the session id is stored', async () => {
    const { cookie } = await signIn();
    const id = /v2\.([A-Za-z0-9_-]{43})/.exec(decodeURIComponent(cookie))?.[1] as string;
    expect(id).toHaveLength(43);
    expect(await admin.sql`select 1 from console_sessions where id_hash = ${id}`).toHaveLength(0);
  });
});

describe('Secure cookie setting', () => {
  it('auto: Secure over https (directly or X-Forwarded-Proto), not over plain http', async () => {
    expect((await signIn({}, `https://${host}/login`)).setCookie).toMatch(/; Secure/);
    expect((await signIn({ 'x-forwarded-proto': 'https' })).setCookie).toMatch(/; Secure/);
    expect((await signIn()).setCookie).not.toMatch(/Secure/);
  });

  it('always / never override the request', async () => {
    for (const [mode, url, expected] of [
      ['always', `http://${host}/login`, true],
      ['never', `https://${host}/login`, false],
    ] as const) {
      const other = createConsoleApp({ admin, app: appDb, queue, log, adminToken: token, secureCookies: mode });
      try {
        const res = await other.app.request(url, {
          method: 'POST',
          headers: { host },
          body: new URLSearchParams({ token, next: '/admin/logs' }),
        });
        expect(/; Secure/.test(res.headers.get('set-cookie') ?? '')).toBe(expected);
      } finally {
        await other.close();
      }
    }
  });
});

describe('sign-in attempts are rate-limited per client, failures logged', () => {
  it('after 5 failures a client is refused (429, Retry-After), even with the right token; other clients are not', async () => {
    lines.length = 0;
    const attacker = from('192.0.2.66');
    const tryToken = (t: string, env = attacker) =>
      app.request('/login', { method: 'POST', headers: { host }, body: new URLSearchParams({ token: t, next: '/admin/logs' }) }, env);
    const guesses = [];
    for (let i = 0; i < 5; i++) guesses.push((await tryToken(`guess-${i}-0123456789`)).status);
    expect(guesses).toEqual([401, 401, 401, 401, 401]);
    const blocked = await tryToken(token);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(500);
    // The page says how long to wait (the window is 10 minutes), not just "later".
    expect(await blocked.text()).toMatch(/try again in (9|10) minutes/);
    expect(blocked.headers.get('set-cookie')).toBeNull();
    // Bearer guesses from the same client are refused too.
    const bearer = await app.request('/admin/api/stats', { headers: { authorization: `Bearer ${token}` } }, attacker);
    expect(bearer.status).toBe(429);
    expect(((await bearer.json()) as { error: { message: string } }).error.message).toMatch(/try again in (9|10) minutes/);
    // Another client signs in normally.
    expect((await tryToken(token, from('192.0.2.7'))).status).toBe(303);

    const refused = lines.filter((l) => l.includes('console sign-in refused') && l.includes('192.0.2.66'));
    expect(refused).toHaveLength(5);
    expect(lines.filter((l) => l.includes('client blocked'))).toHaveLength(1);
    expect(lines.join('\n')).not.toContain('guess-');
    expect(lines.join('\n')).not.toContain(token);
  });

  // A reviewer (stop 28): counted per exact address, an IPv6 client rotating through its /64 had endless guesses.
  it('an IPv6 client is counted by its /64: a new address in it does not start over', async () => {
    const tryFrom = (address: string, t: string) =>
      app.request(
        '/login',
        { method: 'POST', headers: { host }, body: new URLSearchParams({ token: t, next: '/admin/logs' }) },
        from(address),
      );
    const statuses = [];
    for (let i = 1; i <= 6; i++) statuses.push((await tryFrom(`2001:db8:66:1::${i.toString(16)}`, `guess-${i}-0123456789`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await tryFrom('2001:db8:66:1:ffff::1', token)).status).toBe(429);
    expect((await tryFrom('2001:db8:66:2::1', token)).status).toBe(303);
  });

  it('wrong bearer tokens count as failed sign-ins', async () => {
    const client = from('192.0.2.88');
    const statuses = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await app.request('/admin/api/stats', { headers: { authorization: `Bearer nope-${i}` } }, client)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });
});
