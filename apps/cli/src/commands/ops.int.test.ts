import { randomBytes } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { createQueueConnection, queueNames, webhookQueueName } from '@mcb/queue';
import { testEnv } from '@mcb/testing';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

// Operating commands (issue 8) through the real `mcb` program, in-process, against this run's database
// and Redis (own prefix): logs, log, replay (dry run, progress, summary), queues, stats.

const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const prefix = `${redisPrefix}-cliops`;
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const conn = createQueueConnection({ kind: 'redis', url: redisUrl }, prefix);
let tenant: { id: string; slug: string };
const failed: number[] = [];
let processed: number;

beforeAll(async () => {
  process.env.DATABASE_URL = databaseUrl;
  process.env.REDIS_URL = redisUrl;
  process.env.QUEUE_PREFIX = prefix;
  const slug = `ops-${randomBytes(4).toString('hex')}`;
  const [row] = await admin.sql<{ id: string }[]>`insert into tenants (slug, name) values (${slug}, 'Ops Tenant') returning id`;
  tenant = { id: row!.id, slug };
  const insert = (status: string, i: number) => admin.sql<{ id: number }[]>`
    insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, status, error_message, received_at, enqueued_at)
    values (${tenant.id}, 'stripe', 'checkout.session.completed', ${`evt_cli_${i}`},
            ${admin.sql.json({ 'stripe-signature': 't=1,v1=deadbeef', 'content-type': 'application/json' })},
            ${admin.sql.json({ id: `evt_cli_${i}`, data: { object: { customer_details: { email: `cli${i}@example.com` } } } })},
            ${status}, ${status === 'failed' ? 'ManyChat getInfo failed: HTTP 500' : null}, ${new Date(Date.now() - 3_600_000 + i * 1000)}, now())
    returning id`;
  for (let i = 0; i < 12; i++) failed.push((await insert('failed', i))[0]!.id);
  processed = (await insert('processed', 99))[0]!.id;
});

afterAll(async () => {
  const q = new Queue(webhookQueueName(tenant.id), { connection: conn.connection, prefix });
  await q.obliterate({ force: true });
  await q.close();
  await conn.close();
  await admin.close();
});

async function waitingJobIds(): Promise<string[]> {
  const q = new Queue(webhookQueueName(tenant.id), { connection: conn.connection, prefix });
  try {
    return (await q.getJobs(['waiting'])).map((j) => j.id as string);
  } finally {
    await q.close();
  }
}

describe('mcb logs / log', () => {
  it('lists a tenant’s logs with filters, newest first', async () => {
    const r = await mcb('logs', tenant.slug, '--status', 'failed', '--limit', '5');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^id\s+received\s+source\s+event type\s+status\s+attempts\s+error$/);
    expect(lines.slice(1, 6).map((l) => Number(l.split(/\s+/)[0]))).toEqual([...failed].reverse().slice(0, 5));
    expect(r.stdout).toMatch(/More: add --cursor \S+/);
    const next = await mcb('logs', tenant.slug, '--status', 'failed', '--limit', '5', '--cursor', /--cursor (\S+)/.exec(r.stdout)![1]!);
    expect(Number(next.stdout.split('\n')[1]?.split(/\s+/)[0])).toBe(failed[6]);
    const q = await mcb('logs', tenant.slug, '-q', 'cli3@example.com');
    expect(q.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('--format json (or --json) prints the page for scripts: {items, next_cursor}, the same rows as the table', async () => {
    const text = await mcb('logs', tenant.slug, '--status', 'failed', '--limit', '5');
    for (const flags of [['--format', 'json'], ['--json']]) {
      const r = await mcb('logs', tenant.slug, '--status', 'failed', '--limit', '5', ...flags);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const page = JSON.parse(r.stdout) as { items: Array<{ id: number; status: string }>; next_cursor: string | null };
      expect(page.items.map((l) => l.id)).toEqual([...failed].reverse().slice(0, 5));
      expect(page.items.every((l) => l.status === 'failed')).toBe(true);
      expect(page.next_cursor).toBe(/--cursor (\S+)/.exec(text.stdout)![1]);
    }
    // Nothing found is an empty page, not the sentence.
    const none = await mcb('logs', tenant.slug, '-q', 'nobody-at-all@example.com', '--json');
    expect(JSON.parse(none.stdout)).toEqual({ items: [], next_cursor: null });
    expect((await mcb('logs', tenant.slug, '--json', '--format', 'text')).stderr).toMatch(/^Invalid --format: text with --json/);
  });

  it('says what it searched when nothing matches: the default last 24 h, and --since to look further back', async () => {
    const slug = `ops-old-${randomBytes(4).toString('hex')}`;
    const [row] = await admin.sql<{ id: string }[]>`insert into tenants (slug, name) values (${slug}, 'Old Logs') returning id`;
    const [log] = await admin.sql<{ id: number }[]>`
      insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, status, received_at)
      values (${row!.id}, 'stripe', 'invoice.paid', 'evt_old_1', ${admin.sql.json({})}, ${admin.sql.json({ id: 'evt_old_1' })},
              'processed', now() - interval '3 days')
      returning id`;
    expect(await mcb('logs', slug)).toEqual({
      code: 0,
      stdout: 'No logs match (received in the last 24h; --since 7d or --since <date> to look further back).\n',
      stderr: '',
    });
    expect(await mcb('logs', slug, '--since', '2d', '--status', 'processed')).toEqual({
      code: 0,
      stdout: 'No logs match (status processed, received in the last 2d).\n',
      stderr: '',
    });
    const week = await mcb('logs', slug, '--since', '7d');
    expect(week).toMatchObject({ code: 0, stderr: '' });
    expect(
      week.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['id', String(log!.id)]);
  });

  it('fails with one line for an unknown tenant or a bad status', async () => {
    expect(await mcb('logs', 'no-such-tenant')).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'Unknown tenant: no-such-tenant; see mcb tenant list\n',
    });
    const bad = await mcb('logs', tenant.slug, '--status', 'exploded');
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^Invalid status/);
  });

  it('shows one log with redacted headers, payload and outcome', async () => {
    const r = await mcb('log', String(failed[0]));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`log ${failed[0]}  failed  (tenant ${tenant.slug}, stripe, checkout.session.completed)`);
    expect(r.stdout).toContain('error       ManyChat getInfo failed: HTTP 500');
    expect(r.stdout).toContain('"stripe-signature": "[redacted]"');
    expect(r.stdout).not.toContain('deadbeef');
    expect(r.stdout).toContain('"email": "cli0@example.com"');
    expect(r.stdout).toMatch(/^received {4}\S+ \S+ {3}enqueued \S+ \S+ {3}processed /m);
    // A row as intake writes it today (once, no enqueue time: ADR 0010) shows no enqueue time at all.
    // It carries the note of a bounded read, shown as a note, not an error; an ignored log's message is its reason.
    const note = 'charge.refunded lists 150 refunds; Stripe embeds at most 100: the first 100 were read, 50 left out';
    const [fresh, ignored] = await admin.sql<{ id: number }[]>`
      insert into webhook_logs (tenant_id, source, dedupe_key, headers, status, error_message, processed_at)
      values (${tenant.id}, 'stripe', 'evt_cli_fresh', '{}'::jsonb, 'processed', ${note}, now()),
             (${tenant.id}, 'stripe', 'evt_cli_ignored', '{}'::jsonb, 'ignored', 'unhandled event type: customer.created', now())
      returning id`;
    try {
      const f = await mcb('log', String(fresh?.id));
      expect(f.stdout).toMatch(/^received {4}\S+ \S+ {3}processed \S+ \S+$/m);
      expect(f.stdout).not.toContain('enqueued');
      expect(f.stdout).toContain(`\nnote        ${note}\n`);
      expect(f.stdout).not.toMatch(/^error/m);
      const i = await mcb('log', String(ignored?.id));
      expect(i.stdout).toContain('\nreason      unhandled event type: customer.created\n');
    } finally {
      await admin.sql`delete from webhook_logs where id = any(${[fresh?.id as number, ignored?.id as number]})`;
    }
    expect(await mcb('log', '99999999')).toMatchObject({ code: 1, stderr: 'No webhook log 99999999\n' });
  });
});

describe('mcb log: money', () => {
  it('writes the payments a log produced as money (symbol and placement, exact digits from the minor units), not raw cents', async () => {
    // Its own tenant: the stats below count this file's tenant's logs.
    const slug = `ops-money-${randomBytes(4).toString('hex')}`;
    const [t] = await admin.sql<{ id: string }[]>`insert into tenants (slug, name) values (${slug}, 'Money') returning id`;
    const [log] = await admin.sql<{ id: number }[]>`
      insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, status, processed_at)
      values (${t!.id}, 'stripe', 'checkout.session.completed', 'evt_cli_money', '{}'::jsonb, '{}'::jsonb, 'processed', now())
      returning id`;
    const pay = (id: string, category: string, cents: number, currency: string, minutes: number) => admin.sql`
      insert into payments (tenant_id, payment_event_id, source, payment_type, category, amount_cents, currency, status, paid_at, webhook_log_id)
      values (${t!.id}, ${id}, 'stripe', 'buy_in_full', ${category}, ${cents}, ${currency}, 'paid',
              ${new Date(Date.UTC(2026, 10, 2, 10, minutes))}, ${log!.id})`;
    await pay('money1', 'full_purchase', 123_456, 'gbp', 1);
    await pay('money2', 'deposit', 5_000, 'jpy', 2);
    await pay('money3', 'refund', -1_200, 'usd', 3);
    const r = await mcb('log', String(log!.id));
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('            3 payment(s): full_purchase £1,234.56, deposit ¥5,000, refund -$12.00\n');
  });
});

describe('mcb replay', () => {
  it('--dry-run prints the count and the first matches, enqueues and changes nothing', async () => {
    const r = await mcb('replay', '--tenant', tenant.slug, '--status', 'failed', '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('12 log(s) would be replayed (dry run: nothing enqueued).');
    expect(r.stdout).toContain('First 10, oldest first:');
    expect(await waitingJobIds()).toEqual([]);
    const [row] = await admin.sql`select count(*)::int as n from webhook_logs where tenant_id = ${tenant.id} and status = 'failed'`;
    expect(row?.n).toBe(12);
  });

  it('refuses to replay with no filter', async () => {
    const r = await mcb('replay');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Refusing to replay every log/);
  });

  it('replays with a progress bar and ends with a summary; the processed log is left alone', async () => {
    const r = await mcb('replay', '--tenant', tenant.slug, '--status', 'failed', '--yes');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^replay \[-{30}\]\s+0% 0\/12$/m);
    expect(r.stderr).toMatch(/^replay \[#{30}\] 100% 12\/12$/m);
    expect(r.stdout).toMatch(/^Replayed 12 of 12 log\(s\) in \d+\.\d s\.\n$/);
    const rows = await admin.sql<{ id: number; status: string }[]>`
      select id, status from webhook_logs where tenant_id = ${tenant.id} order by id`;
    expect(rows.filter((x) => x.status === 'received').map((x) => x.id)).toEqual(failed);
    expect(rows.find((x) => x.id === processed)?.status).toBe('processed');
    const jobs = await waitingJobIds();
    expect(jobs).toHaveLength(12);
    // One job per log, under the log's own id (a replay re-runs it; issue 16).
    expect([...jobs].sort()).toEqual(failed.map((id) => `log-${id}`).sort());
    expect((await mcb('log', String(failed[0]))).stdout).toMatch(/^received {4}\S+ \S+ {3}enqueued \S+ \S+ {3}processed -$/m);
  });
});

describe('mcb queues / stats', () => {
  it('counts jobs per queue and state, the oldest waiting job and the workers connected; warns of jobs no worker serves', async () => {
    const r = await mcb('queues');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(
      /^queue\s+waiting\s+active\s+delayed\s+prioritized\s+completed\s+failed\s+oldest waiting\s+workers$/,
    );
    expect(r.stdout).toMatch(new RegExp(`^webhooks · ${tenant.slug}\\s+12\\s+0\\s+0\\s+0\\s+0\\s+0\\s+\\d+[smhd]( \\d+[mh])?\\s+0$`, 'm'));
    expect(r.stdout).toMatch(/^meta-sync\s+\d+/m);
    // An operator's review (stop 38): with every worker killed, jobs waited and nothing said so.
    expect(r.stderr).toBe(
      `warning: no worker is connected to queue with jobs (webhooks · ${tenant.slug}): nothing processes them until a worker runs (npm start, or the worker deployment)\n`,
    );
    // A worker connected to a queue is counted.
    const worker = new Worker(queueNames.meta, async () => {}, { connection: conn.connection, prefix });
    worker.on('error', () => {});
    try {
      await worker.waitUntilReady();
      let metaWorkers: number | null = null;
      for (let i = 0; i < 50 && metaWorkers !== 1; i++) {
        const json = JSON.parse((await mcb('queues', '--format', 'json')).stdout) as Array<{ name: string; workers: number | null }>;
        metaWorkers = json.find((q) => q.name === queueNames.meta)?.workers ?? null;
        if (metaWorkers !== 1) await new Promise((res) => setTimeout(res, 100));
      }
      expect(metaWorkers).toBe(1);
    } finally {
      await worker.close();
    }
  });

  it('prints per-tenant analytics, and JSON with --json', async () => {
    await admin.sql`
      insert into payments (tenant_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at)
      values (${tenant.id}, ${`cs_ops_${tenant.slug}`}, 'stripe', 'buy_in_full', 'full_purchase', 250000, 'paid', now())`;
    const r = await mcb('stats', '--tenant', tenant.slug, '--since', '2h');
    expect(r.code).toBe(0);
    // Money as the weekly report writes it.
    expect(r.stdout).toContain('$2,500.00');
    // 12 replayed logs wait in the queue (no worker runs here): pending 12, waiting 12.
    expect(r.stdout).toMatch(new RegExp(`^${tenant.slug}\\s+yes\\s+13\\s+1\\s+0\\s+0\\s+0\\s+12\\s+12\\s`, 'm'));
    // What the columns count, as on the console's stats page.
    expect(r.stdout).toContain(
      'Accepted: deliveries that passed verification (every status but rejected); pending: status received or processing.',
    );
    const j = await mcb('stats', '--tenant', tenant.slug, '--since', '2h', '--json');
    const body = JSON.parse(j.stdout) as { tenants: Array<{ logs: Record<string, number>; revenueCents: number }> };
    expect(body.tenants[0]?.logs).toEqual({ received: 13, pending: 12, processed: 1, failed: 0, ignored: 0, rejected: 0 });
    expect(await mcb('stats', '--since', 'soon')).toMatchObject({ code: 1 });
  });

  // Cash collected summed every currency as dollars: a pound tenant's $25 payment read as £25 more.
  it("writes cash in the tenant's currency, and other currencies' payments apart", async () => {
    const slug = `ops-gbp-${randomBytes(4).toString('hex')}`;
    const [row] = await admin.sql<{ id: string }[]>`
      insert into tenants (slug, name, config) values (${slug}, 'Pounds', ${admin.sql.json({ currency: 'gbp' })}) returning id`;
    const pay = (id: string, cents: number, currency: string) => admin.sql`
      insert into payments (tenant_id, payment_event_id, source, payment_type, category, amount_cents, currency, status, paid_at)
      values (${row!.id}, ${`${id}_${slug}`}, 'stripe', 'buy_in_full', 'full_purchase', ${cents}, ${currency}, 'paid', now())`;
    await pay('p1', 10_000, 'gbp');
    await pay('p2', 2_500, 'usd');
    await pay('p3', 5_000, 'jpy');
    // A failed charge moved no money: the weekly report leaves it out, and so do the stats.
    await pay('p4', 7_000, 'gbp');
    await admin.sql`update payments set status = 'failed' where payment_event_id = ${`p4_${slug}`}`;
    const r = await mcb('stats', '--tenant', slug, '--since', '2h');
    expect(r.stdout).toMatch(new RegExp(`^${slug}\\s.*\\s£100\\.00 \\(\\+ ¥5,000 \\+ \\$25\\.00\\)\\s`, 'm'));
    // Nothing collected by tenants in several currencies: the ALL row picked one (new-operator pass, stop 29).
    const quiet = (await mcb('stats', '--since', '2000-01-01', '--until', '2000-01-02')).stdout.split('\n');
    const all = quiet.find((l) => l.startsWith('ALL'));
    expect(all).toBeDefined();
    expect(all).not.toMatch(/[£$¥]0/);
    const backwards = await mcb('stats', '--tenant', slug, '--since', '1d', '--until', '7d');
    expect(backwards).toMatchObject({ code: 1, stderr: 'Invalid time window: since 1d is not before until 7d\n' });
    // --until alone: the week before it (it was 7 days back from now, so always an empty, backwards window).
    const before = await mcb('stats', '--tenant', slug, '--until', '2000-01-02');
    expect(before.stdout.split('\n')[0]).toBe('Period 1999-12-26T00:00:00.000Z – 2000-01-02T00:00:00.000Z');
    expect(await mcb('stats', '--since', '0d')).toMatchObject({
      code: 1,
      stderr: 'Invalid time window: since 0d is not before until now\n',
    });
    const j = await mcb('stats', '--tenant', slug, '--since', '2h', '--json');
    expect(JSON.parse(j.stdout).tenants[0]).toMatchObject({
      currency: 'gbp',
      revenueCents: 10_000,
      revenueOtherCurrencies: { usd: 2_500, jpy: 5_000 },
    });
  });
});

describe('--format json and --json', () => {
  it('every command with JSON output takes both: --format json is canonical, --json the same thing', async () => {
    const id = String(failed[0]);
    const log = await mcb('log', id, '--format', 'json');
    expect(log).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(log.stdout)).toMatchObject({ id: failed[0], tenantSlug: tenant.slug, dedupeKey: 'evt_cli_0' });
    expect(await mcb('log', id, '--json')).toEqual(log);
    expect(await mcb('log', id, '--format', 'text')).toEqual(await mcb('log', id));

    // Its own tenant only: the run's database is shared with test files running beside this one, and
    // the all-time columns (waiting, all contacts) of other tenants may change between the two calls.
    const window = ['--tenant', tenant.slug, '--since', '2000-01-01', '--until', '2000-01-02'];
    const stats = await mcb('stats', ...window, '--format', 'json');
    expect(stats).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(stats.stdout)).toMatchObject({ since: '2000-01-01T00:00:00.000Z', tenants: expect.any(Array) });
    expect(await mcb('stats', ...window, '--json')).toEqual(stats);
    expect((await mcb('stats', ...window, '--format', 'text')).stdout).toMatch(/^Period 2000-01-01T00:00:00\.000Z/);

    const queues = await mcb('queues', '--format', 'json');
    // The warning of jobs no worker serves goes to stderr: stdout stays one JSON document.
    expect(queues).toMatchObject({ code: 0, stderr: expect.stringMatching(/^warning: no worker is connected/) });
    expect(JSON.parse(queues.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ label: `webhooks · ${tenant.slug}` })]));
    expect(await mcb('queues', '--json')).toEqual(queues);
  });

  it('refuses a format a command does not print, and --json with another --format, in one line', async () => {
    expect(await mcb('stats', '--format', 'yaml')).toEqual({ code: 1, stdout: '', stderr: 'Invalid --format: yaml (text or json)\n' });
    expect(await mcb('log', String(failed[0]), '--json', '--format', 'text')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Invalid --format: text with --json (--json is --format json)\n',
    });
    expect((await mcb('queues', '--format', 'html')).stderr).toBe('Invalid --format: html (text or json)\n');
  });

  it('--help of each documents both', async () => {
    for (const argv of [
      ['log'],
      ['logs'],
      ['stats'],
      ['queues'],
      ['report', 'preview'],
      ['contact'],
      ['tenant', 'list'],
      ['tenant', 'show'],
      ['integration', 'list'],
      ['replay'],
      ['meta', 'status'],
      ['capi', 'status'],
    ]) {
      const help = (await mcb(...argv, '--help')).stdout.replace(/\s+/g, ' ');
      expect(help, argv.join(' ')).toMatch(
        /--format <format> .*json.*; default (text|html|text on a terminal, html to a file or a pipe)\)/,
      );
      expect(help, argv.join(' ')).toContain('--json same as --format json');
    }
  });
});

// A new operator's first day: an open Stripe dispute was invisible in every readable view, and the
// cash collected counted the disputed sale with no hint.
describe('mcb log / stats: disputed payments', () => {
  it('shows a payment’s status when it is not plain paid, the status changes a log made, and the disputed part of cash collected', async () => {
    const slug = `ops-dispute-${randomBytes(4).toString('hex')}`;
    const [t] = await admin.sql<{ id: string }[]>`
      insert into tenants (slug, name, config) values (${slug}, 'Disputes', ${admin.sql.json({ currency: 'gbp' })}) returning id`;
    const log = async (eventType: string, key: string) =>
      (
        await admin.sql<{ id: number }[]>`
          insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, status, processed_at)
          values (${t!.id}, 'stripe', ${eventType}, ${key}, '{}'::jsonb, '{}'::jsonb, 'processed', now())
          returning id`
      )[0]!.id;
    const sale = await log('checkout.session.completed', 'evt_sale');
    const other = await log('checkout.session.completed', 'evt_other');
    const dispute = await log('charge.dispute.created', 'evt_dispute');
    await admin.sql`
      insert into payments (tenant_id, payment_event_id, source, payment_type, category, amount_cents, currency, status, paid_at,
                            webhook_log_id, stripe_payment_intent_id)
      values (${t!.id}, 'cs_sale', 'stripe', 'buy_in_full', 'full_purchase', 49700, 'gbp', 'disputed', now(), ${sale}, 'pi_sale'),
             (${t!.id}, 'cs_other', 'stripe', 'buy_in_full', 'deposit', 10000, 'gbp', 'paid', now(), ${other}, 'pi_other')`;
    await admin.sql`
      insert into payment_status_changes (tenant_id, payment_ref, webhook_log_id, status, occurred_at)
      values (${t!.id}, 'pi:pi_sale', ${dispute}, 'disputed', now())`;

    const saleLog = await mcb('log', String(sale));
    expect(saleLog).toMatchObject({ code: 0, stderr: '' });
    expect(saleLog.stdout).toContain('            1 payment(s): full_purchase £497.00 disputed\n');
    // A plain paid payment reads as before.
    expect((await mcb('log', String(other))).stdout).toContain('            1 payment(s): deposit £100.00\n');
    const disputeLog = await mcb('log', String(dispute));
    expect(disputeLog.stdout).toContain('produced    0 funnel event(s): -\n            0 payment(s): -\n');
    expect(disputeLog.stdout).toContain('            1 payment status change(s): pi:pi_sale → disputed\n');
    // The JSON has them too.
    expect(JSON.parse((await mcb('log', String(dispute), '--json')).stdout).paymentStatusChanges).toEqual([
      expect.objectContaining({ payment_ref: 'pi:pi_sale', status: 'disputed' }),
    ]);

    // The figure is SPEC §7's (the disputed sale is in it); the hint says how much of it is disputed.
    const stats = await mcb('stats', '--tenant', slug, '--since', '2h');
    expect(stats.stdout).toMatch(new RegExp(`^${slug}\\s.*\\s£597\\.00 \\(includes £497\\.00 in disputed payments\\)\\s`, 'm'));
    const j = JSON.parse((await mcb('stats', '--tenant', slug, '--since', '2h', '--json')).stdout);
    expect(j.tenants[0]).toMatchObject({ revenueCents: 59700, disputedCents: 49700 });
    // A lost dispute is still in the figure, and still in the hint.
    await admin.sql`update payments set status = 'dispute_lost' where tenant_id = ${t!.id} and payment_event_id = 'cs_sale'`;
    expect((await mcb('stats', '--tenant', slug, '--since', '2h')).stdout).toContain('£597.00 (includes £497.00 in disputed payments)');
    expect((await mcb('log', String(sale))).stdout).toContain('1 payment(s): full_purchase £497.00 dispute_lost\n');
  });
});

// A job waiting to retry read "failed" like one that gave up.
describe('mcb log / logs / stats: a failed log that will retry', () => {
  it('says "failed, will retry at <time>" apart from a final failure', async () => {
    const slug = `ops-retry-${randomBytes(4).toString('hex')}`;
    const [t] = await admin.sql<{ id: string }[]>`insert into tenants (slug, name) values (${slug}, 'Retry') returning id`;
    const retryAt = new Date(Date.now() + 60_000);
    const insert = (key: string, at: Date | null) =>
      admin.sql<{ id: number }[]>`
        insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, status, error_message, attempts, retry_at, processed_at)
        values (${t!.id}, 'manychat', 'contact_created', ${key}, '{}'::jsonb, '{}'::jsonb, 'failed',
                ${at ? 'ManyChat getInfo failed: HTTP 500 (attempt 2, will retry)' : 'ManyChat getInfo failed: HTTP 500'}, 2, ${at}, now())
        returning id`.then((r) => r[0]!.id);
    const waiting = await insert('retry_1', retryAt);
    const gaveUp = await insert('retry_2', null);
    const shown = retryAt
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z');

    const one = await mcb('log', String(waiting));
    expect(one.stdout).toContain(`log ${waiting}  failed, will retry at ${shown}  (tenant ${slug}, manychat, contact_created)`);
    expect((await mcb('log', String(gaveUp))).stdout).toContain(`log ${gaveUp}  failed  (tenant ${slug}`);

    const list = await mcb('logs', slug);
    expect(list.stdout).toMatch(new RegExp(`^${waiting}\\s.*\\sfailed, will retry at ${shown}\\s+2\\s`, 'm'));
    expect(list.stdout).toMatch(new RegExp(`^${gaveUp}\\s.*\\sfailed\\s+2\\s`, 'm'));

    const stats = await mcb('stats', '--tenant', slug, '--since', '2h');
    expect(stats.stdout).toMatch(new RegExp(`^${slug}\\s+yes\\s+2\\s+0\\s+2 \\(1 will retry\\)\\s`, 'm'));
    const j = JSON.parse((await mcb('stats', '--tenant', slug, '--since', '2h', '--json')).stdout);
    expect(j.tenants[0]).toMatchObject({ logs: { failed: 2 }, failedWillRetry: 1 });
  });
});
