import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase } from '@mcb/db';
import { type FakeResend, startFakeResend, testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../test/factories';
import { seedScenario } from '../test/scenario';
import { createOutboxMailer, createResendMailer, MailerError } from './mailer';
import { sendWeeklyReport, WeekNotEnded } from './send';

const { databaseUrl } = testEnv();
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
const apiKey = 're_test_0123456789';
const from = 'MCB Reports <reports@example.com>';
let fake: FakeResend;

beforeAll(async () => {
  fake = await startFakeResend({ apiKey });
});
afterAll(async () => {
  await fake.close();
  await Promise.all([admin.close(), app.close()]);
});

async function reportTenant(extra: { recipients?: string[]; reportEmail?: string | null } = {}) {
  const tenant = await createTenant(admin, {
    name: 'Postpartum Care USA',
    ownerName: 'Eric',
    reportEmail: extra.reportEmail === undefined ? 'Eric@Example.com' : extra.reportEmail,
    config: { timezone: 'America/New_York', report: { recipients: extra.recipients ?? ['ops@example.com', 'eric@example.com'] } },
  });
  await seedScenario(admin, tenant.id);
  return tenant;
}

/** Runs of the test week (a concurrently running worker test may add the current week's). */
async function runsOf(tenantId: string) {
  return admin.sql<
    {
      status: string;
      period_start: string;
      period_end: string;
      recipients: unknown;
      kind: string;
      provider_message_id: string | null;
      error: string | null;
      sent_at: Date | null;
      recipients_type: string;
    }[]
  >`select status, to_char(period_start, 'YYYY-MM-DD') as period_start, to_char(period_end, 'YYYY-MM-DD') as period_end, kind,
           recipients, jsonb_typeof(recipients) as recipients_type, provider_message_id, error, sent_at
    from report_runs where tenant_id = ${tenantId} and period_start = '2026-10-26'`;
}

describe('sendWeeklyReport through Resend (local fake)', () => {
  it('sends the same week once: the second run sends nothing and says so', async () => {
    const tenant = await reportTenant();
    const mailer = createResendMailer({ apiKey, baseUrl: fake.url });
    const before = fake.requests.length;

    const first = await sendWeeklyReport({ database: app, mailer, from, tenantId: tenant.id, week: '2026-10-28' });
    const second = await sendWeeklyReport({ database: app, mailer, from, tenantId: tenant.id, week: '2026-10-26' });

    expect(first.status).toBe('sent');
    expect(second).toMatchObject({ status: 'already_sent', weekStart: '2026-10-26' });
    const mine = fake.requests.slice(before);
    expect(mine).toHaveLength(1);
    const req = mine[0]!;
    expect(req.headers['idempotency-key']).toBe(`weekly-report/${tenant.slug}/2026-10-26`);
    expect(req.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(req.body).toMatchObject({
      from,
      to: ['eric@example.com', 'ops@example.com'],
      subject: 'Postpartum Care USA weekly: Oct 26 – Nov 1 · $4,975.00 collected',
    });
    expect(String(req.body?.html)).toContain('Hi Eric,</p>');
    expect(String(req.body?.text)).toContain('Cash collected              $4,975.00');

    const runs = await runsOf(tenant.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      kind: 'weekly',
      status: 'sent',
      period_start: '2026-10-26',
      period_end: '2026-11-01',
      recipients: ['eric@example.com', 'ops@example.com'],
      recipients_type: 'array',
      provider_message_id: req.id,
      error: null,
    });
    expect(runs[0]?.sent_at).toBeInstanceOf(Date);
  });

  it('records a failed send and sends on the retry (still one email)', async () => {
    const tenant = await reportTenant();
    const mailer = createResendMailer({ apiKey, baseUrl: fake.url });
    const delivered = fake.delivered.length;
    fake.failNext(1, 503);

    const error = await sendWeeklyReport({ database: app, mailer, from, tenantId: tenant.id, week: '2026-10-26' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailerError);
    expect((error as MailerError).retryable).toBe(true);
    expect((await runsOf(tenant.id))[0]).toMatchObject({ status: 'failed', provider_message_id: null });
    expect((await runsOf(tenant.id))[0]?.error).toMatch(/503|fake failure/);

    const retry = await sendWeeklyReport({ database: app, mailer, from, tenantId: tenant.id, week: '2026-10-26' });
    expect(retry.status).toBe('sent');
    expect(fake.delivered.length - delivered).toBe(1);
    expect((await runsOf(tenant.id))[0]).toMatchObject({ status: 'sent', error: null });
  });

  it('a sender that died after Resend accepted: the stale run is taken over and the idempotency key prevents a second email', async () => {
    const tenant = await reportTenant();
    const mailer = createResendMailer({ apiKey, baseUrl: fake.url });
    const delivered = fake.delivered.length;
    await sendWeeklyReport({ database: app, mailer, from, tenantId: tenant.id, week: '2026-10-26' });
    // Simulate the crash: the row never got marked sent and is older than the stale limit.
    await admin.sql`update report_runs set status = 'pending', updated_at = now() - interval '1 hour' where tenant_id = ${tenant.id} and period_start = '2026-10-26'`;

    const again = await sendWeeklyReport({ database: app, mailer, from, tenantId: tenant.id, week: '2026-10-26' });
    expect(again.status).toBe('sent');
    expect(fake.delivered.length - delivered).toBe(1);
    const keys = fake.requests.filter((r) => r.headers['idempotency-key'] === `weekly-report/${tenant.slug}/2026-10-26`);
    expect(keys).toHaveLength(2);
    expect(keys[0]?.id).toBe(keys[1]?.id);
  });

  it('leaves a fresh pending run alone (another sender is on it)', async () => {
    const tenant = await reportTenant();
    await admin.sql`
      insert into report_runs (tenant_id, kind, period_start, period_end, status) values (${tenant.id}, 'weekly', '2026-10-26', '2026-11-01', 'pending')`;
    const before = fake.requests.length;
    const result = await sendWeeklyReport({
      database: app,
      mailer: createResendMailer({ apiKey, baseUrl: fake.url }),
      from,
      tenantId: tenant.id,
      week: '2026-10-26',
    });
    expect(result.status).toBe('in_progress');
    expect(fake.requests.length).toBe(before);
  });

  it('a rejected request (bad key) is not retryable', async () => {
    const tenant = await reportTenant();
    const mailer = createResendMailer({ apiKey: 're_wrong', baseUrl: fake.url });
    const error = await sendWeeklyReport({ database: app, mailer, from, tenantId: tenant.id, week: '2026-10-26' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailerError);
    expect((error as MailerError).retryable).toBe(false);
    expect((await runsOf(tenant.id))[0]?.status).toBe('failed');
  });

  it('skips a tenant with no report_email and no recipients, creating no run', async () => {
    const tenant = await reportTenant({ reportEmail: null, recipients: [] });
    const result = await sendWeeklyReport({
      database: app,
      mailer: createResendMailer({ apiKey, baseUrl: fake.url }),
      from,
      tenantId: tenant.id,
      week: '2026-10-26',
    });
    expect(result).toEqual({ status: 'skipped', weekStart: '2026-10-26', reason: 'no_recipients' });
    expect(await runsOf(tenant.id)).toHaveLength(0);
  });

  it('skips an inactive tenant on the scheduled path (skipInactive), creating no run', async () => {
    const tenant = await reportTenant();
    await admin.sql`update tenants set is_active = false where id = ${tenant.id}`;
    const before = fake.requests.length;
    const result = await sendWeeklyReport({
      database: app,
      mailer: createResendMailer({ apiKey, baseUrl: fake.url }),
      from,
      tenantId: tenant.id,
      week: '2026-10-26',
      skipInactive: true,
    });
    expect(result).toEqual({ status: 'skipped', weekStart: '2026-10-26', reason: 'inactive' });
    expect(fake.requests.length).toBe(before);
    expect(await runsOf(tenant.id)).toHaveLength(0);
  });

  it('defaults to the last full week in the tenant zone', async () => {
    const tenant = await reportTenant();
    const result = await sendWeeklyReport({
      database: app,
      mailer: createResendMailer({ apiKey, baseUrl: fake.url }),
      from,
      tenantId: tenant.id,
      // Mon 2026-11-02 04:30 UTC is still Sunday 23:30 in New York: the last full week is 10-19.
      now: new Date('2026-11-02T04:30:00Z'),
    });
    expect(result).toMatchObject({ status: 'sent', weekStart: '2026-10-19' });
  });
});

describe('sendWeeklyReport without RESEND_API_KEY (outbox)', () => {
  it('writes html, txt and json to the outbox, once per week', async () => {
    const tenant = await reportTenant();
    const dir = await mkdtemp(join(tmpdir(), 'mcb-outbox-'));
    try {
      const mailer = createOutboxMailer({ dir });
      const result = await sendWeeklyReport({ database: app, mailer, from, tenantId: tenant.id, week: '2026-10-26' });
      expect(result.status).toBe('sent');
      if (result.status !== 'sent' || result.delivery.kind !== 'outbox') throw new Error('expected an outbox delivery');
      const base = join(dir, tenant.slug, '2026-10-26');
      expect(result.delivery.files).toEqual({ html: `${base}.html`, text: `${base}.txt`, json: `${base}.json` });
      expect(await readFile(`${base}.html`, 'utf8')).toContain('Testimonial Carousel');
      const text = await readFile(`${base}.txt`, 'utf8');
      expect(text).toContain('Subject: Postpartum Care USA weekly: Oct 26 – Nov 1 · $4,975.00 collected');
      expect(text).toContain(`Idempotency-Key: weekly-report/${tenant.slug}/2026-10-26`);
      const json = JSON.parse(await readFile(`${base}.json`, 'utf8'));
      expect(json.revenue.cash_collected_cents).toBe(497500);
      expect((await runsOf(tenant.id))[0]).toMatchObject({ status: 'sent', provider_message_id: `outbox:${base}.html` });

      const second = await sendWeeklyReport({ database: app, mailer, from, tenantId: tenant.id, week: '2026-10-26' });
      expect(second.status).toBe('already_sent');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('sendWeeklyReport sends only a week that has ended (SPEC §7: a full week)', () => {
  // Thursday 2026-10-29 12:00 in New York: the week of 2026-10-26 is running, the week of 2026-11-02 is ahead.
  const thursday = new Date('2026-10-29T16:00:00Z');

  async function runsOfTenant(tenantId: string) {
    return admin.sql<{ period_start: string; status: string }[]>`
      select to_char(period_start, 'YYYY-MM-DD') as period_start, status from report_runs where tenant_id = ${tenantId}`;
  }

  it('refuses the running week and a later one: WeekNotEnded, no run recorded, no email (Resend or outbox)', async () => {
    const tenant = await reportTenant();
    const dir = await mkdtemp(join(tmpdir(), 'mcb-outbox-'));
    try {
      const mailers = [createResendMailer({ apiKey, baseUrl: fake.url }), createOutboxMailer({ dir })];
      for (const mailer of mailers) {
        for (const skipInactive of [false, true]) {
          const running = await sendWeeklyReport({
            database: app,
            mailer,
            from,
            tenantId: tenant.id,
            week: '2026-10-28',
            now: thursday,
            skipInactive,
          }).catch((e: unknown) => e);
          expect(running).toBeInstanceOf(WeekNotEnded);
          expect(running).toMatchObject({
            code: 'bad_request',
            weekStart: '2026-10-26',
            endsAt: new Date('2026-11-02T05:00:00Z'),
            message: `Week 2026-10-26 – 2026-11-01 (America/New_York) has not ended: it ends Mon 2026-11-02 00:00 America/New_York. Only a full week is sent; to see it so far: mcb report preview ${tenant.slug} --week 2026-10-26`,
          });
          const future = await sendWeeklyReport({
            database: app,
            mailer,
            from,
            tenantId: tenant.id,
            week: '2026-11-08',
            now: thursday,
            skipInactive,
          }).catch((e: unknown) => e);
          expect(future).toBeInstanceOf(WeekNotEnded);
          expect((future as Error).message).toBe(
            `Week 2026-11-02 – 2026-11-08 (America/New_York) has not started: it ends Mon 2026-11-09 00:00 America/New_York. Only a full week is sent.`,
          );
        }
      }
      expect(fake.requests.filter((r) => String(r.headers['idempotency-key']).startsWith(`weekly-report/${tenant.slug}/`))).toEqual([]);
      expect(await readdir(dir)).toEqual([]);
      expect(await runsOfTenant(tenant.id)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sends the week once it has ended (Monday 00:00 local), even after a refused early try', async () => {
    const tenant = await reportTenant();
    const mailer = createResendMailer({ apiKey, baseUrl: fake.url });
    const early = await sendWeeklyReport({ database: app, mailer, from, tenantId: tenant.id, week: '2026-10-26', now: thursday }).catch(
      (e: unknown) => e,
    );
    expect(early).toBeInstanceOf(WeekNotEnded);
    // Sunday 23:59:59.999 in New York: one millisecond short of the end.
    const lastMs = await sendWeeklyReport({
      database: app,
      mailer,
      from,
      tenantId: tenant.id,
      week: '2026-10-26',
      now: new Date('2026-11-02T04:59:59.999Z'),
    }).catch((e: unknown) => e);
    expect(lastMs).toBeInstanceOf(WeekNotEnded);
    expect(await runsOfTenant(tenant.id)).toEqual([]);

    // The scheduled send (Monday 08:00 New York) of that week: the whole week, not "already sent".
    const monday = await sendWeeklyReport({
      database: app,
      mailer,
      from,
      tenantId: tenant.id,
      week: '2026-10-26',
      now: new Date('2026-11-02T13:00:00Z'),
    });
    expect(monday).toMatchObject({
      status: 'sent',
      weekStart: '2026-10-26',
      subject: 'Postpartum Care USA weekly: Oct 26 – Nov 1 · $4,975.00 collected',
    });
    const mine = fake.requests.filter((r) => r.headers['idempotency-key'] === `weekly-report/${tenant.slug}/2026-10-26`);
    expect(mine).toHaveLength(1);
    expect(String(mine[0]?.body?.text)).toContain('Cash collected              $4,975.00');
    expect(await runsOfTenant(tenant.id)).toEqual([{ period_start: '2026-10-26', status: 'sent' }]);
  });
});
