import { randomBytes } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { MetaSyncAlreadyRunning, withMetaSyncLock } from '@mcb/meta';
import { addTenant, generateKey, parseKeyring, setIntegration } from '@mcb/tenancy';
import { pollUntil, testEnv } from '@mcb/testing';
import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

// `mcb meta sync` / `mcb meta status` through the real program (in-process), against this run's
// database and the fake Graph server.

const { databaseUrl } = testEnv();
const key = generateKey();
const keyring = parseKeyring(key);
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
// Another process's pool (a worker's), to hold a tenant's sync lock while the CLI runs.
const elsewhere = createDatabase({ url: databaseUrl, role: 'app', max: 2, applicationName: 'mcb-worker-elsewhere' });
const suffix = randomBytes(3).toString('hex');
const ok = { slug: `cli-meta-ok-${suffix}`, token: `EAAcliok${randomBytes(12).toString('hex')}`, account: `act_7${Date.now() % 100_000}1` };
const bad = {
  slug: `cli-meta-190-${suffix}`,
  token: `EAAcli190${randomBytes(12).toString('hex')}`,
  account: `act_7${Date.now() % 100_000}2`,
};
const none = `cli-meta-none-${suffix}`;
let fake: FakeGraph;

beforeAll(async () => {
  fake = await startFakeGraph({
    accounts: [
      { adAccountId: ok.account, token: ok.token, ads: 30 },
      { adAccountId: bad.account, token: bad.token, ads: 3 },
    ],
    maxPageSize: 25,
  });
  process.env.DATABASE_URL = databaseUrl;
  process.env.MCB_ENCRYPTION_KEY = key;
  process.env.META_GRAPH_URL = fake.url;
  for (const t of [ok, bad]) {
    await addTenant(admin, { slug: t.slug, name: t.slug, timezone: 'America/New_York' });
    await setIntegration(admin, keyring, {
      slug: t.slug,
      provider: 'meta',
      credentials: { access_token: t.token, ad_account_id: t.account },
    });
  }
  await addTenant(admin, { slug: none, name: none });
});

afterAll(async () => {
  await fake?.close();
  await Promise.all([admin.close(), elsewhere.close()]);
});

const monthsAgo = (n: number) => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - n, 15)).toISOString().slice(0, 10);
};

describe('mcb meta', () => {
  it('sync --since backfills month by month with a progress bar, waiting out a short rate limit', async () => {
    const since = monthsAgo(2);
    const before = fake.requests.length;
    let insights = 0;
    fake.failWhen((r) => r.edge === 'insights' && r.path.includes(ok.account) && ++insights === 4, {
      kind: 'rate-limit',
      code: 17,
      resetSeconds: 1,
    });
    const r = await mcb('meta', 'sync', ok.slug, '--since', since);
    expect(r.stderr).toContain('Rate limited by Meta: resuming in 1 s');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[#+-*\] 1\/4 insights/);
    expect(r.stderr).toMatch(/\[#{24}\] 4\/4 done · 30 ads · [\d,]+ insight rows/);
    expect(r.stdout).toMatch(
      new RegExp(`^Synced ${ok.slug}: 30 ads, 30 creatives, [\\d,]+ insight rows \\(${since} … \\d{4}-\\d\\d-\\d\\d, 3 month chunks`),
    );
    const ranges = fake.requests
      .slice(before)
      .filter((q) => q.edge === 'insights' && !q.fault)
      .map((q) => JSON.parse(q.query.time_range ?? '{}') as { since: string; until: string });
    const months = new Set(ranges.map((x) => x.since.slice(0, 7)));
    expect(months.size).toBe(3);
    expect(ranges.every((x) => x.since.slice(0, 7) === x.until.slice(0, 7))).toBe(true);
    const [row] = await admin.sql<{ rows: number; days: number; first: string }[]>`
      select count(*)::int as rows, count(distinct date)::int as days, min(date)::text as first
      from meta_ad_insights where tenant_id = (select id from tenants where slug = ${ok.slug})`;
    expect(row?.first).toBe(since);
    expect(row?.rows).toBe(30 * (row?.days ?? 0));
  });

  it('a 190 is one clear line, marks the integration, and status shows it next to the healthy tenant', async () => {
    fake.failWhen((r) => r.path.includes(bad.account), { kind: 'token-expired' }, 5);
    const r = await mcb('meta', 'sync', bad.slug);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(`^Meta sync failed for ${bad.slug}: token_expired: Meta Graph 400 code 190`),
    );
    expect(r.stderr).not.toContain(bad.token);

    const s = await mcb('meta', 'status');
    expect(s.code).toBe(0);
    const lines = s.stdout.split('\n');
    expect(lines[0]).toMatch(/^TENANT\s+ACTIVE\s+LAST SUCCESS\s+ADS\s+INSIGHT ROWS\s+LAST DAY\s+LAST ERROR/);
    expect(lines.find((l) => l.startsWith(ok.slug))).toMatch(/yes\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+30\s+[\d,]+\s+\d{4}-\d\d-\d\d\s+-$/);
    expect(lines.find((l) => l.startsWith(bad.slug))).toMatch(/yes\s+never\s+0\s+0\s+-\s+token_expired: /);
    expect(s.stdout).not.toContain(none);
    // The same rows for scripts (operator walk, stop 37: status had no --format json).
    const j = await mcb('meta', 'status', '--format', 'json');
    expect(j).toMatchObject({ code: 0, stderr: '' });
    const doc = JSON.parse(j.stdout) as { integrations: Array<Record<string, unknown>> };
    expect(doc.integrations.find((i) => i.tenant === ok.slug)).toMatchObject({
      active: true,
      last_success_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      last_error: null,
      ads: 30,
      insight_rows: expect.any(Number),
      last_day: expect.stringMatching(/^\d{4}-\d\d-\d\d$/),
    });
    expect(doc.integrations.find((i) => i.tenant === bad.slug)).toMatchObject({
      last_success_at: null,
      ads: 0,
      last_error: expect.stringMatching(/^token_expired: /),
    });
    expect(doc.integrations.some((i) => i.tenant === none)).toBe(false);
    expect(j.stdout).not.toContain(bad.token);
  });

  it('errors are one line with a non-zero exit', async () => {
    expect(await mcb('meta', 'sync', 'no-such-tenant')).toMatchObject({
      code: 1,
      stderr: 'Unknown tenant: no-such-tenant; see mcb tenant list\n',
    });
    expect(await mcb('meta', 'sync', none)).toMatchObject({
      code: 1,
      stderr: `Missing credentials: meta for tenant ${none}; set them with: mcb integration set ${none} meta --credentials '{"access_token":"…","ad_account_id":"act_…"}'\n`,
    });
    expect(await mcb('meta', 'sync', ok.slug, '--since', '2026-13-01')).toMatchObject({
      code: 1,
      stderr: 'Invalid --since: use YYYY-MM-DD\n',
    });
    // No --until given: the line names what --since is after (it blamed an --until nobody passed).
    expect(await mcb('meta', 'sync', ok.slug, '--since', '2999-01-01')).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^Invalid --since 2999-01-01: after today in the tenant's time zone \(\d{4}-\d\d-\d\d, [^)]+\)\n$/),
    });
    expect(await mcb('meta', 'sync', ok.slug, '--since', '2026-02-01', '--until', '2026-01-01')).toMatchObject({
      code: 1,
      stderr: 'Invalid --since 2026-02-01: after --until 2026-01-01\n',
    });
  });

  it('a sync of a tenant already syncing elsewhere does nothing: one clear line and a non-zero exit; once it ends, it runs', async () => {
    const [tenant] = await admin.sql<{ id: string }[]>`select id from tenants where slug = ${ok.slug}`;
    const [before] = await admin.sql<{ last_success_at: Date | null; last_error: string | null }[]>`
      select last_success_at, last_error from tenant_integrations where tenant_id = ${tenant?.id ?? ''} and provider = 'meta'`;
    const requests = fake.requests.length;
    const busy = await withMetaSyncLock(elsewhere, { tenantId: tenant?.id ?? '', slug: ok.slug }, () => mcb('meta', 'sync', ok.slug));
    expect(busy).toEqual({
      code: 1,
      stdout: '',
      stderr: `A Meta sync of ${ok.slug} is already running (another process); nothing done — try again when it ends\n`,
    });
    expect(fake.requests.length).toBe(requests);
    const [after] = await admin.sql<{ last_success_at: Date | null; last_error: string | null }[]>`
      select last_success_at, last_error from tenant_integrations where tenant_id = ${tenant?.id ?? ''} and provider = 'meta'`;
    expect(after).toEqual(before);

    const r = await mcb('meta', 'sync', ok.slug);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Synced ${ok.slug}: 30 ads`));
  });

  it('the lock is held through a rate-limit wait: no scheduled sync starts in it', async () => {
    const [tenant] = await admin.sql<{ id: string }[]>`select id from tenants where slug = ${ok.slug}`;
    const before = fake.requests.length;
    fake.failWhen((r) => r.edge === 'insights' && r.path.includes(ok.account), { kind: 'rate-limit', code: 17, resetSeconds: 2 }, 1);
    const run = mcb('meta', 'sync', ok.slug);
    const throttled = await pollUntil(
      () => fake.requests.slice(before).some((q) => q.fault === 'rate-limit'),
      (seen) => seen,
      { timeoutMs: 10_000, intervalMs: 10 },
    );
    expect(throttled).toBe(true);
    // The CLI is asleep until Meta's reset: a worker trying to sync the tenant now is refused.
    await expect(withMetaSyncLock(elsewhere, { tenantId: tenant?.id ?? '', slug: ok.slug }, async () => 'ran')).rejects.toBeInstanceOf(
      MetaSyncAlreadyRunning,
    );
    const r = await run;
    expect(r.stderr).toContain('Rate limited by Meta: resuming in 2 s');
    expect(r.code).toBe(0);
    expect(await withMetaSyncLock(elsewhere, { tenantId: tenant?.id ?? '', slug: ok.slug }, async () => 'ran')).toBe('ran');
  });
});
