import { randomUUID } from 'node:crypto';
import { runCli } from '@mcb/cli';
import { captureOutput } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from './system';

// Issue 13 item 6, isolation: two tenants whose people share emails, phones, ManyChat / GHL ids and
// Stripe event ids, processed by the real worker. Every console route, `mcb` command and report for
// one tenant shows nothing of the other. Bravo's own markers ("Bravo" names, $98,765.43, an extra
// person) must never appear for Alpha, and Alpha's ($31,415.93, "Alpha") never for Bravo. Markers are
// chosen so they cannot occur by chance in ids or times of other tests' rows in the shared database.

const token = 'isolation-test-token-0123456789';
const auth = { authorization: `Bearer ${token}` };
let sys: TestSystem;
let alpha: { id: string; slug: string };
let bravo: { id: string; slug: string };
const logs: Record<string, number[]> = {};
const week = new Date().toISOString().slice(0, 10);
const email = `shared-${randomUUID().slice(0, 6)}@example.com`;
const phone = '+15551230000';

async function deliverAll(t: { id: string }, name: string, cents: number, extra: boolean) {
  const ids = [
    await sys.deliver(
      t.id,
      'manychat',
      {
        subscriber: { id: 'mc-shared-1', first_name: name, email, phone, custom_fields: { MCB_LEAD: true } },
        event_type: 'contact_created',
      },
      'mc-shared-1-created',
    ),
    await sys.deliver(
      t.id,
      'stripe',
      {
        id: 'evt_shared_1',
        type: 'checkout.session.completed',
        created: Math.floor(Date.now() / 1000),
        data: {
          object: {
            id: 'cs_shared_1',
            object: 'checkout.session',
            payment_status: 'paid',
            amount_total: cents,
            currency: 'usd',
            customer_details: { email, name },
          },
        },
      },
      'evt_shared_1',
    ),
    await sys.deliver(
      t.id,
      'ghl',
      { contact_id: 'ghl-shared-1', email, phone, first_name: name, customData: { event_type: 'meeting_booked' } },
      'ghl-shared-1',
    ),
  ];
  if (extra)
    ids.push(
      await sys.deliver(t.id, 'manychat', {
        subscriber: { id: 'mc-bravo-only', first_name: 'BravoOnly', email: 'bravo-only@example.com' },
        event_type: 'contact_created',
      }),
    );
  return ids;
}

beforeAll(async () => {
  sys = await startSystem('isolation', token);
  alpha = await sys.makeTenant('mc-good-key-0001');
  bravo = await sys.makeTenant('mc-good-key-0001');
  logs[alpha.slug] = await deliverAll(alpha, 'Alpha', 3_141_593, false);
  logs[bravo.slug] = await deliverAll(bravo, 'Bravo', 9_876_543, true);
  for (const id of [...(logs[alpha.slug] ?? []), ...(logs[bravo.slug] ?? [])]) await sys.waitFor(id, ['processed', 'ignored', 'failed']);
  process.env.DATABASE_URL = sys.env.databaseUrl;
  process.env.REDIS_URL = sys.env.redisUrl;
  process.env.QUEUE_PREFIX = sys.env.prefix;
  process.env.MCB_ENCRYPTION_KEY = sys.env.encryptionKey;
}, 120_000);
afterAll(async () => {
  await sys?.close();
});

const mcb = async (...argv: string[]) => {
  const { result, stdout, stderr } = await captureOutput(() => runCli(argv));
  return { code: result, stdout, stderr };
};
const api = async (path: string, init: RequestInit = {}) => {
  const res = await sys.consoleApp.app.request(path, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });
  return { status: res.status, text: await res.text() };
};

/** What must never show for `viewer`: the other tenant's names, amounts, slug and log ids. */
function foreignMarkers(viewer: 'alpha' | 'bravo'): string[] {
  const other = viewer === 'alpha' ? bravo : alpha;
  const markers =
    viewer === 'alpha'
      ? ['Bravo', 'BravoOnly', 'bravo-only@example.com', '9876543', '98765.43', '98,765.43']
      : ['Alpha', '3141593', '31415.93', '31,415.93'];
  return [...markers, other.slug, other.id];
}
function expectNothingOf(viewer: 'alpha' | 'bravo', text: string, what: string) {
  for (const m of foreignMarkers(viewer)) expect(text.includes(m), `${what} shows ${m}`).toBe(false);
}

describe.each(['alpha', 'bravo'] as const)('%s sees nothing of the other tenant', (viewer) => {
  const me = () => (viewer === 'alpha' ? alpha : bravo);
  const mine = () => logs[me().slug] ?? [];
  const other = () => logs[(viewer === 'alpha' ? bravo : alpha).slug] ?? [];

  it('the data is really there and really overlapping (otherwise "nothing of the other" proves nothing)', async () => {
    const rows = await sys.admin.sql<{ tenant_id: string; n: number }[]>`
      select tenant_id, count(*)::int as n from contacts where email_primary = ${email} or phone = ${phone} group by tenant_id`;
    expect(rows.map((r) => r.tenant_id).sort()).toEqual([alpha.id, bravo.id].sort());
    const [p] = await sys.admin.sql<
      { n: number }[]
    >`select count(*)::int as n from payments where payment_event_id like '%shared%' or stripe_session_id = 'cs_shared_1'`;
    expect(p?.n).toBe(2);
  });

  it('console API: logs (list, search by the shared email, each log), stats, replay dry run', async () => {
    const list = await api(`/admin/api/logs?tenant=${me().slug}`);
    const items = (JSON.parse(list.text) as { items: Array<{ id: number; tenantId: string }> }).items;
    expect(items.map((i) => i.id).sort()).toEqual([...mine()].sort());
    expectNothingOf(viewer, list.text, 'GET /admin/api/logs');
    for (const q of [email, phone, 'mc-shared-1', 'evt_shared_1', 'ghl-shared-1']) {
      const found = await api(`/admin/api/logs?tenant=${me().slug}&q=${encodeURIComponent(q)}`);
      expect(found.status).toBe(200);
      expectNothingOf(viewer, found.text, `search ${q}`);
      for (const i of (JSON.parse(found.text) as { items: Array<{ tenantId: string }> }).items) expect(i.tenantId).toBe(me().id);
    }
    for (const id of mine()) {
      const one = await api(`/admin/api/logs/${id}`);
      expect(one.status).toBe(200);
      expectNothingOf(viewer, one.text, `GET /admin/api/logs/${id}`);
    }
    const stats = await api(`/admin/api/stats?tenant=${me().slug}&since=1h`);
    const tenants = (JSON.parse(stats.text) as { tenants: Array<{ tenantId?: string; slug?: string }> }).tenants;
    expect(tenants).toHaveLength(1);
    expectNothingOf(viewer, stats.text, 'GET /admin/api/stats');
    const dry = await api('/admin/api/replay', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: me().slug, dryRun: true }),
    });
    expect(JSON.parse(dry.text)).toMatchObject({ matched: mine().length });
    expectNothingOf(viewer, dry.text, 'POST /admin/api/replay dry run');
  });

  it('console pages: the log browser filtered to the tenant, and each log page', async () => {
    const page = await api(`/admin/logs?tenant=${me().slug}`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    for (const id of other()) expect(page.text).not.toContain(`/admin/logs/${id}"`);
    for (const id of mine()) expect(page.text).toContain(`/admin/logs/${id}"`);
    for (const id of mine()) {
      const one = await api(`/admin/logs/${id}`, { headers: { accept: 'text/html' } });
      expectNothingOf(viewer, one.text, `/admin/logs/${id}`);
    }
  });

  it('mcb: logs, log, contact (by email, phone, each id), stats, replay --dry-run, tenant show, integration list, urls', async () => {
    const runs: Array<[string[], number]> = [
      [['logs', me().slug, '--since', '1h'], 0],
      ...mine().map((id): [string[], number] => [['log', String(id)], 0]),
      [['contact', me().slug, email], 0],
      [['contact', me().slug, phone], 0],
      [['contact', me().slug, 'mc-shared-1'], 0],
      [['contact', me().slug, 'ghl-shared-1'], 0],
      [['stats', '--tenant', me().slug, '--since', '1h'], 0],
      [['stats', '--tenant', me().slug, '--since', '1h', '--json'], 0],
      [['replay', '--tenant', me().slug, '--dry-run'], 0],
      [['tenant', 'show', me().slug], 0],
      [['integration', 'list', me().slug], 0],
      [['urls', me().slug], 0],
    ];
    for (const [argv, code] of runs) {
      const run = await mcb(...argv);
      expect(run.code, `${argv.join(' ')}: ${run.stderr}`).toBe(code);
      expectNothingOf(viewer, run.stdout + run.stderr, `mcb ${argv.join(' ')}`);
    }
    const bravoOnly = await mcb('contact', me().slug, 'bravo-only@example.com');
    if (viewer === 'alpha')
      expect(bravoOnly).toMatchObject({ code: 1, stderr: `No contact matching bravo-only@example.com in tenant ${alpha.slug}\n` });
    else expect(bravoOnly.code).toBe(0);
  });

  it('the weekly report: figures and email for the tenant only', async () => {
    const json = await mcb('report', 'preview', me().slug, '--week', week, '--format', 'json');
    expect(json.code, json.stderr).toBe(0);
    const figures = JSON.parse(json.stdout) as { leads: number; revenue: { cash_collected_cents: number } };
    expect(figures.revenue.cash_collected_cents).toBe(viewer === 'alpha' ? 3_141_593 : 9_876_543);
    expect(figures.leads).toBe(viewer === 'alpha' ? 1 : 2);
    for (const format of ['html', 'text']) {
      const out = await mcb('report', 'preview', me().slug, '--week', week, '--format', format);
      expect(out.code).toBe(0);
      expectNothingOf(viewer, out.stdout, `report ${format}`);
    }
  });
});
