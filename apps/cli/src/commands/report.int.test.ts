import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase } from '@mcb/db';
import { computeReportFigures, previousFullWeek, weekContaining } from '@mcb/reports';
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
    insert into tenants (slug, name, owner_name, report_email, config, created_at)
    values (${slug}, 'Centner Wellness', 'Leila', 'leila@example.com', ${admin.sql.json({ timezone: 'America/Los_Angeles' })}, '2026-09-01T00:00:00Z')
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
    // --json is --format json, as on every command that prints JSON.
    expect(await mcb('report', 'preview', slug, '--week', '2026-10-28', '--json')).toEqual(r);
  });

  // Walk of the README, stop 34: on a terminal it printed 20 KB of one-line HTML.
  it('prints the plain-text part on a terminal unless a format is asked for, and the email into a pipe', async () => {
    const piped = await mcb('report', 'preview', slug, '--week', '2026-10-28');
    expect(piped.stdout).toMatch(/^<!DOCTYPE html/);
    const descriptor = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
    Object.defineProperty(process.stdout, 'isTTY', { value: true, configurable: true });
    try {
      const terminal = await mcb('report', 'preview', slug, '--week', '2026-10-28');
      expect(terminal.stdout).toContain('Cash collected              $1,234.50');
      expect(terminal.stdout).not.toContain('<html');
      expect(terminal.stderr).toBe(
        'The report as text (a terminal reads no HTML): --format html, or --out report.html, for the email itself\n',
      );
      expect((await mcb('report', 'preview', slug, '--week', '2026-10-28', '--format', 'html')).stdout).toMatch(/^<!DOCTYPE html/);
    } finally {
      if (descriptor) Object.defineProperty(process.stdout, 'isTTY', descriptor);
      else delete (process.stdout as { isTTY?: boolean }).isTTY;
    }
    // The help says so (it said "default html": docs walk, stop 37).
    expect((await mcb('report', 'preview', '--help')).stdout.replace(/\s+/g, ' ')).toContain(
      'default text on a terminal, html to a file or a pipe',
    );
  });

  it('--out into a folder that does not exist: one line naming the folder, exit 1, nothing written', async () => {
    const missing = join(dir, 'some', 'missing', 'dir');
    const r = await mcb('report', 'preview', slug, '--week', '2026-10-28', '--out', join(missing, 'file.html'));
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: `Cannot write --out ${join(missing, 'file.html')}: folder ${missing} does not exist (create it first, or pick another --out)\n`,
    });
    await expect(access(join(dir, 'some'))).rejects.toThrow();
    // A folder given as the file is one line too.
    expect((await mcb('report', 'preview', slug, '--week', '2026-10-28', '--out', dir)).stderr).toBe(
      `Cannot write --out ${dir}: it is a folder: give a file name\n`,
    );
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
    expect(await mcb('report', 'preview', 'no-such-tenant')).toMatchObject({
      code: 1,
      stderr: 'Unknown tenant: no-such-tenant; see mcb tenant list\n',
    });
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

  it('refuses a week that ended before the tenant was added (a mistyped year): one line, exit 1, no run, no email; --before-created sends it', async () => {
    // An operator's review (stop 38): `--week 2020-01-01` sent an all-zero report for a tenant added that day,
    // and a report is sent once.
    const before = fake.requests.length;
    const refused = await mcb('report', 'send', slug, '--week', '2020-01-01');
    expect(refused).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `Week 2019-12-30 – 2020-01-05 (America/Los_Angeles) ended before ${slug} was added (2026-09-01): check the week (a report is sent once). To send it all the same: --before-created (mcb report preview ${slug} --week 2019-12-30 shows it first)\n`,
    });
    expect(fake.requests.length).toBe(before);
    const [runs] = await admin.sql<{ n: number }[]>`
      select count(*)::int n from report_runs where tenant_id = ${tenantId} and period_start = '2019-12-30'`;
    expect(runs?.n).toBe(0);
    const forced = await mcb('report', 'send', slug, '--week', '2020-01-01', '--before-created');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('week 2019-12-30 – 2020-01-05');
  });

  it('refuses a week that has not ended (running or future): one line, exit 1, no run, no email; preview shows the running week, refuses a future one; the last full week sends', async () => {
    const zone = 'America/Los_Angeles';
    const plusDays = (date: string, days: number) =>
      new Date(Date.parse(`${date}T12:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date());
    const running = weekContaining(today, zone);
    const future = weekContaining(plusDays(running.weekStart, 9), zone);
    // A week not started has nothing to preview either: the refusal no longer sends the operator there.
    const refusal = (w: typeof running, started: boolean) =>
      `Week ${w.weekStart} – ${w.weekEnd} (${zone}) ${started ? 'has not ended' : 'has not started'}: it ends Mon ${plusDays(w.weekEnd, 1)} 00:00 ${zone}. ` +
      (started
        ? `Only a full week is sent; to see it so far: mcb report preview ${slug} --week ${w.weekStart}\n`
        : 'Only a full week is sent.\n');

    const saved = process.env.RESEND_API_KEY;
    try {
      // With Resend, then without (outbox): the same refusal, before anything is claimed or written.
      for (const key of [apiKey, '']) {
        process.env.RESEND_API_KEY = key;
        expect(await mcb('report', 'send', slug, '--week', today)).toEqual({ code: 1, stdout: '', stderr: refusal(running, true) });
        expect(await mcb('report', 'send', slug, '--week', running.weekStart)).toEqual({
          code: 1,
          stdout: '',
          stderr: refusal(running, true),
        });
        expect(await mcb('report', 'send', slug, '--week', future.weekEnd)).toEqual({
          code: 1,
          stdout: '',
          stderr: refusal(future, false),
        });
      }
    } finally {
      process.env.RESEND_API_KEY = saved;
    }
    const weeks = [running.weekStart, future.weekStart];
    const runs = await admin.sql`
      select 1 from report_runs where tenant_id = ${tenantId} and to_char(period_start, 'YYYY-MM-DD') = any(${weeks})`;
    expect(runs).toHaveLength(0);
    expect(fake.requests.filter((r) => weeks.some((w) => r.headers['idempotency-key'] === `weekly-report/${slug}/${w}`))).toEqual([]);
    for (const w of weeks) await expect(access(join(dir, 'outbox', slug, `${w}.html`))).rejects.toThrow(/ENOENT/);

    // Preview still shows the running week (so far); a week ahead it refuses as send does (it read
    // "Here is how the week of … went … $0.00 (-100% vs the week before)").
    const preview = await mcb('report', 'preview', slug, '--week', today, '--format', 'json');
    expect(preview.code).toBe(0);
    expect(JSON.parse(preview.stdout).period).toMatchObject({ start_date: running.weekStart, end_date: running.weekEnd });
    for (const format of ['text', 'html', 'json']) {
      expect(await mcb('report', 'preview', slug, '--week', future.weekEnd, '--format', format), format).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `Week ${future.weekStart} – ${future.weekEnd} (${zone}) has not started: it starts Mon ${future.weekStart} 00:00 ${zone}. ` +
          `Nothing to preview yet; this week so far: mcb report preview ${slug} --week ${running.weekStart}\n`,
      });
    }

    // The week that has ended still sends: by default, once.
    const last = previousFullWeek(new Date(), 'America/Los_Angeles');
    const r = await mcb('report', 'send', slug);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(
      `Weekly report for ${slug}, week ${last.weekStart} – ${last.weekEnd} (America/Los_Angeles), to 1 recipient: sent with Resend`,
    );
    expect(r.stdout).toContain('Subject: Centner Wellness weekly: ');
    const again = await mcb('report', 'send', slug, '--week', last.weekEnd);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toMatch(/^Already sent: /);
    expect(fake.requests.filter((q) => q.headers['idempotency-key'] === `weekly-report/${slug}/${last.weekStart}`)).toHaveLength(1);
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
