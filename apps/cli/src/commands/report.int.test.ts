import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase } from '@mcb/db';
import { computeReportFigures, weekContaining } from '@mcb/reports';
import { type FakeResend, startFakeResend, testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

const { databaseUrl } = testEnv();
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
const apiKey = 're_cli_test_key';
let fake: FakeResend;
let dir: string;
let tenantId: string;
const slug = `cli-rep-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  fake = await startFakeResend({ apiKey });
  dir = await mkdtemp(join(tmpdir(), 'mcb-cli-report-'));
  process.env.DATABASE_URL = databaseUrl;
  process.env.RESEND_API_KEY = apiKey;
  process.env.RESEND_BASE_URL = fake.url;
  process.env.REPORT_FROM = 'Reports <reports@example.com>';
  process.env.REPORT_OUTBOX_DIR = join(dir, 'outbox');
  const [t] = await admin.sql<{ id: string }[]>`
    insert into tenants (slug, name, owner_name, report_email, config)
    values (${slug}, 'Centner Wellness', 'Leila', 'leila@example.com', ${admin.sql.json({ timezone: 'America/Los_Angeles' })})
    returning id`;
  tenantId = t!.id;
  // Week of Mon 2026-10-26 in Los Angeles (07:00Z .. 2026-11-02T08:00Z). One lead who bought for $1,234.50
  // on Sunday 23:00 local (= Mon 07:00Z, inside the local week), $300.00 of spend, and a payment after the week.
  const [c] = await admin.sql<{ id: string }[]>`
    insert into contacts (tenant_id, source, ad_id) values (${tenantId}, 'instagram', 'AD9') returning id`;
  const cid = c!.id;
  await admin.sql`
    insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id) values
      (${tenantId}, ${cid}, 'contact_subscribed', '2026-10-27T18:00:00Z', 't', 'e1'),
      (${tenantId}, ${cid}, 'purchase_completed', '2026-11-02T07:00:00Z', 't', 'e2')`;
  await admin.sql`
    insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at) values
      (${tenantId}, ${cid}, 'p1', 'stripe', 'buy_in_full', 'full_purchase', 123450, 'paid', '2026-11-02T07:00:00Z'),
      (${tenantId}, ${cid}, 'p2', 'stripe', 'buy_in_full', 'full_purchase', 99900, 'paid', '2026-11-02T08:00:00Z')`;
  await admin.sql`
    insert into meta_ad_insights (tenant_id, ad_id, date, spend_cents) values
      (${tenantId}, 'AD9', '2026-10-26', 10000), (${tenantId}, 'AD9', '2026-11-01', 20000), (${tenantId}, 'AD9', '2026-11-02', 5000)`;
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
  await Promise.all([admin.close(), app.close()]);
});

describe('mcb report preview', () => {
  it('--format json prints the figures the email shows (same function, same numbers)', async () => {
    const r = await mcb('report', 'preview', slug, '--week', '2026-10-28', '--format', 'json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toEqual(
      JSON.parse(JSON.stringify(await computeReportFigures(app, tenantId, weekContaining('2026-10-26', 'America/Los_Angeles')))),
    );
    expect(json.period).toMatchObject({ start_date: '2026-10-26', end_date: '2026-11-01', timezone: 'America/Los_Angeles', hours: 169 });
    expect(json.leads).toBe(1);
    expect(json.purchases).toBe(1);
    expect(json.revenue.cash_collected_cents).toBe(123450);
    expect(json.ads).toMatchObject({ spend_cents: 30000, cost_per_lead_cents: 30000, cost_per_purchase_cents: 30000, roas: 4.12 });

    const html = await mcb('report', 'preview', slug, '--week', '2026-10-28', '--out', join(dir, 'report.html'));
    expect(html.code).toBe(0);
    expect(html.stderr).toContain('Subject: Centner Wellness weekly: Oct 26 – Nov 1 · $1,234.50 collected');
    const page = await readFile(join(dir, 'report.html'), 'utf8');
    for (const s of ['Hi Leila,', '$1,234.50', '$300.00', '4.12×', 'America/Los_Angeles']) expect(page).toContain(s);

    const text = await mcb('report', 'preview', slug, '--week', '2026-10-28', '--format', 'text');
    expect(text.stdout).toContain('Cash collected              $1,234.50');
  });

  it('words the week it shows: "this week so far" for the running week, "last week" for the default (issue 16)', async () => {
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Los_Angeles' }).format(new Date());
    const current = await mcb('report', 'preview', slug, '--week', today, '--format', 'text');
    expect(current.code).toBe(0);
    expect(current.stdout).toContain('Here is how this week is going so far.');
    expect(current.stdout).not.toContain('last week went');
    const last = await mcb('report', 'preview', slug, '--format', 'text');
    expect(last.stdout).toContain('Here is how last week went.');
    const older = await mcb('report', 'preview', slug, '--week', '2026-10-28', '--format', 'text');
    expect(older.stdout).toContain('Here is how the week of Oct 26 – Nov 1 went.');
  });

  it('works as the real `mcb` process (tsx from the repository root renders the React Email template)', () => {
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', main, 'report', 'preview', slug, '--week', '2026-10-26'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^<!DOCTYPE html/);
    expect(run.stdout).toContain('Hi Leila,');
  });

  it('fails with one clear line', async () => {
    expect(await mcb('report', 'preview', 'no-such-tenant')).toMatchObject({ code: 1, stderr: 'Unknown tenant: no-such-tenant\n' });
    expect(await mcb('report', 'preview', slug, '--week', '28/10/2026')).toMatchObject({
      code: 1,
      stderr: 'Invalid week date: 28/10/2026 (expected YYYY-MM-DD)\n',
    });
    expect(await mcb('report', 'preview', slug, '--format', 'pdf')).toMatchObject({
      code: 1,
      stderr: 'Invalid --format: pdf (html, text or json)\n',
    });
  });
});

describe('mcb report send', () => {
  it('sends once; the second run sends nothing and says so', async () => {
    const first = await mcb('report', 'send', slug, '--week', '2026-10-26');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /^Weekly report for cli-rep-\w+, week 2026-10-26 – 2026-11-01 \(America\/Los_Angeles\), to 1 recipient: sent with Resend, id /,
    );
    const second = await mcb('report', 'send', slug, '--week', '2026-11-01');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(
      /^Already sent: the weekly report for cli-rep-\w+, week 2026-10-26 – 2026-11-01 \(America\/Los_Angeles\), went out at .+\. Nothing sent\.\n$/,
    );
    const mine = fake.requests.filter((r) => r.headers['idempotency-key'] === `weekly-report/${slug}/2026-10-26`);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.body).toMatchObject({ to: ['leila@example.com'], from: 'Reports <reports@example.com>' });
  });

  it('without RESEND_API_KEY writes the email to the outbox and prints the path', async () => {
    const saved = process.env.RESEND_API_KEY;
    process.env.RESEND_API_KEY = '';
    try {
      const r = await mcb('report', 'send', slug, '--week', '2026-10-19');
      expect(r.code).toBe(0);
      const file = join(dir, 'outbox', slug, '2026-10-19.html');
      expect(r.stdout).toContain(`written to the outbox (no RESEND_API_KEY): ${file}`);
      expect(await readFile(file, 'utf8')).toContain('Hi Leila,');
      expect(JSON.parse(await readFile(join(dir, 'outbox', slug, '2026-10-19.json'), 'utf8')).period.start_date).toBe('2026-10-19');
    } finally {
      process.env.RESEND_API_KEY = saved;
    }
  });
});
