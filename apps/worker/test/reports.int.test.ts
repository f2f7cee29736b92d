import { createLogger } from '@mcb/core';
import { queueNames } from '@mcb/queue';
import { previousFullWeek, weeklyReportJobId } from '@mcb/reports';
import { addTenant } from '@mcb/tenancy';
import { type FakeResend, pollUntil, startFakeResend } from '@mcb/testing';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueDueWeeklyReports } from '../src/processors/reports/tick';
import { reportTickSchedulerId } from '../src/schedulers/reports';
import { createHarness, type Harness, settledJobState } from './harness';

const apiKey = 're_worker_test_key';
let h: Harness;
let fake: FakeResend;
let reports: Queue;
let schedules: Queue;

beforeAll(async () => {
  fake = await startFakeResend({ apiKey });
  h = await createHarness('reports', { RESEND_API_KEY: apiKey, RESEND_BASE_URL: fake.url, REPORT_FROM: 'Reports <reports@example.com>' });
  reports = new Queue(queueNames.reports, { connection: h.conn.connection, prefix: h.prefix });
  schedules = new Queue(queueNames.schedules, { connection: h.conn.connection, prefix: h.prefix });
});
afterAll(async () => {
  await reports?.close();
  await schedules?.close();
  await h?.close();
  await fake?.close();
});

const tickDeps = () => ({ admin: h.admin, queue: h.conn, env: h.env, log: createLogger({ name: 'test', level: 'silent' }) });

let n = 0;
async function tenant(opts: { timezone: string; schedule?: string; email?: string | null; active?: boolean; createdAt?: Date }) {
  n++;
  const slug = `rpt-${Date.now().toString(36)}${n}`;
  const report = opts.schedule ? { schedule: opts.schedule } : undefined;
  const t = await addTenant(h.admin, {
    slug,
    name: `Clinic ${n}`,
    ownerName: 'Dana',
    reportEmail: opts.email === undefined ? `owner${n}@example.com` : (opts.email ?? undefined),
    isActive: opts.active ?? true,
    config: { timezone: opts.timezone, ...(report ? { report } : {}) },
  });
  await h.admin.sql`update tenants set created_at = ${opts.createdAt ?? new Date('2026-01-01T00:00:00Z')} where id = ${t.id}`;
  return { id: t.id, slug };
}

describe('report.tick fan-out', () => {
  it('enqueues each tenant when its own local send time has come, once per tenant and week', async () => {
    const ny = await tenant({ timezone: 'America/New_York' }); // Mon 08:00 EST = 13:00Z on 2026-11-02
    const tokyo = await tenant({ timezone: 'Asia/Tokyo', schedule: '30 9 * * 2' }); // Tue 09:30 JST = Tue 00:30Z
    const utc = await tenant({ timezone: 'UTC' }); // Mon 08:00Z
    const silent = await tenant({ timezone: 'UTC', email: null }); // no recipients
    const inactive = await tenant({ timezone: 'UTC', active: false });
    const fresh = await tenant({ timezone: 'UTC', createdAt: new Date('2026-11-02T01:00:00Z') }); // created after the week
    const mine = [ny, tokyo, utc, silent, inactive, fresh];
    const due = async (now: string) => {
      const ids = await enqueueDueWeeklyReports(tickDeps(), new Date(now));
      return mine.filter((t) => ids.some((id) => id.startsWith(`report-weekly-${t.id}-`))).map((t) => t.slug);
    };

    expect(await due('2026-11-02T07:59:00Z')).toEqual([]);
    expect(await due('2026-11-02T08:00:00Z')).toEqual([utc.slug]);
    expect(await due('2026-11-02T12:59:00Z')).toEqual([utc.slug]);
    expect(await due('2026-11-02T13:00:00Z')).toEqual([ny.slug, utc.slug]);
    expect(await due('2026-11-03T00:30:00Z')).toEqual([ny.slug, tokyo.slug, utc.slug]);

    // Five ticks enqueued the same week: one job per tenant, with the deterministic id.
    for (const t of [ny, utc, tokyo]) {
      const job = await reports.getJob(weeklyReportJobId(t.id, '2026-10-26'));
      expect(job?.data).toEqual({ tenantId: t.id, weekStart: '2026-10-26' });
    }
    const jobs = await reports.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    for (const t of [ny, utc, tokyo]) expect(jobs.filter((j) => j.data.tenantId === t.id)).toHaveLength(1);
    for (const t of [silent, inactive, fresh]) expect(jobs.filter((j) => j.data.tenantId === t.id)).toHaveLength(0);
    expect(weeklyReportJobId(ny.id, '2026-10-26')).not.toContain(':');
  });

  // Faults walk, stop 37: with Resend down longer than the job's backoff, the week's job failed after all its
  // attempts and kept its id; every tick said "due: 1" and added nothing, so the report was never sent.
  it('adds again a due week whose job used all its attempts; one failed for good stays failed', async () => {
    const exhausted = await tenant({ timezone: 'UTC' });
    const final = await tenant({ timezone: 'UTC' });
    const week = '2026-10-26';
    const fetcher = new Worker(queueNames.reports, null, { connection: h.conn.connection, prefix: h.prefix });
    try {
      for (const [t, attempts, err] of [
        [exhausted, 1, new Error('Resend: application_error: 500')],
        [final, 3, new UnrecoverableError('no recipients')],
      ] as const) {
        // lifo: taken before any week an earlier test left waiting.
        await reports.add(
          'report.weekly',
          { tenantId: t.id, weekStart: week },
          { jobId: weeklyReportJobId(t.id, week), attempts, lifo: true },
        );
        const job = await fetcher.getNextJob('tok');
        expect(job?.id).toBe(weeklyReportJobId(t.id, week));
        await job?.moveToFailed(err, 'tok');
      }
    } finally {
      await fetcher.close();
    }
    expect(await reports.getJobState(weeklyReportJobId(exhausted.id, week))).toBe('failed');
    const ids = await enqueueDueWeeklyReports(tickDeps(), new Date('2026-11-04T00:00:00Z'));
    expect(ids).toEqual(expect.arrayContaining([weeklyReportJobId(exhausted.id, week), weeklyReportJobId(final.id, week)]));
    const again = await reports.getJob(weeklyReportJobId(exhausted.id, week));
    expect({ state: await again?.getState(), attemptsMade: again?.attemptsMade }).toEqual({ state: 'waiting', attemptsMade: 0 });
    expect(await reports.getJobState(weeklyReportJobId(final.id, week))).toBe('failed');
    await reports.remove(weeklyReportJobId(exhausted.id, week));
  });

  it('leaves out a week whose report_runs row says sent', async () => {
    const t = await tenant({ timezone: 'UTC' });
    await h.admin.sql`
      insert into report_runs (tenant_id, kind, period_start, period_end, status, sent_at)
      values (${t.id}, 'weekly', '2026-10-26', '2026-11-01', 'sent', now())`;
    const ids = await enqueueDueWeeklyReports(tickDeps(), new Date('2026-11-04T00:00:00Z'));
    expect(ids.some((id) => id.includes(t.id))).toBe(false);
  });
});

describe('weekly reports through the real worker runtime', () => {
  it('registers one report.tick scheduler however many workers start; ticks send each report once', async () => {
    await h.startWorker();
    await h.startWorker();
    const schedulers = (await schedules.getJobSchedulers()).filter((s) => s.key === reportTickSchedulerId);
    expect(schedulers).toHaveLength(1);
    expect(Number(schedulers[0]?.every)).toBe(900_000);

    // Due as soon as its week has ended (Monday 00:00 in its zone), whatever the hour this runs: with the
    // default Monday 08:00 the last full week is not due yet on Mondays before 08:00 New York time, and
    // the ticks rightly send nothing.
    const t = await tenant({ timezone: 'America/New_York', schedule: '0 0 * * 1' });
    const week = previousFullWeek(new Date(), 'America/New_York').weekStart;
    const key = `weekly-report/${t.slug}/${week}`;
    // Three ticks (e.g. two schedulers racing plus a manual one): still one email.
    await schedules.add('report.tick', {});
    await schedules.add('report.tick', {});
    await schedules.add('report.tick', {});
    const reportRun = async () => {
      const [run] = await h.admin.sql<{ status: string }[]>`select status from report_runs where tenant_id = ${t.id}`;
      return run;
    };
    const run = await pollUntil(reportRun, (r) => r?.status === 'sent', { timeoutMs: 30_000, intervalMs: 100 });
    expect(run, 'report not sent').toMatchObject({ status: 'sent' });
    await new Promise((r) => setTimeout(r, 500));
    const mine = fake.requests.filter((r) => r.headers['idempotency-key'] === key);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.body).toMatchObject({ from: 'Reports <reports@example.com>', to: [`owner${n}@example.com`] });
    expect(String(mine[0]?.body?.subject)).toMatch(new RegExp(`^Clinic ${n} weekly: .+ · \\$0\\.00 collected$`));
    const jobId = weeklyReportJobId(t.id, week);
    expect(await settledJobState(await reports.getJob(jobId), 'completed')).toBe('completed');
    expect((await reports.getJob(jobId))?.returnvalue).toMatchObject({ status: 'sent', weekStart: week });
  });
});

describe('report.weekly when another sender holds the week', () => {
  it('sends nothing and looks again later (job delayed, not failed)', async () => {
    const t = await tenant({ timezone: 'UTC' });
    const week = previousFullWeek(new Date(), 'UTC');
    await h.admin.sql`
      insert into report_runs (tenant_id, kind, period_start, period_end, status)
      values (${t.id}, 'weekly', ${week.weekStart}, ${week.weekEnd}, 'pending')`;
    const job = await reports.add('report.weekly', { tenantId: t.id, weekStart: week.weekStart }, { jobId: `manual-${t.id}` });
    const state = await pollUntil(
      () => job.getState(),
      (s) => s === 'delayed',
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(state).toBe('delayed');
    expect(fake.requests.filter((r) => r.headers['idempotency-key'] === `weekly-report/${t.slug}/${week.weekStart}`)).toHaveLength(0);
    expect((await reports.getJob(`manual-${t.id}`))?.attemptsMade ?? 0).toBe(0);
  });
});

describe("report.weekly for a week that has not ended on this worker's clock", () => {
  // The tick enqueues only ended weeks; a refusal means a clock behind the tick's or a zone changed since.
  // A failed job would keep the week's id (the tick's later add is a no-op), so it waits for the end instead.
  it('waits for the week to end (delayed, not failed), sends nothing and records no run meanwhile', async () => {
    const t = await tenant({ timezone: 'UTC' });
    const next = previousFullWeek(new Date(Date.now() + 14 * 24 * 3600_000), 'UTC');
    const job = await reports.add('report.weekly', { tenantId: t.id, weekStart: next.weekStart }, { jobId: `early-${t.id}` });
    const state = await pollUntil(
      () => job.getState(),
      (s) => s === 'delayed',
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(state).toBe('delayed');
    const delayed = await reports.getJob(`early-${t.id}`);
    expect(delayed?.attemptsMade ?? 0).toBe(0);
    // Due just past the week's end.
    expect((delayed?.timestamp ?? 0) + (delayed?.delay ?? 0)).toBeGreaterThanOrEqual(next.end.getTime());
    const runs = await h.admin.sql`select 1 from report_runs where tenant_id = ${t.id}`;
    expect(runs).toHaveLength(0);
    expect(fake.requests.filter((r) => String(r.headers['idempotency-key'] ?? '').startsWith(`weekly-report/${t.slug}/`))).toHaveLength(0);
    await delayed?.remove();
  });
});
