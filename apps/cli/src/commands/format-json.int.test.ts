import { randomBytes } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { createQueueConnection, webhookQueueName } from '@mcb/queue';
import { addTenant, generateKey } from '@mcb/tenancy';
import { testEnv } from '@mcb/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, mcb } from '../../test/run-cli';
import { unsafeIn } from '../../test/terminal';

// `--format json` (and its alias `--json`) on tenant list|show, integration list, contact and replay:
// one JSON document on stdout (snake_case keys, ISO times, money in minor units with its currency),
// warnings on stderr, secrets masked as the text masks them, errors one line with exit 1.

const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const prefix = `${redisPrefix}-clijson`;
const owner = createDatabase({ url: databaseUrl, role: 'owner', max: 2 });
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const conn = createQueueConnection({ kind: 'redis', url: redisUrl }, prefix);
const run = randomBytes(4).toString('hex');
const replayTenants: string[] = [];

beforeAll(() => {
  process.env.DATABASE_URL = databaseUrl;
  process.env.REDIS_URL = redisUrl;
  process.env.QUEUE_PREFIX = prefix;
  process.env.MCB_ENCRYPTION_KEY = generateKey();
});

afterAll(async () => {
  for (const tenantId of replayTenants) {
    const q = new Queue(webhookQueueName(tenantId), { connection: conn.connection, prefix });
    await q.obliterate({ force: true });
    await q.close();
  }
  await conn.close();
  await Promise.all([owner.close(), admin.close()]);
});

/** Runs the command with `--format json` and with `--json`; both must give the same answer. Returns it, stdout parsed. */
async function bothJson(...argv: string[]): Promise<CliRun & { json: unknown }> {
  const canonical = await mcb(...argv, '--format', 'json');
  expect(await mcb(...argv, '--json'), `${argv.join(' ')} --json`).toEqual(canonical);
  return { ...canonical, json: canonical.stdout === '' ? undefined : JSON.parse(canonical.stdout) };
}

const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('mcb tenant list|show --format json', () => {
  const slug = `json-t-${run}`;
  let id = '';

  beforeAll(async () => {
    id = (
      await addTenant(admin, {
        slug,
        name: 'Json Clinic',
        ownerName: 'Ana',
        reportEmail: 'ana@json.example',
        timezone: 'Europe/London',
        currency: 'gbp',
        phoneCountry: 'GB',
      })
    ).id;
    const set = await mcb(
      'integration',
      'set',
      slug,
      'stripe',
      '--webhook-secret',
      'whsec_json_tenant_1',
      '--credentials',
      '{"secret_key":"sk_json_1"}',
    );
    expect(set.code, set.stderr).toBe(0);
    expect(
      (await mcb('integration', 'set', slug, 'meta', '--credentials', '{"access_token":"EAAB-json","ad_account_id":"act_9"}')).code,
    ).toBe(0);
    await admin.sql`update tenant_integrations set is_active = false where provider = 'meta' and tenant_id = ${id}`;
  });

  it('tenant list: {tenants: [...]}, each row the columns of the table (active integrations only), no secret', async () => {
    // Other test files add tenants to the same database meanwhile: compare this file's own row.
    const json = await mcb('tenant', 'list', '--format', 'json');
    const alias = await mcb('tenant', 'list', '--json');
    for (const r of [json, alias]) {
      expect(r.code).toBe(0);
      // Warnings (a GHL location named by two tenants, from other files) go to stderr only.
      expect(r.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('warning: '))).toEqual([]);
    }
    const row = (r: CliRun) => (JSON.parse(r.stdout) as { tenants: Array<{ slug: string }> }).tenants.find((t) => t.slug === slug);
    expect(row(json)).toEqual({
      id,
      slug,
      name: 'Json Clinic',
      owner_name: 'Ana',
      report_email: 'ana@json.example',
      is_active: true,
      active_integrations: ['stripe'],
    });
    expect(row(alias)).toEqual(row(json));
    const slugs = (JSON.parse(json.stdout) as { tenants: Array<{ slug: string }> }).tenants.map((t) => t.slug);
    expect(slugs).toEqual([...slugs].sort());
    expect(json.stdout).not.toMatch(/whsec_json_tenant_1|sk_json_1|•/);
    // The text is still the table.
    expect((await mcb('tenant', 'list')).stdout).toMatch(
      new RegExp(`^${slug}\\s+Json Clinic\\s+Ana\\s+ana@json\\.example\\s+active\\s+stripe$`, 'm'),
    );
  });

  it('tenant show: the fields, the config with every default, each integration and whether it is active, never a secret', async () => {
    const r = await bothJson('tenant', 'show', slug);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [row] = await admin.sql<{ created_at: Date }[]>`select created_at from tenants where id = ${id}`;
    expect(r.json).toEqual({
      id,
      slug,
      name: 'Json Clinic',
      owner_name: 'Ana',
      report_email: 'ana@json.example',
      is_active: true,
      created_at: row!.created_at.toISOString(),
      config: expect.objectContaining({ timezone: 'Europe/London', currency: 'gbp', phone_country: 'GB' }),
      integrations: [
        { provider: 'meta', is_active: false },
        { provider: 'stripe', is_active: true },
      ],
    });
    // The same config as the text's config line (defaults filled in).
    const text = await mcb('tenant', 'show', slug);
    const configLine = /^ {2}config {8}(.*)$/m.exec(text.stdout)?.[1];
    expect((r.json as { config: unknown }).config).toEqual(JSON.parse(configLine as string));
    // Masked or not, no secret: the text shows none either.
    expect(r.stdout).not.toMatch(/whsec_json_tenant_1|sk_json_1|EAAB-json|•/);
  });

  it('an unknown tenant is the one-line error, nothing on stdout; a bad --format is refused', async () => {
    expect(await mcb('tenant', 'show', `nope-${run}`, '--json')).toEqual({
      code: 1,
      stdout: '',
      stderr: `Unknown tenant: nope-${run}; see mcb tenant list\n`,
    });
    expect(await mcb('tenant', 'list', '--format', 'yaml')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Invalid --format: yaml (text or json)\n',
    });
  });
});

describe('mcb integration list --format json', () => {
  const slug = `json-i-${run}`;

  it('every secret and credential masked exactly as the table masks it; gaps named; warnings stay on stderr', async () => {
    await addTenant(admin, { slug, name: 'Json Integrations', currency: 'gbp' });
    const ok = (r: CliRun) => expect(r.code, r.stderr).toBe(0);
    ok(
      await mcb(
        'integration',
        'set',
        slug,
        'stripe',
        '--webhook-secret',
        'whsec_json_old1',
        '--credentials',
        '{"secret_key":"sk_json_abcd"}',
      ),
    );
    ok(await mcb('integration', 'rotate-secret', slug, 'stripe', '--overlap', '24h', '--webhook-secret', 'whsec_json_new2'));
    ok(
      await mcb(
        'integration',
        'set',
        slug,
        'manychat',
        '--webhook-secret',
        'mc-json-secret-0123',
        '--credentials',
        '{"api_key":"mc-json-key-6789"}',
      ),
    );
    ok(await mcb('integration', 'set', slug, 'denefits', '--webhook-secret', 'dn-json-secret-4567'));
    // An active integration without a secret, as stored before `integration set` refused to make one.
    await admin.sql`update tenant_integrations set webhook_secret = null
      where provider = 'manychat' and tenant_id = (select id from tenants where slug = ${slug})`;
    const [rotated] = await admin.sql<{ until: Date }[]>`
      select previous_secret_expires_at as until from tenant_integrations
      where provider = 'stripe' and tenant_id = (select id from tenants where slug = ${slug})`;

    const r = await bothJson('integration', 'list', slug);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({
      tenant: slug,
      integrations: [
        {
          provider: 'denefits',
          is_active: true,
          webhook_secret: '••••••••4567',
          previous_webhook_secret: null,
          previous_secret_expires_at: null,
          credentials: {},
          gaps: [],
          warnings: [],
          last_error: null,
          last_success_at: null,
        },
        {
          provider: 'manychat',
          is_active: true,
          webhook_secret: null,
          previous_webhook_secret: null,
          previous_secret_expires_at: null,
          credentials: { api_key: '••••••••6789' },
          gaps: ['no_secret'],
          warnings: [
            `manychat is active with no webhook secret: every delivery gets 401 missing_credentials; add one: mcb integration set ${slug} manychat --webhook-secret`,
          ],
          last_error: null,
          last_success_at: null,
        },
        {
          provider: 'stripe',
          is_active: true,
          webhook_secret: '••••••••new2',
          previous_webhook_secret: '••••••••old1',
          previous_secret_expires_at: rotated!.until.toISOString(),
          credentials: { secret_key: '••••••••abcd' },
          gaps: [],
          warnings: [],
          last_error: null,
          last_success_at: null,
        },
      ],
    });
    for (const secret of [
      'whsec_json_old1',
      'whsec_json_new2',
      'sk_json_abcd',
      'mc-json-secret-0123',
      'mc-json-key-6789',
      'dn-json-secret-4567',
    ]) {
      expect(r.stdout + r.stderr).not.toContain(secret);
    }
    // The text shows the very same masked values, and both print the same warnings on stderr.
    const text = await mcb('integration', 'list', slug);
    for (const masked of ['••••••••4567', '••••••••6789', '••••••••new2', '••••••••old1', '••••••••abcd'])
      expect(text.stdout).toContain(masked);
    expect(text.stdout).toMatch(/\nmanychat\s+active\s+MISSING\s/);
    expect(r.stderr).toBe(text.stderr);
    expect(r.stderr).toContain(`warning: manychat is active with no webhook secret: every delivery gets 401 missing_credentials`);
    expect(r.stderr).toContain(`warning: denefits amounts are US dollars: tenant ${slug} reports in gbp`);
  });

  it('warnings name what the worker lacks too: ManyChat without an api_key, as the stderr line says', async () => {
    const bare = `json-k-${run}`;
    await addTenant(admin, { slug: bare, name: 'Json No Key' });
    expect((await mcb('integration', 'set', bare, 'manychat', '--webhook-secret', 'mc-json-nokey-0001')).code).toBe(0);
    const r = await bothJson('integration', 'list', bare);
    const [manychat] = (r.json as { integrations: Array<{ gaps: string[]; warnings: string[] }> }).integrations;
    expect(manychat?.gaps).toEqual([]);
    expect(manychat?.warnings).toHaveLength(1);
    expect(manychat?.warnings[0]).toMatch(/^manychat has no api_key: deliveries carrying only a subscriber_id fail/);
    expect(r.stderr).toContain(`warning: ${manychat?.warnings[0]}`);
  });

  it('no integration is an empty list, not the sentence; an unknown tenant is the one-line error', async () => {
    const empty = `json-i0-${run}`;
    await addTenant(admin, { slug: empty, name: 'No Integrations' });
    const r = await bothJson('integration', 'list', empty);
    expect(r).toMatchObject({ code: 0, stderr: '', json: { tenant: empty, integrations: [] } });
    expect((await mcb('integration', 'list', empty)).stdout).toBe(
      `No integrations for ${empty}. Add one with: mcb integration set ${empty} <provider> …\n`,
    );
    expect(await mcb('integration', 'list', `nope-${run}`, '--json')).toEqual({
      code: 1,
      stdout: '',
      stderr: `Unknown tenant: nope-${run}; see mcb tenant list\n`,
    });
  });
});

describe('mcb contact --format json', () => {
  const slug = `json-c-${run}`;
  let tenantId = '';
  let contactId = '';
  let mergedId = '';
  let logId = 0;

  beforeAll(async () => {
    tenantId = (await addTenant(admin, { slug, name: 'Json Contacts', currency: 'gbp' })).id;
    const [log] = await owner.sql<{ id: number }[]>`
      insert into webhook_logs (tenant_id, source, event_type, dedupe_key, payload, status)
      values (${tenantId}, 'manychat', 'contact_created', ${`k-${slug}`}, '{}'::jsonb, 'processed') returning id`;
    logId = log!.id;
    const [c] = await owner.sql<{ id: string }[]>`
      insert into contacts (tenant_id, mc_id, email_primary, phone, first_name, stage, source, first_seen_at, created_at)
      values (${tenantId}, 'mc-json-1', 'Rosa@Example.com', '+447700900456', ${'Rosa\x1b]0;owned\x07'}, 'purchased', 'manychat',
              '2026-11-03T14:58:00Z', '2026-11-03T15:00:00Z') returning id`;
    contactId = c!.id;
    const [m] = await owner.sql<{ id: string }[]>`
      insert into contacts (tenant_id, merged_into_id, created_at) values (${tenantId}, ${contactId}, '2026-11-04T09:00:00Z') returning id`;
    mergedId = m!.id;
    await owner.sql`
      insert into contact_identities (tenant_id, kind, value, contact_id, source, webhook_log_id, first_seen_at, merged_from_id) values
        (${tenantId}, 'mc_id', 'mc-json-1', ${contactId}, 'manychat', ${logId}, '2026-11-03T15:00:00Z', null),
        (${tenantId}, 'email', 'rosa@example.com', ${contactId}, 'manychat', ${logId}, '2026-11-03T15:00:00Z', null),
        (${tenantId}, 'ghl_id', 'ghl-json-merged', ${contactId}, 'ghl', null, '2026-11-04T09:00:00Z', ${mergedId})`;
    await owner.sql`
      insert into contact_field_changes (tenant_id, contact_id, field, old_value, new_value, webhook_log_id, changed_at)
      values (${tenantId}, ${contactId}, 'email_primary', null, 'Rosa@Example.com', ${logId}, '2026-11-03T15:00:01Z')`;
    await owner.sql`
      insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id, webhook_log_id)
      values (${tenantId}, ${contactId}, 'contact_subscribed', '2026-11-03T14:58:00Z', 'manychat', ${`k-${slug}`}, ${logId})`;
    await owner.sql`
      insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, currency, status, paid_at) values
        (${tenantId}, ${contactId}, 'cs_json_gbp', 'stripe', 'buy_in_full', 'full_purchase', 123456, 'gbp', 'paid', '2026-11-05T10:00:00Z'),
        (${tenantId}, ${contactId}, 'cs_json_jpy', 'stripe', 'buy_in_full', 'deposit', 5000, 'jpy', 'paid', '2026-11-05T11:00:00Z')`;
  });

  it('the whole report: the person (every field, null when unset), identifiers, provenance, timeline with money in minor units', async () => {
    const r = await bothJson('contact', slug, 'ghl-json-merged');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.json).toEqual({
      tenant: slug,
      contact: {
        id: contactId,
        mc_id: 'mc-json-1',
        ghl_id: null,
        email_primary: 'Rosa@Example.com',
        email_booking: null,
        email_payment: null,
        phone: '+447700900456',
        first_name: 'Rosa\x1b]0;owned\x07',
        last_name: null,
        ig_username: null,
        ig_id: null,
        stripe_customer_id: null,
        stage: 'purchased',
        source: 'manychat',
        ad_id: null,
        first_seen_at: '2026-11-03T14:58:00.000Z',
        created_at: '2026-11-03T15:00:00.000Z',
      },
      looked_up_via: null,
      merged_ids: [mergedId],
      other_matches: [],
      identities: [
        {
          kind: 'mc_id',
          value: 'mc-json-1',
          source: 'manychat',
          event_type: 'contact_created',
          log_id: logId,
          first_seen_at: '2026-11-03T15:00:00.000Z',
          merged_from_id: null,
        },
        {
          kind: 'ghl_id',
          value: 'ghl-json-merged',
          source: 'ghl',
          event_type: null,
          log_id: null,
          first_seen_at: '2026-11-04T09:00:00.000Z',
          merged_from_id: mergedId,
        },
        {
          kind: 'email',
          value: 'rosa@example.com',
          source: 'manychat',
          event_type: 'contact_created',
          log_id: logId,
          first_seen_at: '2026-11-03T15:00:00.000Z',
          merged_from_id: null,
        },
      ],
      provenance: [
        { field: 'mc_id', value: 'mc-json-1', source: null, event_type: null, log_id: null, set_at: '2026-11-03T15:00:00.000Z' },
        {
          field: 'email_primary',
          value: 'Rosa@Example.com',
          source: 'manychat',
          event_type: 'contact_created',
          log_id: logId,
          set_at: '2026-11-03T15:00:01.000Z',
        },
        { field: 'phone', value: '+447700900456', source: null, event_type: null, log_id: null, set_at: '2026-11-03T15:00:00.000Z' },
        {
          field: 'first_name',
          value: 'Rosa\x1b]0;owned\x07',
          source: null,
          event_type: null,
          log_id: null,
          set_at: '2026-11-03T15:00:00.000Z',
        },
        { field: 'stage', value: 'purchased', source: null, event_type: null, log_id: null, set_at: '2026-11-03T15:00:00.000Z' },
        { field: 'source', value: 'manychat', source: null, event_type: null, log_id: null, set_at: '2026-11-03T15:00:00.000Z' },
      ],
      timeline: [
        {
          at: '2026-11-03T14:58:00.000Z',
          kind: 'event',
          source: 'manychat',
          log_id: logId,
          event_type: 'contact_subscribed',
          provider_event_type: 'contact_created',
          source_event_id: `k-${slug}`,
        },
        {
          at: '2026-11-05T10:00:00.000Z',
          kind: 'payment',
          source: 'stripe',
          log_id: null,
          category: 'full_purchase',
          amount_cents: 123456,
          currency: 'gbp',
          status: 'paid',
          payment_event_id: 'cs_json_gbp',
        },
        {
          at: '2026-11-05T11:00:00.000Z',
          kind: 'payment',
          source: 'stripe',
          log_id: null,
          category: 'deposit',
          amount_cents: 5000,
          currency: 'jpy',
          status: 'paid',
          payment_event_id: 'cs_json_jpy',
        },
      ],
    });
    // A value from a webhook reaches the terminal escaped (valid JSON of the same value, as above).
    expect(unsafeIn(r.stdout)).toEqual([]);
    // Looked up by the merged record: said, as the text says it; the text is unchanged.
    expect(((await bothJson('contact', slug, mergedId)).json as { looked_up_via: string }).looked_up_via).toBe(mergedId);
    const text = await mcb('contact', slug, 'ghl-json-merged');
    expect(text.stdout).toMatch(/payment full_purchase\s+stripe\s+£1,234\.56 paid cs_json_gbp/);
  });

  it('no match is the one-line error with exit 1 and nothing on stdout, as in text', async () => {
    expect(await mcb('contact', slug, 'nobody@example.com', '--json')).toEqual({
      code: 1,
      stdout: '',
      stderr: `No contact matching nobody@example.com in tenant ${slug}\n`,
    });
    expect((await mcb('contact', `nope-${run}`, 'x', '--format', 'json')).stderr).toBe(
      `Unknown tenant: nope-${run}; see mcb tenant list\n`,
    );
  });
});

describe('mcb replay --format json', () => {
  let tenant = { id: '', slug: '' };
  let seq = 0;

  beforeAll(async () => {
    const slug = `json-r-${run}`;
    tenant = { id: (await addTenant(admin, { slug, name: 'Json Replay' })).id, slug };
    replayTenants.push(tenant.id);
  });

  async function insertLogs(status: string, n: number, source: string): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      seq += 1;
      const [r] = await admin.sql<{ id: number }[]>`
        insert into webhook_logs (tenant_id, source, event_type, dedupe_key, payload, status, error_message, received_at)
        values (${tenant.id}, ${source}, 'contact_created', ${`json_${seq}`}, ${admin.sql.json({ subscriber: { id: `mc_${seq}` } })},
                ${status}, ${status === 'rejected' ? 'invalid_signature: invalid_signature' : 'boom'}, ${new Date(Date.now() - 600_000 + seq * 10)})
        returning id`;
      ids.push(r!.id);
    }
    return ids;
  }

  const statuses = (ids: number[]) =>
    admin.sql<{ status: string }[]>`select status from webhook_logs where id = any(${ids}::bigint[]) order by id`.then((rows) =>
      rows.map((r) => r.status),
    );
  /** The answer without its timing (the only part two runs of the same replay may differ in). */
  const untimed = (r: CliRun) => {
    const { started_at, duration_ms, ...rest } = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(started_at).toMatch(iso);
    expect(duration_ms).toEqual(expect.any(Number));
    return rest;
  };

  it('--dry-run: the counts, the rejected ids and the first logs, changing nothing', async () => {
    const failed = await insertLogs('failed', 2, 'ghl');
    const [rejected] = await insertLogs('rejected', 1, 'ghl');
    const dry = await bothJson('replay', '--tenant', tenant.slug, '--source', 'ghl', '--dry-run');
    expect(dry).toMatchObject({ code: 0, stderr: '' });
    expect(dry.json).toEqual({
      dry_run: true,
      matched: 3,
      replayable: 2,
      rejected: 1,
      rejected_ids: [rejected],
      needs_confirmation: false,
      sample: failed.map((id) => ({
        id,
        received_at: expect.stringMatching(iso),
        tenant_slug: tenant.slug,
        source: 'ghl',
        event_type: 'contact_created',
        status: 'failed',
        attempts: 0,
        error_message: 'boom',
      })),
    });
    expect(await statuses([...failed, rejected!])).toEqual(['failed', 'failed', 'rejected']);
  });

  it('a replay: what was replayed and what was skipped, by id; progress on stderr only; --json is --format json', async () => {
    const failed = await insertLogs('failed', 2, 'manychat');
    const [rejected] = await insertLogs('rejected', 1, 'manychat');
    const filter = ['replay', '--tenant', tenant.slug, '--source', 'manychat'];
    const r = await mcb(...filter, '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    expect(untimed(r)).toEqual({
      dry_run: false,
      matched: 3,
      replayed: 2,
      not_enqueued: 0,
      skipped_count: 1,
      skipped_by_reason: { rejected: 1, duplicate: 0 },
      skipped: [{ id: rejected, reason: 'rejected' }],
      missing_ids: [],
    });
    expect(r.stderr).toMatch(/^replay \[#{30}\] 100% 2\/2$/m);
    expect(r.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('replay ['))).toEqual([]);
    expect(await statuses([...failed, rejected!])).toEqual(['received', 'received', 'rejected']);
    // Replayed again (the logs are `received` now): the same answer through the alias.
    const alias = await mcb(...filter, '--json');
    expect(alias.code, alias.stderr).toBe(0);
    expect(untimed(alias)).toEqual(untimed(r));
    // Only rejected logs match: nothing replayed, the same summary shape (the text says "No log to replay").
    const none = await mcb('replay', '--tenant', tenant.slug, '--source', 'manychat', '--status', 'rejected', '--json');
    expect(none).toMatchObject({ code: 0, stderr: '' });
    expect(untimed(none)).toEqual({
      dry_run: false,
      matched: 1,
      replayed: 0,
      not_enqueued: 0,
      skipped_count: 1,
      skipped_by_reason: { rejected: 1, duplicate: 0 },
      skipped: [{ id: rejected, reason: 'rejected' }],
      missing_ids: [],
    });
    expect((await mcb('replay', '--tenant', tenant.slug, '--source', 'manychat', '--status', 'rejected')).stdout).toMatch(
      /^No log to replay \(1 matched\)\.\n1 rejected log\(s\) match/,
    );
  });

  it('--id: replayed, skipped and unknown ids in the document; nothing replayable is still exit 1 with the one line', async () => {
    const [failed] = await insertLogs('failed', 1, 'stripe');
    const [rejected] = await insertLogs('rejected', 1, 'stripe');
    const ids = [String(failed), String(rejected), '999999999'];
    const dry = await bothJson('replay', '--id', ...ids, '--dry-run');
    expect(dry).toMatchObject({ code: 0, stderr: '' });
    expect(dry.json).toEqual({
      dry_run: true,
      matched: 2,
      replayable: 1,
      rejected: 1,
      rejected_ids: [rejected],
      needs_confirmation: false,
      replayable_ids: [failed],
      missing_ids: [999999999],
    });
    const r = await mcb('replay', '--id', ...ids, '--json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    // One document: the "No webhook log 999999999." line of the text is its missing_ids.
    expect(untimed(r)).toEqual({
      dry_run: false,
      matched: 2,
      replayed: 1,
      not_enqueued: 0,
      skipped_count: 1,
      skipped_by_reason: { rejected: 1, duplicate: 0 },
      skipped: [{ id: rejected, reason: 'rejected' }],
      missing_ids: [999999999],
    });
    expect(await statuses([failed!, rejected!])).toEqual(['received', 'rejected']);

    const nothing = await mcb('replay', '--id', String(rejected), '--json');
    expect(nothing).toMatchObject({ code: 1, stderr: 'Nothing to replay: no log given by --id can be replayed\n' });
    expect(untimed(nothing)).toMatchObject({ matched: 1, replayed: 0, skipped: [{ id: rejected, reason: 'rejected' }] });
    const nothingDry = await mcb('replay', '--id', String(rejected), '--dry-run', '--json');
    expect(nothingDry).toMatchObject({ code: 1, stderr: 'Nothing to replay: no log given by --id can be replayed\n' });
    expect(JSON.parse(nothingDry.stdout)).toMatchObject({ dry_run: true, replayable: 0, rejected_ids: [rejected] });
  });

  it('more than 10 logs: never a prompt in JSON mode, even on a terminal: refused without --yes as off one; --yes replays', async () => {
    const failed = await insertLogs('failed', 11, 'perspective');
    const refusal = {
      code: 1,
      stdout: '',
      stderr: 'Refusing to replay 11 logs without confirmation: check them with --dry-run, then add --yes (more than 10 logs need it)\n',
    };
    const argv = ['replay', '--tenant', tenant.slug, '--source', 'perspective', '--status', 'failed'];
    expect(await mcb(...argv, '--json')).toEqual(refusal);
    expect(await mcb('replay', '--id', ...failed.map(String), '--format', 'json')).toEqual(refusal);
    // A terminal on both ends: the text would ask there; JSON does not (the question would land in stdout).
    const tty = { stdin: process.stdin.isTTY, stdout: process.stdout.isTTY };
    process.stdin.isTTY = true;
    process.stdout.isTTY = true;
    try {
      // A prompt would wait for an answer that never comes: fail at once rather than at the test timeout.
      const prompted = new Promise<string>((resolve) => setTimeout(() => resolve('asked instead of refusing'), 5_000).unref());
      expect(await Promise.race([mcb(...argv, '--json'), prompted])).toEqual(refusal);
    } finally {
      process.stdin.isTTY = tty.stdin;
      process.stdout.isTTY = tty.stdout;
    }
    expect(new Set(await statuses(failed))).toEqual(new Set(['failed']));
    const dry = await bothJson(...argv, '--dry-run');
    expect(dry.json).toMatchObject({ replayable: 11, needs_confirmation: true });
    const ok = await mcb(...argv, '--yes', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect(untimed(ok)).toMatchObject({ matched: 11, replayed: 11, skipped_count: 0, skipped: [] });
    expect(new Set(await statuses(failed))).toEqual(new Set(['received']));
  });
});
