import { runCli } from '@mcb/cli';
import { createLogger } from '@mcb/core';
import { createDatabase, runMigrations } from '@mcb/db';
import { statsLegend } from '@mcb/ops';
import { createQueueConnection } from '@mcb/queue';
import { captureOutput, createTestDatabase, testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/app';
import { seedStatsTenants, statsWindow } from './stats-seed';

// The console's stats page (`/admin/stats`) against a database of its own, so that "all tenants" is
// exactly the two seeded here and the ALL row can be worked out by hand: pounds (a tenant named
// `<script>alert(1)</script>`) and dollars. The figures must be the ones `mcb stats` prints.

const token = 'stats-page-test-token-0123456789';
const bearer = { authorization: `Bearer ${token}` };
const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const window = `since=${statsWindow.since}&until=${statsWindow.until}`;

let own: Awaited<ReturnType<typeof createTestDatabase>>;
let admin: ReturnType<typeof createDatabase>;
let appDb: ReturnType<typeof createDatabase>;
let queue: ReturnType<typeof createQueueConnection>;
let consoleApp: ReturnType<typeof createConsoleApp>;
let gbp: { id: string; slug: string };
let usd: { id: string; slug: string };

beforeAll(async () => {
  own = await createTestDatabase(databaseUrl, 'mcb_console_stats');
  await runMigrations(own.url);
  admin = createDatabase({ url: own.url, role: 'admin', max: 2 });
  appDb = createDatabase({ url: own.url, role: 'app', max: 2 });
  queue = createQueueConnection({ kind: 'redis', url: redisUrl }, `${redisPrefix}-console-stats`);
  consoleApp = createConsoleApp({
    admin,
    app: appDb,
    queue,
    log: createLogger({ name: 'console-stats-test', level: 'silent' }),
    adminToken: token,
    signInMaxFailures: 10_000,
  });
  ({ gbp, usd } = await seedStatsTenants(admin, 'stats'));
});

afterAll(async () => {
  await consoleApp?.close();
  await queue?.close();
  await Promise.all([admin?.close(), appDb?.close()]);
  await own?.drop();
});

async function get(path: string, headers: Record<string, string> = bearer) {
  const res = await consoleApp.app.request(path, { headers });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

const decode = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

/** The stats table as text: per row (tenant slug, or ALL), each cell's visible text, notes after a space. */
function tableOf(page: string): Map<string, Record<string, string>> {
  const rows = new Map<string, Record<string, string>>();
  for (const [, tenant, body] of page.matchAll(/<tr (?:data-tenant="([^"]*)"|class="total")>([\s\S]*?)<\/tr>/g)) {
    const cells: Record<string, string> = {};
    for (const [, column, content] of (body as string).matchAll(/<td data-col="(\w+)">([\s\S]*?)<\/td>/g))
      cells[column as string] = decode((content as string).replace(/<[^>]*>/g, ' '))
        .replace(/\s+/g, ' ')
        .trim();
    rows.set(tenant ?? 'ALL', cells);
  }
  return rows;
}

/** `mcb stats` for the same window, one line per row with runs of spaces collapsed. */
async function cliLines(...extra: string[]) {
  process.env.DATABASE_URL = own.url;
  process.env.REDIS_URL = redisUrl;
  process.env.QUEUE_PREFIX = `${redisPrefix}-console-stats`;
  const { result, stdout } = await captureOutput(() =>
    runCli(['stats', '--since', statsWindow.since, '--until', statsWindow.until, ...extra]),
  );
  expect(result).toBe(0);
  // The table, without the legend under it (the page's note, checked apart).
  const [table, legend] = stdout.trim().split('\n\n');
  expect(legend).toBe(statsLegend);
  return (table as string).split('\n').map((l) => l.replace(/\s+/g, ' '));
}

describe('GET /admin/stats', () => {
  it('shows every tenant with the figures worked out by hand, money in its own currency, the notes of mcb stats, and the ALL row', async () => {
    const page = await get(`/admin/stats?${window}`);
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.text).toContain('<p id="period">Period 2003-03-01T00:00:00.000Z – 2003-04-01T00:00:00.000Z');
    // The legend mcb stats prints under its table.
    expect(decode(page.text)).toContain(`<p class="note">${statsLegend}</p>`);
    const table = tableOf(page.text);
    expect([...table.keys()]).toEqual([gbp.slug, usd.slug, 'ALL']);
    expect(table.get(gbp.slug)).toEqual({
      tenant: `${gbp.slug} <script>alert(1)</script>`,
      active: 'yes',
      received: '8',
      processed: '3',
      failed: '2 (1 will retry)',
      ignored: '1',
      rejected: '1',
      pending: '2',
      waiting: '1',
      lastEvent: '2003-03-20 14:30Z',
      newContacts: '2 (3 total)',
      events: '3',
      cashCollected: '£572.00 (+ ¥5,000 + $25.00) (includes £497.00 in disputed payments)',
      capiSent: '2 (+1 pending)',
      capiRefused: '1',
    });
    expect(table.get(usd.slug)).toEqual({
      tenant: `${usd.slug} Bravo & Co "Dollars"`,
      active: 'yes',
      received: '4',
      processed: '3',
      failed: '1',
      ignored: '0',
      rejected: '2',
      pending: '0',
      waiting: '0',
      lastEvent: '2003-03-08 08:00Z',
      newContacts: '1 (1 total)',
      events: '2',
      cashCollected: '$2,800.00 (+ £10.00) (includes £10.00 in disputed payments)',
      capiSent: '0',
      capiRefused: '0',
    });
    expect(table.get('ALL')).toEqual({
      tenant: 'ALL',
      active: '',
      received: '12',
      processed: '6',
      failed: '3 (1 will retry)',
      ignored: '1',
      rejected: '3',
      pending: '2',
      waiting: '1',
      lastEvent: '2003-03-20 14:30Z',
      newContacts: '3 (4 total)',
      events: '5',
      cashCollected: '£582.00 + ¥5,000 + $2,825.00 (includes £507.00 in disputed payments)',
      capiSent: '2 (+1 pending)',
      capiRefused: '1',
    });

    // The same figures as `mcb stats` prints, cell for cell (the tenant cell without the name under it).
    const lines = await cliLines();
    expect(lines[0]).toBe('Period 2003-03-01T00:00:00.000Z – 2003-04-01T00:00:00.000Z');
    const pageLines = [...table].map(([key, cells]) =>
      Object.values({ ...cells, tenant: key })
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim(),
    );
    expect(lines.slice(2)).toEqual(pageLines);
    // And as the JSON API answers them.
    const api = JSON.parse((await get(`/admin/api/stats?${window}`)).text) as { tenants: Array<Record<string, unknown>> };
    expect(api.tenants.map((t) => [t.slug, t.currency, t.revenueCents, t.disputedCents])).toEqual([
      [gbp.slug, 'gbp', 57_200, 49_700],
      [usd.slug, 'usd', 280_000, 0],
    ]);
  });

  it('links each status count to the log page filtered to that tenant, status and period; the link lists exactly those logs', async () => {
    const page = await get(`/admin/stats?${window}`);
    const period = 'since=2003-03-01T00%3A00%3A00.000Z&amp;until=2003-04-01T00%3A00%3A00.000Z';
    const failedHref = `/admin/logs?tenant=${gbp.slug}&amp;status=failed&amp;${period}`;
    expect(page.text).toContain(`<td data-col="failed"><a href="${failedHref}">2</a><span class="note">(1 will retry)</span></td>`);
    expect(page.text).toContain(
      `<td data-col="rejected"><a href="/admin/logs?tenant=${usd.slug}&amp;status=rejected&amp;${period}">2</a></td>`,
    );
    // The backlog is of all time: its link has no period.
    expect(page.text).toContain(`<td data-col="waiting"><a href="/admin/logs?tenant=${gbp.slug}&amp;status=received">1</a></td>`);
    // The ALL row's failed count: every tenant's failed logs of the period. A zero links nowhere.
    expect(page.text).toContain(`<a href="/admin/logs?status=failed&amp;${period}">3</a>`);
    expect(page.text).toContain('<td data-col="ignored">0</td>');

    const logs = await get(decode(failedHref));
    expect(logs.status).toBe(200);
    const rows = [...logs.text.matchAll(/<tr>\s*<td><a href="\/admin\/logs\/\d+">[\s\S]*?<\/tr>/g)].map((m) => m[0]);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toContain(`<td>${gbp.slug}</td>`);
      expect(row).toContain('st-failed');
    }
  });

  it('shows one tenant with ?tenant=, by slug, with no ALL row', async () => {
    const page = await get(`/admin/stats?tenant=${usd.slug}&${window}`);
    expect(page.status).toBe(200);
    const table = tableOf(page.text);
    expect([...table.keys()]).toEqual([usd.slug]);
    expect(table.get(usd.slug)?.cashCollected).toBe('$2,800.00 (+ £10.00) (includes £10.00 in disputed payments)');
    expect(page.text).toContain(`<option value="${usd.slug}" selected>${usd.slug}</option>`);
    expect(page.text).toContain(
      `<a href="/admin/api/stats?tenant=${usd.slug}&amp;since=2003-03-01&amp;until=2003-04-01">the same as JSON</a>`,
    );
    expect(await cliLines('--tenant', usd.slug)).toHaveLength(3);
  });

  it('?tenant= by id or in capitals (as mcb stats takes it): the form shows that tenant, so Show keeps the filter', async () => {
    // The select showed "all tenants" for these: changing the period and pressing Show dropped the tenant.
    for (const given of [usd.id, usd.slug.toUpperCase()]) {
      const page = await get(`/admin/stats?tenant=${encodeURIComponent(given)}&${window}`);
      expect(page.status, given).toBe(200);
      expect([...tableOf(page.text).keys()], given).toEqual([usd.slug]);
      expect(page.text, given).toContain(`<option value="${usd.slug}" selected>${usd.slug}</option>`);
      expect(page.text.match(/ selected>/g), given).toHaveLength(1);
    }
  });

  it('covers the last 7 days unless since is given, as mcb stats does; empty form fields are no filter', async () => {
    const page = await get('/admin/stats?tenant=&since=&until=');
    expect(page.status).toBe(200);
    const [, since, until] = /Period (\S+) – (\S+) /.exec(page.text) ?? [];
    expect(new Date(until as string).getTime() - new Date(since as string).getTime()).toBe(7 * 86_400_000);
    // Nothing of March 2003 in the last 7 days: every figure of the period is 0, the all-time ones are not.
    expect(tableOf(page.text).get(gbp.slug)).toMatchObject({
      received: '0',
      waiting: '1',
      cashCollected: '£0.00',
      newContacts: '0 (3 total)',
    });
  });

  it('answers a bad parameter with 400 and the message, an unknown tenant with 404, and no figures', async () => {
    const cases: Array<[string, number, string]> = [
      ['since=yesterday-ish', 400, 'Invalid time &quot;yesterday-ish&quot;: use a duration like 24h or 7d, or a date like 2026-11-01'],
      ['since=1d&until=7d', 400, 'Invalid time window: since 1d is not before until 7d'],
      ['tenat=acme&since=7d', 400, 'Unknown parameter tenat: the stats take tenant, since, until'],
      [`since=${encodeURIComponent('<script>x</script>')}`, 400, 'Invalid time &quot;&lt;script&gt;x&lt;/script&gt;&quot;'],
      ['tenant=no-such-tenant', 404, 'Unknown tenant: no-such-tenant'],
      // Only the first of a repeated parameter was read: one tenant of two, or an empty first one (every tenant).
      [`tenant=${usd.slug}&tenant=${gbp.slug}`, 400, 'Parameter tenant is given 2 times: give it once'],
      [`tenant=&tenant=${usd.slug}`, 400, 'Parameter tenant is given 2 times: give it once'],
    ];
    for (const [query, status, message] of cases) {
      const page = await get(`/admin/stats?${query}`);
      expect(page.status, query).toBe(status);
      expect(page.type, query).toMatch(/^text\/html/);
      expect(page.text, query).toContain(`<div class="error">${message}`);
      expect(page.text, query).not.toContain('id="stats"');
      expect(page.text, query).not.toContain('<script>x');
    }
    // The JSON API refuses the same misspelt parameter rather than answering for every tenant.
    const api = await get('/admin/api/stats?tenat=acme');
    expect(api.status).toBe(400);
    expect(JSON.parse(api.text).error).toMatchObject({
      code: 'bad_request',
      message: 'Unknown parameter tenat: the stats take tenant, since, until',
    });
    const twice = await get(`/admin/api/stats?tenant=${usd.slug}&tenant=${gbp.slug}`);
    expect(twice.status).toBe(400);
    expect(JSON.parse(twice.text).error).toMatchObject({ code: 'bad_request', message: 'Parameter tenant is given 2 times: give it once' });
  });

  it('escapes every stored string: a tenant named <script>alert(1)</script> is text, never markup', async () => {
    const page = await get(`/admin/stats?${window}`);
    expect(page.text).not.toContain('<script>alert(1)</script>');
    expect(page.text).not.toContain('<script');
    expect(page.text).toContain(`${gbp.slug}<span class="note">&lt;script&gt;alert(1)&lt;/script&gt;</span>`);
    expect(page.text).toContain('Bravo &amp; Co &quot;Dollars&quot;');
  });

  it('is linked from the console navigation', async () => {
    for (const path of ['/admin/logs', `/admin/stats?${window}`])
      expect((await get(path)).text).toContain('<a href="/admin/stats">Stats</a>');
  });
});

describe('GET /admin/stats: authentication', () => {
  it('without ADMIN_TOKEN or a session answers 401 with no figures; with a session it shows them', async () => {
    const refused = [
      await get(`/admin/stats?${window}`, {}),
      await get(`/admin/stats?${window}`, { accept: 'text/html' }),
      await get(`/admin/stats?${window}`, { authorization: `Bearer ${token}x` }),
      await get(`/admin/stats?${window}`, { cookie: 'mcb_console=v2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.forged' }),
    ];
    for (const res of refused) {
      expect(res.status).toBe(401);
      for (const figure of ['£572.00', '$2,800.00', 'will retry', gbp.slug, usd.slug, 'alert(1)']) expect(res.text).not.toContain(figure);
    }
    // The browser is sent on to sign in, and comes back to the stats page.
    expect(refused[1]?.text).toContain('/login?next=%2Fadmin%2Fstats');

    const login = await consoleApp.app.request('/login', { method: 'POST', body: new URLSearchParams({ token, next: '/admin/stats' }) });
    expect(login.headers.get('location')).toBe('/admin/stats');
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const page = await get(`/admin/stats?${window}`, { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain('£572.00');
    // A session rides only on requests from the console itself: a cross-site POST is refused before any route.
    const crossSite = await consoleApp.app.request('/admin/stats', { method: 'POST', headers: { cookie, 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
  });
});
