import { randomBytes, randomUUID } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { addTenant, generateKey, parseKeyring, setIntegration } from '@mcb/tenancy';
import { testEnv } from '@mcb/testing';
import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

// `mcb capi …` through the real program (in-process), against this run's database and the fake Graph server.

const { databaseUrl } = testEnv();
const key = generateKey();
const keyring = parseKeyring(key);
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const suffix = randomBytes(3).toString('hex');
const t = {
  slug: `cli-capi-${suffix}`,
  id: '',
  token: `EAAclicapi${randomBytes(12).toString('hex')}`,
  dataset: `55${Date.now() % 1_000_000}`,
};
let fake: FakeGraph;

beforeAll(async () => {
  fake = await startFakeGraph({ accounts: [], datasets: [{ id: t.dataset, token: t.token }] });
  process.env.DATABASE_URL = databaseUrl;
  process.env.MCB_ENCRYPTION_KEY = key;
  process.env.META_GRAPH_URL = fake.url;
  t.id = (await addTenant(admin, { slug: t.slug, name: t.slug })).id;
  await setIntegration(admin, keyring, {
    slug: t.slug,
    provider: 'meta_capi',
    credentials: { dataset_id: t.dataset, access_token: t.token, events: { appointment_scheduled: 'Schedule' } },
  });
  const contacts = [randomUUID(), randomUUID()];
  await admin.sql`
    insert into contacts (tenant_id, id, email_primary, first_name)
    values (${t.id}, ${contacts[0]!}, 'cli.one@example.com', 'One'), (${t.id}, ${contacts[1]!}, 'cli.two@example.com', 'Two')`;
  await admin.sql`
    insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id)
    values (${t.id}, ${contacts[0]!}, 'contact_subscribed', now() - interval '2 hours', 'manychat', 'cli-1'),
           (${t.id}, ${contacts[0]!}, 'appointment_scheduled', now() - interval '1 hour', 'ghl', 'cli-2'),
           (${t.id}, ${contacts[1]!}, 'purchase_completed', now() - interval '1 hour', 'ghl', 'cli-3')`;
});

afterAll(async () => {
  await fake?.close();
  await admin.close();
});

describe('mcb capi', () => {
  it('test sends recent events with the test code only, and records nothing', async () => {
    const none = await mcb('capi', 'test', t.slug);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/No test_event_code: pass --code/);
    const r = await mcb('capi', 'test', t.slug, '--code', 'TEST4242');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^Sent 3 test events to dataset ${t.dataset} with test code TEST4242: Meta received 3, fbtrace_id AFake`),
    );
    const got = fake.capiEvents(t.dataset);
    // Person 1: Lead (first event) and Schedule; person 2: Lead (a Purchase without a payment is not sendable).
    expect(got.map((e) => `${e.event.event_name}:${e.testEventCode}`).sort()).toEqual([
      'Lead:TEST4242',
      'Lead:TEST4242',
      'Schedule:TEST4242',
    ]);
    expect(r.stdout).not.toContain('cli.one@example.com');
    const [row] = await admin.sql<{ n: number }[]>`select count(*)::int as n from capi_sends where tenant_id = ${t.id}`;
    expect(row?.n).toBe(0);
  });

  it('send sends each event once; status shows the mapping, counts and the skipped Purchase with its reason; token masked', async () => {
    const s = await mcb('capi', 'send', t.slug);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(new RegExp(`^Sent 3 events for ${t.slug} \\(1 skipped, 0 refused by Meta, 1 request\\)`));
    expect((await mcb('capi', 'send', t.slug)).stdout).toMatch(/^Sent 0 events/);
    const st = await mcb('capi', 'status', t.slug);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain(`dataset           ${t.dataset}`);
    expect(st.stdout).toContain(
      'first funnel event → Lead, purchase_completed → Purchase, payment_plan_created → Purchase, appointment_scheduled → Schedule',
    );
    expect(st.stdout).toMatch(/sent +3 \(3 in the last 7 days/);
    expect(st.stdout).toMatch(/skipped +1\n/);
    expect(st.stdout).toContain('Purchase without a payment value');
    expect(st.stdout).not.toContain(t.token);
    expect(st.stdout).toContain(t.token.slice(-4));
    // The same figures for scripts (operator walk, stop 37: status had no --format json).
    const j = await mcb('capi', 'status', t.slug, '--json');
    expect(j).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(j.stdout)).toMatchObject({
      tenant: t.slug,
      dataset_id: t.dataset,
      lead_on_first_event: true,
      events: { purchase_completed: 'Purchase', payment_plan_created: 'Purchase', appointment_scheduled: 'Schedule' },
      last_error: null,
      sent: 3,
      sent_last_7_days: 3,
      pending: 0,
      skipped: 1,
      refused: 0,
      recent_problems: [
        expect.objectContaining({
          event_name: 'Purchase',
          status: 'skipped',
          reason: expect.stringContaining('Purchase without a payment value'),
        }),
      ],
    });
    expect(j.stdout).not.toContain(t.token);
    expect(JSON.parse(j.stdout).access_token).toContain(t.token.slice(-4));
  });

  it('replay forgets skipped sends (dry run first), and the next send plans them again', async () => {
    const dry = await mcb('capi', 'replay', t.slug, '--dry-run');
    expect(dry.stdout).toMatch(/^1 recorded send would be replayed/);
    const r = await mcb('capi', 'replay', t.slug, '--status', 'skipped');
    expect(r.stdout).toMatch(/^1 recorded send forgotten/);
    const again = await mcb('capi', 'send', t.slug);
    expect(again.stdout).toMatch(/^Sent 0 events for .* \(1 skipped/);
    const bad = await mcb('capi', 'replay', t.slug, '--status', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('Invalid --status: failed, skipped or sent');
  });

  it('replay --event of no funnel event of this tenant says so (exit 1), not "0 forgotten"', async () => {
    const unknown = randomUUID();
    for (const args of [[], ['--dry-run'], ['--status', 'sent']]) {
      expect(await mcb('capi', 'replay', t.slug, '--event', unknown, ...args), args.join(' ')).toEqual({
        code: 1,
        stdout: '',
        stderr: `No funnel event ${unknown} in tenant ${t.slug}\n`,
      });
    }
    // Another tenant's event is no event of this one.
    const other = `cli-capi-other-${suffix}`;
    const otherId = (await addTenant(admin, { slug: other, name: other })).id;
    const [person] = await admin.sql<{ id: string }[]>`insert into contacts (tenant_id) values (${otherId}) returning id`;
    const [theirs] = await admin.sql<{ id: string }[]>`
      insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id)
      values (${otherId}, ${person!.id}, 'contact_subscribed', now(), 'manychat', 'cli-other-1') returning id`;
    expect((await mcb('capi', 'replay', t.slug, '--event', theirs!.id)).stderr).toBe(`No funnel event ${theirs!.id} in tenant ${t.slug}\n`);
    // One of its own events is replayed as before, even with nothing to forget.
    const [own] = await admin.sql<{ id: string }[]>`select id from funnel_events where tenant_id = ${t.id} limit 1`;
    expect(await mcb('capi', 'replay', t.slug, '--event', own!.id, '--dry-run')).toMatchObject({ code: 0, stderr: '' });
    expect((await mcb('capi', 'replay', t.slug, '--event', 'a'.repeat(36))).stderr).toBe('Invalid --event: a funnel event id (uuid)\n');
  });

  // A reviewer (stop 28): Meta drops a re-sent event only within 48 h of the first; replaying a send made
  // days ago sent the conversion again, and Meta counted it twice.
  it('replay --status sent forgets only sends of the last 47 h, keeps older ones and says why; nothing reaches Meta twice', async () => {
    // The 3 sends of the test above: one made 3 days ago, two just now.
    await admin.sql`
      update capi_sends set sent_at = now() - interval '3 days'
      where tenant_id = ${t.id} and status = 'sent' and event_name = 'Schedule'`;
    const before = fake.capiEvents(t.dataset).length;
    const dry = await mcb('capi', 'replay', t.slug, '--status', 'sent', '--dry-run');
    expect(dry.stdout).toMatch(/^2 recorded sends would be replayed/);
    expect(dry.stdout).toContain('1 sent more than 47 h ago would be kept: Meta drops a re-sent event only within 48 h of the first');
    expect(dry.stdout).toContain('Of them, 2 sent Leads would go out again exactly as recorded');
    const r = await mcb('capi', 'replay', t.slug, '--status', 'sent');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^2 recorded sends forgotten/);
    const kept = await admin.sql<{ event_name: string }[]>`
      select event_name from capi_sends where tenant_id = ${t.id} and status = 'sent'`;
    expect(kept.map((k) => k.event_name)).toEqual(['Schedule']);
    const again = await mcb('capi', 'send', t.slug);
    expect(again.stdout).toMatch(/^Sent 2 events/);
    const sentNow = fake
      .capiEvents(t.dataset)
      .slice(before)
      .map((e) => e.event.event_name);
    expect(sentNow.sort()).toEqual(['Lead', 'Lead']);
  });

  // Second reviewer: status promised every test-mode send would reach the dataset once the code goes;
  // those whose event is past Meta's 7-day window by then are marked skipped instead.
  it('status counts the sends made in test mode and says which of them reach the dataset once the code is removed', async () => {
    const tm = {
      slug: `cli-capi-tm-${suffix}`,
      token: `EAAclitm${randomBytes(12).toString('hex')}`,
      dataset: `56${Date.now() % 1_000_000}`,
    };
    fake.addDataset(tm.dataset, tm.token);
    const id = (await addTenant(admin, { slug: tm.slug, name: tm.slug })).id;
    await setIntegration(admin, keyring, {
      slug: tm.slug,
      provider: 'meta_capi',
      credentials: { dataset_id: tm.dataset, access_token: tm.token, test_event_code: 'TEST31' },
    });
    const contact = randomUUID();
    await admin.sql`insert into contacts (tenant_id, id, email_primary) values (${id}, ${contact}, 'cli.tm@example.com')`;
    await admin.sql`
      insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id)
      values (${id}, ${contact}, 'contact_subscribed', now() - interval '1 hour', 'manychat', 'cli-tm-1')`;
    const sent = await mcb('capi', 'send', tm.slug);
    expect(sent.stdout).toMatch(/^Sent 1 event for .* 1 request\)/);
    expect(sent.stdout).toContain('They went to Test Events only (test_event_code TEST31), not to the dataset');
    const st = await mcb('capi', 'status', tm.slug);
    expect(st.stdout).toContain('of which 1 to Test Events only (test_event_code)');
    expect(st.stdout).toContain("those still inside Meta's 7-day window are sent to the dataset, older ones marked skipped");
    // Re-sent in test mode, sent rows would go to Test Events, then to the dataset again when the code
    // goes: past 48 h after their first send Meta would count them twice (third reviewer).
    const replay = await mcb('capi', 'replay', tm.slug, '--status', 'sent');
    expect(replay.code).toBe(1);
    expect(replay.stderr.trim()).toMatch(/has a test_event_code: replaying sent events now would send them to Test Events/);
    expect((await mcb('capi', 'replay', tm.slug)).code).toBe(0);
    // A dry run changes nothing: it still says what would be replayed.
    expect((await mcb('capi', 'replay', tm.slug, '--status', 'sent', '--dry-run')).stdout).toMatch(/^1 recorded send would be replayed/);
  });

  it('an expired token is one clear line and marks the integration; unknown tenants and missing integrations are one line too', async () => {
    await admin.sql`delete from capi_sends where tenant_id = ${t.id}`;
    fake.failWhen((r) => r.dataset === t.dataset, { kind: 'token-expired' }, 1);
    const r = await mcb('capi', 'send', t.slug);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(`^Conversions API send failed for ${t.slug}: token_expired: Meta Graph 400 code 190`),
    );
    expect(r.stderr).not.toContain(t.token);
    expect((await mcb('capi', 'status', t.slug)).stdout).toMatch(/last error +token_expired: /);
    expect((await mcb('capi', 'status', 'no-such-tenant')).stderr.trim()).toBe('Unknown tenant: no-such-tenant; see mcb tenant list');
    const plain = `cli-capi-none-${suffix}`;
    await addTenant(admin, { slug: plain, name: plain });
    expect((await mcb('capi', 'status', plain)).stderr.trim()).toBe(
      `Missing credentials: meta_capi for tenant ${plain}; add them with: mcb integration set ${plain} meta_capi --credentials '{"dataset_id":"…","access_token":"…"}'`,
    );
  });

  // A new operator (stop 29): meta_capi and meta were stored with no or unusable credentials, exit 0;
  // every scheduled run then failed, and only the worker's log said so.
  it('integration set refuses Meta integrations without usable credentials, naming the keys; nothing is stored', async () => {
    const slug = `cli-capi-cred-${suffix}`;
    await addTenant(admin, { slug, name: slug });
    const refused = [
      [
        ['meta_capi'],
        `Missing credentials: meta_capi for tenant ${slug}; give them with: mcb integration set ${slug} meta_capi --credentials '{"dataset_id":"<numeric dataset id>","access_token":"…"}'`,
      ],
      [['meta_capi', '--credentials', '{}'], `Invalid meta_capi credentials for ${slug}: dataset_id: missing`],
      [['meta_capi', '--credentials', '{"access_token":"EAAfake"}'], `Invalid meta_capi credentials for ${slug}: dataset_id: missing`],
      [
        ['meta_capi', '--credentials', '{"dataset_id":"abc","access_token":"EAAx"}'],
        `Invalid meta_capi credentials for ${slug}: dataset_id: dataset_id must be the numeric dataset (pixel) id`,
      ],
      [
        ['meta'],
        `Missing credentials: meta for tenant ${slug}; give them with: mcb integration set ${slug} meta --credentials '{"access_token":"…","ad_account_id":"act_…"}'`,
      ],
      [['meta', '--credentials', '{"access_token":"EAAx"}'], `Missing credentials: meta (ad_account_id) for tenant ${slug}; set them with`],
      [
        ['meta', '--credentials', '{"ad_account_id":"act_123"}'],
        `Missing credentials: meta (access_token) for tenant ${slug}; set them with`,
      ],
      [
        ['meta', '--credentials', '{"access_token":"","ad_account_id":""}'],
        `Missing credentials: meta (access_token, ad_account_id) for tenant ${slug}`,
      ],
    ] as const;
    for (const [args, message] of refused) {
      const r = await mcb('integration', 'set', slug, ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim(), args.join(' ')).toContain(message);
    }
    const [stored] = await admin.sql<{ n: number }[]>`
      select count(*)::int as n from tenant_integrations i join tenants t on t.id = i.tenant_id where t.slug = ${slug}`;
    expect(stored?.n).toBe(0);
    // Usable credentials are stored; a later update without --credentials keeps them.
    expect((await mcb('integration', 'set', slug, 'meta_capi', '--credentials', '{"dataset_id":"123","access_token":"EAAx"}')).code).toBe(
      0,
    );
    expect((await mcb('integration', 'set', slug, 'meta_capi')).code).toBe(0);
    expect((await mcb('capi', 'status', slug)).stdout).toContain('dataset           123');
  });
});
