import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createDatabase } from '@mcb/db';
import { verifyWebhook } from '@mcb/sources';
import { activeWebhookSecrets, createTenantContextLoader, generateKey, parseKeyring } from '@mcb/tenancy';
import { testEnv } from '@mcb/testing';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

// Onboarding through the real `mcb` program (in-process `runCli`, one child process), against this
// run's migrated database: SPEC §8 commands, §9 encryption at rest and masking (issue 3 must-shows).

const { databaseUrl } = testEnv();
const key = generateKey();
const baseUrl = 'https://hooks.example.com';
const slug = `acme-${randomUUID().slice(0, 8)}`;
const tenantName = `Acme Health ${slug}`;

const owner = createDatabase({ url: databaseUrl, role: 'owner', max: 1 });
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const loader = createTenantContextLoader({ admin, keyring: parseKeyring(key), ttlMs: 0 });
afterAll(async () => {
  await loader.close();
  await Promise.all([owner.close(), admin.close()]);
});

beforeAll(() => {
  process.env.DATABASE_URL = databaseUrl;
  process.env.MCB_ENCRYPTION_KEY = key;
  process.env.PUBLIC_BASE_URL = baseUrl;
});

/** Every text/json column of every user table that contains `needle`, as `schema.table.column`. */
async function columnsContaining(needle: string): Promise<string[]> {
  const columns = await owner.sql<{ schema: string; table: string; column: string }[]>`
    select c.table_schema as schema, c.table_name as table, c.column_name as column
    from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
    where t.table_type = 'BASE TABLE' and c.table_schema not in ('pg_catalog', 'information_schema')
      and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'USER-DEFINED')`;
  const hits: string[] = [];
  for (const { schema, table, column } of columns) {
    const [row] = await owner.sql.unsafe<{ n: number }[]>(
      `select count(*)::int as n from "${schema}"."${table}" where strpos("${column}"::text, $1) > 0`,
      [needle],
    );
    if ((row?.n ?? 0) > 0) hits.push(`${schema}.${table}.${column}`);
  }
  return hits;
}

function signStripe(secret: string, at: Date) {
  const payload = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'checkout.session.completed' });
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: Math.floor(at.getTime() / 1000) });
  return { body: new TextEncoder().encode(payload), headers: { 'stripe-signature': header } };
}

describe('mcb onboarding (issue 3 must-shows)', () => {
  it('scans as a role that sees every row (otherwise the plaintext scan would prove nothing)', async () => {
    const [me] = await owner.sql<{ all: boolean }[]>`select rolsuper or rolbypassrls as all from pg_roles where rolname = current_user`;
    expect(me?.all).toBe(true);
  });

  it('tenant add, then integration set stripe with a secret and credentials', async () => {
    const add = await mcb(
      'tenant',
      'add',
      slug,
      '--name',
      tenantName,
      '--owner',
      'Jane',
      '--email',
      'jane@acme.example',
      '--timezone',
      'America/New_York',
    );
    expect(add).toMatchObject({ code: 0, stderr: '' });
    expect(add.stdout).toContain(`Added tenant ${slug} (${tenantName}), active.`);
    const set = await mcb(
      'integration',
      'set',
      slug,
      'stripe',
      '--webhook-secret',
      'whsec_test123',
      '--credentials',
      '{"secret_key":"sk_test_abc"}',
    );
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toBe(`Added stripe integration for ${slug}.\n`);
  });

  it('stores neither whsec_test123 nor sk_test_abc in plaintext in any column of any table', async () => {
    expect(await columnsContaining(tenantName)).toEqual(['public.tenants.name']);
    expect(await columnsContaining('whsec_test123')).toEqual([]);
    expect(await columnsContaining('sk_test_abc')).toEqual([]);
    const ctx = await loader.getTenantContext(slug);
    expect(ctx.credentials.stripe).toMatchObject({ webhookSecret: 'whsec_test123', credentials: { secret_key: 'sk_test_abc' } });
    expect(ctx.config.timezone).toBe('America/New_York');
  });

  it('integration list shows them masked to the last 4 characters', async () => {
    const list = await mcb('integration', 'list', slug);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/stripe\s+active\s+•+t123\s/);
    expect(list.stdout).toContain('secret_key=•••••••_abc');
    expect(list.stdout).not.toContain('whsec_test123');
    expect(list.stdout).not.toContain('sk_test_abc');
    const show = await mcb('tenant', 'show', slug);
    expect(show.stdout).toContain('"timezone":"America/New_York"');
    expect(show.stdout).not.toMatch(/whsec_test123|sk_test_abc/);
  });

  it('rotate-secret --overlap 24h: both secrets verify until the overlap ends, then only the new one', async () => {
    const rotate = await mcb('integration', 'rotate-secret', slug, 'stripe', '--overlap', '24h', '--webhook-secret', 'whsec_rotated456');
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toMatch(/previous secret is accepted until \d{4}-/);
    expect(rotate.stdout).not.toMatch(/whsec_/);
    const secrets = loader.requireIntegration(await loader.getTenantContext(slug), 'stripe');
    const expiresAt = secrets.previousSecretExpiresAt as Date;
    expect(expiresAt.getTime() - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    expect(expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);

    const verify = (secret: string, at: Date) => {
      const d = signStripe(secret, at);
      return verifyWebhook('stripe', d.body, d.headers, {}, activeWebhookSecrets(secrets, at), at).ok;
    };
    const during = new Date(expiresAt.getTime() - 60_000);
    const after = new Date(expiresAt.getTime() + 1_000);
    expect([verify('whsec_test123', new Date()), verify('whsec_rotated456', new Date())]).toEqual([true, true]);
    expect([verify('whsec_test123', during), verify('whsec_rotated456', during)]).toEqual([true, true]);
    expect([verify('whsec_test123', after), verify('whsec_rotated456', after)]).toEqual([false, true]);

    const list = await mcb('integration', 'list', slug);
    expect(list.stdout).toMatch(/•+d456\s+•+t123 \(\d{4}-/);
  });

  it('integration set --webhook-secret without a value generates a strong secret, prints it and says where to see it again', async () => {
    const set = await mcb('integration', 'set', slug, 'manychat', '--webhook-secret', '--credentials', '{"api_key":"mc_live_0123456789"}');
    expect(set.code).toBe(0);
    const secret = set.stdout.trim().split('\n').at(-1) as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Not "shown once": mcb urls --show-secrets prints it again, and the line says so.
    expect(set.stdout).toContain(`mcb urls ${slug} --show-secrets shows it again`);
    expect((await mcb('urls', slug, '--show-secrets')).stdout).toContain(secret);
    const ctx = await loader.getTenantContext(slug);
    expect(ctx.credentials.manychat?.webhookSecret).toBe(secret);
    expect(await columnsContaining(secret)).toEqual([]);
    for (const argv of [
      ['integration', 'list', slug],
      ['tenant', 'show', slug],
      ['tenant', 'list'],
      ['urls', slug],
    ]) {
      const run = await mcb(...argv);
      expect(run.code, argv.join(' ')).toBe(0);
      expect(run.stdout).not.toContain(secret);
      expect(run.stdout).not.toContain('mc_live_0123456789');
    }
    const verify = (presented: string) =>
      verifyWebhook(
        'manychat',
        new TextEncoder().encode('{}'),
        { 'x-webhook-secret': presented },
        {},
        activeWebhookSecrets(ctx.credentials.manychat!, new Date()),
        new Date(),
      ).ok;
    expect([verify(secret), verify(`${secret}x`)]).toEqual([true, false]);
  });

  it('integration set of a webhook source that could verify no delivery is refused, naming the flag, and stores nothing', async () => {
    // A tenant of its own: the file's tenant has a fixed set of integrations later tests count.
    const own = `${slug}-nosecret`;
    expect((await mcb('tenant', 'add', own, '--name', 'No Secret')).code).toBe(0);
    const refusal = (provider: string, fix: string) => ({
      code: 1,
      stdout: '',
      stderr: `Missing credentials: ${provider} webhook secret for tenant ${own}; ${fix}\n`,
    });
    const shared = (provider: string) =>
      refusal(
        provider,
        `${provider} deliveries are verified with a shared secret: pass --webhook-secret <secret> (alone: one is generated)`,
      );
    expect(await mcb('integration', 'set', own, 'stripe', '--credentials', '{"secret_key":"sk_test_nosecret"}')).toEqual(
      refusal(
        'stripe',
        "Stripe deliveries are verified with the endpoint's signing secret: pass --webhook-secret whsec_… (Stripe dashboard → Developers → Webhooks → the endpoint)",
      ),
    );
    expect(await mcb('integration', 'set', own, 'manychat', '--credentials', '{"api_key":"mc_live_nosecret"}')).toEqual(shared('manychat'));
    expect(await mcb('integration', 'set', own, 'denefits')).toEqual(shared('denefits'));
    expect(await mcb('integration', 'set', own, 'perspective')).toEqual(shared('perspective'));
    // GHL verifies HighLevel-signed deliveries with HighLevel's public key and the tenant's location ids
    // (SPEC §3.1): with neither a secret nor a location, nothing verifies.
    expect(await mcb('integration', 'set', own, 'ghl')).toEqual(
      refusal(
        'ghl',
        'GHL deliveries are verified with a shared secret (workflow webhooks) or a location id (HighLevel-signed deliveries): pass --webhook-secret (alone: one is generated) and/or --location-id <locationId>',
      ),
    );
    expect((await mcb('integration', 'list', own)).stdout).toBe(
      `No integrations for ${own}. Add one with: mcb integration set ${own} <provider> …\n`,
    );

    const withSecret = await mcb('integration', 'set', own, 'denefits', '--webhook-secret', 'den-secret-0123456789');
    expect([withSecret.code, withSecret.stderr]).toEqual([0, '']);
    // Updating an integration that has a secret does not need it again, and keeps it.
    const update = await mcb('integration', 'set', own, 'denefits', '--credentials', '{"account":"clinic-1"}');
    expect(update).toEqual({ code: 0, stdout: `Updated denefits integration for ${own}.\n`, stderr: '' });
    expect((await loader.getTenantContext(own)).credentials.denefits?.webhookSecret).toBe('den-secret-0123456789');
    // GHL with a location and no secret: its signed deliveries verify; the command says what does not.
    const location = `LOC_NOSECRET_${slug}`;
    expect(await mcb('integration', 'set', own, 'ghl', '--location-id', location)).toEqual({
      code: 0,
      stdout: [
        `Added ghl integration for ${own}.`,
        `GHL-signed deliveries are accepted for location(s): ${location} (any other location: 401).`,
        `No GHL webhook secret: workflow webhooks (unsigned) get 401 until you add one (mcb integration set ${own} ghl --webhook-secret).`,
        '',
      ].join('\n'),
      stderr: '',
    });
    // Meta and the Conversions API receive no webhooks: no secret, no refusal, no warning.
    const meta = await mcb('integration', 'set', own, 'meta', '--credentials', '{"access_token":"EAAB-test","ad_account_id":"act_1"}');
    expect([meta.code, meta.stderr]).toEqual([0, '']);
    const capi = await mcb('integration', 'set', own, 'meta_capi', '--credentials', '{"dataset_id":"1","access_token":"EAAB-capi"}');
    expect([capi.code, capi.stderr]).toEqual([0, '']);
  });

  it('integration list flags an active webhook integration with no secret, and GHL with no location id, never printing a secret', async () => {
    const own = `${slug}-gaps`;
    expect((await mcb('tenant', 'add', own, '--name', 'Gaps')).code).toBe(0);
    const secrets = { manychat: 'mc-secret-gaps-0123456789', ghl: 'ghl-secret-gaps-0123456789', perspective: 'ps-secret-gaps-0123456789' };
    for (const [provider, secret] of Object.entries(secrets)) {
      expect((await mcb('integration', 'set', own, provider, '--webhook-secret', secret)).code).toBe(0);
    }
    expect(
      (await mcb('integration', 'set', own, 'meta', '--credentials', '{"access_token":"EAAB-gaps","ad_account_id":"act_2"}')).code,
    ).toBe(0);
    // An active integration without a secret, as stored before `integration set` refused to make one.
    await admin.sql`update tenant_integrations set webhook_secret = null
      where provider = 'manychat' and tenant_id = (select id from tenants where slug = ${own})`;
    const list = await mcb('integration', 'list', own);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/\nmanychat\s+active\s+MISSING\s/);
    expect(list.stdout).toMatch(/\nghl\s+active\s+•+6789\s/);
    expect(list.stdout).toMatch(/\nmeta\s+active\s+-\s/);
    expect(list.stderr).toBe(
      [
        `warning: ghl has no location id: HighLevel-signed deliveries get 401 until one is set: mcb integration set ${own} ghl --location-id <locationId>`,
        `warning: manychat is active with no webhook secret: every delivery gets 401 missing_credentials; add one: mcb integration set ${own} manychat --webhook-secret`,
        `warning: manychat has no api_key: deliveries carrying only a subscriber_id fail (the worker fetches the subscriber from ManyChat with it); full subscriber bodies work. Add it: mcb integration set ${own} manychat --credentials '{"api_key":"…"}'`,
        '',
      ].join('\n'),
    );
    for (const secret of Object.values(secrets)) expect(list.stdout + list.stderr).not.toContain(secret);
    // Each command it names closes its gap.
    expect((await mcb('integration', 'set', own, 'manychat', '--webhook-secret', 'mc-secret-gaps-new-0123')).code).toBe(0);
    expect(await mcb('integration', 'set', own, 'ghl', '--location-id', `LOC_GAPS_${slug}`)).toEqual({
      code: 0,
      stdout: `Updated ghl integration for ${own}.\nGHL-signed deliveries are accepted for location(s): LOC_GAPS_${slug} (any other location: 401).\n`,
      stderr: '',
    });
    expect((await mcb('integration', 'set', own, 'manychat', '--credentials', '{"api_key":"mc-key-gaps-0123456789"}')).code).toBe(0);
    const fixed = await mcb('integration', 'list', own);
    expect(fixed.stderr).toBe('');
    expect(fixed.stdout).not.toContain('mc-key-gaps-0123456789');
  });

  it('urls prints the exact URL and header for every source from PUBLIC_BASE_URL', async () => {
    const urls = await mcb('urls', slug);
    expect(urls.code).toBe(0);
    for (const source of ['manychat', 'ghl', 'stripe', 'denefits', 'perspective']) {
      expect(urls.stdout).toContain(`${source}: ${baseUrl}/api/webhooks/${slug}/${source}   [`);
    }
    expect(urls.stdout).toContain('X-Webhook-Secret: <manychat-secret>');
    expect(urls.stdout).toContain(`${baseUrl}/api/webhooks/${slug}/perspective?secret=<perspective-secret>`);
  });

  it('gives exactly "Unknown tenant: x; see mcb tenant list" and "Missing credentials: …" as one line with exit 1', async () => {
    expect(await mcb('tenant', 'show', 'nope-tenant')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Unknown tenant: nope-tenant; see mcb tenant list\n',
    });
    expect(await mcb('integration', 'list', 'nope-tenant')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Unknown tenant: nope-tenant; see mcb tenant list\n',
    });
    expect(await mcb('integration', 'rotate-secret', slug, 'meta')).toEqual({
      code: 1,
      stdout: '',
      stderr: `Missing credentials: meta for tenant ${slug}\n`,
    });
    const bad = await mcb('tenant', 'add', `${slug}-2`, '--name', 'X', '--timezone', 'Mars/Olympus');
    expect(bad).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Invalid tenant config: timezone: must be an IANA time zone, e.g. America/New_York\n',
    });
    expect((await mcb('tenant', 'add', 'Bad_Slug', '--name', 'X')).stderr).toBe(
      'Invalid slug "Bad_Slug": use 2-40 lowercase letters, digits or dashes\n',
    );
    expect((await mcb('integration', 'set', slug, 'stripe', '--webhook-secret')).stderr).toMatch(/^Stripe issues its own signing secret/);
    // The same hint wherever a slug is resolved (here through @mcb/ops).
    expect(await mcb('stats', '--tenant', 'nope-tenant')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Unknown tenant: nope-tenant; see mcb tenant list\n',
    });
  });

  it('tenant update with the values the tenant already has says nothing changed (exit 0); a change says Updated', async () => {
    const same = `${slug}-same`;
    const add = await mcb('tenant', 'add', same, '--name', 'Same Co', '--owner', 'Ann', '--email', 'ann@same.example', '--currency', 'gbp');
    expect(add).toMatchObject({ code: 0, stderr: '' });
    const unchanged = { code: 0, stdout: `Nothing changed: tenant ${same} already has those values.\n`, stderr: '' };
    expect(await mcb('tenant', 'update', same, '--name', 'Same Co', '--owner', 'Ann', '--currency', 'gbp')).toEqual(unchanged);
    // Written differently, stored the same: currency in capitals (stored lowercase), a config value already set.
    expect(await mcb('tenant', 'update', same, '--currency', 'GBP', '--config', '{"currency":"gbp"}')).toEqual(unchanged);
    // The default, given explicitly: `tenant show` shows the same config before and after.
    expect(await mcb('tenant', 'update', same, '--timezone', 'UTC')).toEqual(unchanged);
    expect(await mcb('tenant', 'update', same)).toEqual({
      code: 0,
      stdout: `Nothing to change for tenant ${same}: give --name, --owner, --email, --timezone, --currency, --phone-country or --config.\n`,
      stderr: '',
    });
    expect(await mcb('tenant', 'update', same, '--name', 'Same Co', '--owner', 'Bea')).toEqual({
      code: 0,
      stdout: `Updated tenant ${same}.\n`,
      stderr: '',
    });
    expect((await mcb('tenant', 'show', same)).stdout).toContain('owner         Bea');
    expect((await mcb('tenant', 'update', same, '--config', '{"meta":{"lookback_days":14}}')).stdout).toBe(`Updated tenant ${same}.\n`);
    expect((await mcb('tenant', 'update', same, '--config', '{"meta":{"lookback_days":14}}')).stdout).toBe(
      `Nothing changed: tenant ${same} already has those values.\n`,
    );
  });

  it('tenant add/update --config with a value of the wrong kind or out of range: one line in the refusals’ words, for every config key; nothing stored', async () => {
    const kept = `${slug}-kinds`;
    expect((await mcb('tenant', 'add', kept, '--name', 'Kinds', '--currency', 'eur')).code).toBe(0);
    const cases: Array<[config: unknown, line: string]> = [
      [{ currency: null }, 'currency: must be text, not null (leave it out to keep the current or default value)'],
      [{ currency: 5 }, 'currency: must be text, not 5'],
      [{ timezone: null }, 'timezone: must be text, not null (leave it out to keep the current or default value)'],
      [{ report: null }, 'report: must be an object, not null (leave it out to keep the current or default value)'],
      [{ report: { schedule: 8 } }, 'report.schedule: must be text, not 8'],
      [{ report: { recipients: 'a@b.example' } }, 'report.recipients: must be a list, not "a@b.example"'],
      [{ report: { recipients: ['not-an-email'] } }, 'report.recipients.0: must be an email address, not "not-an-email"'],
      [{ deposit_amount_cents: '100' }, 'deposit_amount_cents: must be a number, not "100"'],
      [{ deposit_amount_cents: 99.5 }, 'deposit_amount_cents: must be a whole number, not 99.5'],
      [{ deposit_amount_cents: 0 }, 'deposit_amount_cents: must be more than 0'],
      [{ ghl: [] }, 'ghl: must be an object, not a list'],
      [{ ghl: { stage_map: ['DC BOOKED'] } }, 'ghl.stage_map: must be an object, not a list'],
      [{ ghl: { location_ids: [''] } }, 'ghl.location_ids.0: must not be empty'],
      [{ perspective: { ignore_funnels: 'Test funnel' } }, 'perspective.ignore_funnels: must be a list, not "Test funnel"'],
      [{ meta: { sync_every: 6 } }, 'meta.sync_every: must be text, not 6'],
      [{ meta: { lookback_days: 0 } }, 'meta.lookback_days: must be at least 1'],
      [{ meta: { lookback_days: 91 } }, 'meta.lookback_days: must be at most 90'],
      [{ phone_country: 44 }, 'phone_country: must be text, not 44'],
    ];
    for (const [config, line] of cases) {
      const refused = { code: 1, stdout: '', stderr: `Invalid tenant config: ${line}\n` };
      expect(await mcb('tenant', 'update', kept, '--config', JSON.stringify(config)), JSON.stringify(config)).toEqual(refused);
      expect(await mcb('tenant', 'add', `${slug}-kinds2`, '--name', 'X', '--config', JSON.stringify(config))).toEqual(refused);
    }
    // The shorthand's refusal is unchanged, and so is an unknown field's.
    expect((await mcb('tenant', 'update', kept, '--currency', '')).stderr).toBe(
      'Invalid tenant config: currency: must be an ISO 4217 currency code, e.g. usd, eur, gbp or jpy\n',
    );
    expect((await mcb('tenant', 'update', kept, '--config', '{"curency":"gbp"}')).stderr).toBe(
      'Invalid tenant config: unknown field curency\n',
    );
    expect((await mcb('tenant', 'show', `${slug}-kinds2`)).code).toBe(1);
    expect((await loader.getTenantContext(kept)).config).toMatchObject({ currency: 'eur', deposit_amount_cents: 10000 });
  });

  it('tenant add/update --currency set the reporting currency (stored lowercase); a bad code is one line, nothing stored', async () => {
    const gbp = `${slug}-gbp`;
    expect(await mcb('tenant', 'add', gbp, '--name', 'Pounds', '--currency', 'GBP')).toMatchObject({ code: 0, stderr: '' });
    expect((await loader.getTenantContext(gbp)).config.currency).toBe('gbp');
    const [stored] = await admin.sql<{ currency: string }[]>`select config->>'currency' as currency from tenants where slug = ${gbp}`;
    expect(stored?.currency).toBe('gbp');
    expect((await mcb('tenant', 'show', gbp)).stdout).toContain('"currency":"gbp"');
    expect((await mcb('tenant', 'show', slug)).stdout).toContain('"currency":"usd"');

    const refused = {
      code: 1,
      stdout: '',
      stderr: 'Invalid tenant config: currency: must be an ISO 4217 currency code, e.g. usd, eur, gbp or jpy\n',
    };
    expect(await mcb('tenant', 'update', gbp, '--currency', 'pounds')).toEqual(refused);
    expect(await mcb('tenant', 'add', `${slug}-xyz`, '--name', 'X', '--currency', 'XYZ')).toEqual(refused);
    // An empty value was dropped: the tenant quietly stayed in usd (new-operator pass, stop 29).
    expect(await mcb('tenant', 'update', gbp, '--currency', '')).toEqual(refused);
    expect(await mcb('tenant', 'add', `${slug}-xyz`, '--name', 'X', '--currency', '')).toEqual(refused);
    expect((await mcb('tenant', 'show', `${slug}-xyz`)).stderr).toBe(`Unknown tenant: ${slug}-xyz; see mcb tenant list\n`);
    expect((await loader.getTenantContext(gbp)).config.currency).toBe('gbp');

    expect(await mcb('tenant', 'update', gbp, '--currency', 'JPY')).toMatchObject({ code: 0 });
    expect((await loader.getTenantContext(gbp)).config.currency).toBe('jpy');
  });

  it('tenant add/update --phone-country set the country national phones are read in (stored upper case); a bad code is one line, nothing stored', async () => {
    const gb = `${slug}-gb`;
    expect(await mcb('tenant', 'add', gb, '--name', 'Bright Smile', '--phone-country', 'gb')).toMatchObject({ code: 0, stderr: '' });
    const [stored] = await admin.sql<{ country: string }[]>`select config->>'phone_country' as country from tenants where slug = ${gb}`;
    expect(stored?.country).toBe('GB');
    expect((await loader.getTenantContext(gb)).config.phone_country).toBe('GB');
    expect((await mcb('tenant', 'show', gb)).stdout).toContain('"phone_country":"GB"');
    // None by default, and `tenant show` names the field.
    expect((await mcb('tenant', 'show', slug)).stdout).toContain('"phone_country":null');
    expect(await mcb('tenant', 'update', gb, '--phone-country', 'GB')).toMatchObject({
      stdout: `Nothing changed: tenant ${gb} already has those values.\n`,
    });

    const refused = {
      code: 1,
      stdout: '',
      stderr:
        'Invalid tenant config: phone_country: must be an ISO 3166-1 alpha-2 country code, e.g. GB (the United Kingdom), US, DE or JP\n',
    };
    for (const code of ['UK', 'GBR', '44', '']) {
      expect(await mcb('tenant', 'update', gb, '--phone-country', code), code).toEqual(refused);
      expect(await mcb('tenant', 'add', `${slug}-uk`, '--name', 'X', '--phone-country', code), code).toEqual(refused);
    }
    expect((await mcb('tenant', 'show', `${slug}-uk`)).stderr).toBe(`Unknown tenant: ${slug}-uk; see mcb tenant list\n`);
    expect((await loader.getTenantContext(gb)).config.phone_country).toBe('GB');

    expect(await mcb('tenant', 'update', gb, '--phone-country', 'ie')).toMatchObject({ code: 0, stdout: `Updated tenant ${gb}.\n` });
    expect((await loader.getTenantContext(gb)).config.phone_country).toBe('IE');
    // Unset: back to no country.
    expect(await mcb('tenant', 'update', gb, '--config', '{"phone_country":null}')).toMatchObject({ code: 0 });
    expect((await loader.getTenantContext(gb)).config.phone_country).toBeNull();
    expect((await mcb('tenant', 'add', '--help')).stdout.replace(/\s+/g, ' ')).toContain('--phone-country <code>');
  });

  it('tenant add/update refuse a report cron that does not parse, with one line, and store nothing (issue 16)', async () => {
    for (const schedule of ['61 99 * * *', 'every-monday']) {
      const added = await mcb('tenant', 'add', `${slug}-cron`, '--name', 'X', '--config', JSON.stringify({ report: { schedule } }));
      expect(added.code).toBe(1);
      expect(added.stderr.startsWith(`Invalid tenant config: report.schedule: "${schedule}" is not a`)).toBe(true);
      expect(added.stderr.trim()).not.toContain('\n');
      const updated = await mcb('tenant', 'update', slug, '--config', JSON.stringify({ report: { schedule } }));
      expect(updated).toMatchObject({ code: 1, stdout: '' });
      expect(updated.stderr).toMatch(/^Invalid tenant config: report\.schedule: /);
    }
    expect((await mcb('tenant', 'show', `${slug}-cron`)).stderr).toBe(`Unknown tenant: ${slug}-cron; see mcb tenant list\n`);
    const good = await mcb('tenant', 'update', slug, '--config', JSON.stringify({ report: { schedule: '30 7 * * 1' } }));
    expect(good).toMatchObject({ code: 0 });
    expect((await mcb('tenant', 'show', slug)).stdout).toContain('"schedule":"30 7 * * 1"');
  });

  it('tenant add/update refuse a GHL location bound to another tenant, with the integration-set message, and store nothing', async () => {
    const location = `LOC_${slug}`;
    const owner = `${slug}-ghl`;
    expect((await mcb('tenant', 'add', owner, '--name', 'Owner')).code).toBe(0);
    expect((await mcb('integration', 'set', owner, 'ghl', '--webhook-secret', 'ghl-owner-secret', '--location-id', location)).code).toBe(0);
    const config = JSON.stringify({ ghl: { location_ids: [location] } });
    const message = `GHL location ${location} is already bound to tenant ${owner}; to move it, first take it out of that tenant's list: mcb tenant update ${owner} --config '{"ghl":{"location_ids":[<its other ids>]}}'\n`;
    expect(await mcb('tenant', 'update', slug, '--config', config)).toMatchObject({ code: 1, stdout: '', stderr: message });
    expect(await mcb('tenant', 'add', `${slug}-evil2`, '--name', 'Evil 2', '--config', config)).toMatchObject({ code: 1, stderr: message });
    expect((await mcb('tenant', 'show', `${slug}-evil2`)).stderr).toBe(`Unknown tenant: ${slug}-evil2; see mcb tenant list\n`);
    expect((await loader.getTenantContext(slug)).config.ghl.location_ids).toEqual([]);
    // The owner may write its own location again.
    expect((await mcb('tenant', 'update', owner, '--config', config)).code).toBe(0);
    // What the message says moves it: out of the owner's list, then into the other tenant's.
    expect((await mcb('tenant', 'update', owner, '--config', '{"ghl":{"location_ids":[]}}')).code).toBe(0);
    expect((await mcb('tenant', 'update', slug, '--config', config)).code).toBe(0);
    expect((await loader.getTenantContext(slug)).config.ghl.location_ids).toEqual([location]);
  });

  it('deactivate makes the tenant unknown to the context loader; activate brings it back', async () => {
    expect((await mcb('tenant', 'deactivate', slug)).stdout).toBe(`Tenant ${slug} is now inactive.\n`);
    // Walk of the README, stop 34: a second deactivate said "is now inactive" again.
    expect((await mcb('tenant', 'deactivate', slug)).stdout).toBe(`Tenant ${slug} is already inactive.\n`);
    const err = await loader.getTenantContext(slug).catch((e: Error) => e);
    expect((err as Error).message).toBe(`Unknown tenant: ${slug}`);
    expect((await mcb('tenant', 'list')).stdout).toMatch(new RegExp(`${slug}\\s.*inactive\\s+manychat,stripe`));
    expect((await mcb('tenant', 'activate', slug)).code).toBe(0);
    expect((await mcb('tenant', 'activate', slug)).stdout).toBe(`Tenant ${slug} is already active.\n`);
    expect((await loader.getTenantContext(slug)).slug).toBe(slug);
  });

  it('integration remove deletes it; removing again says there is none (it said "Missing credentials")', async () => {
    expect((await mcb('integration', 'remove', slug, 'manychat')).code).toBe(0);
    expect((await mcb('integration', 'list', slug)).stdout).not.toContain('manychat');
    expect(await mcb('integration', 'remove', slug, 'manychat')).toMatchObject({
      code: 1,
      stderr: `No manychat integration for ${slug} (mcb integration list ${slug} shows them)\n`,
    });
  });

  it('keys rotate re-encrypts under the new key while the old one is still accepted', async () => {
    const newKey = generateKey();
    const keyring = parseKeyring(`${newKey},${key}`);
    process.env.MCB_ENCRYPTION_KEY = `${newKey},${key}`;
    try {
      const rotate = await mcb('keys', 'rotate', '--tenant', slug);
      expect(rotate.code).toBe(0);
      expect(rotate.stdout).toContain(`Re-encrypted 3 value(s) under key ${keyring.currentKid}. Values per key: ${keyring.currentKid}: 3.`);
      // The order that keeps intake up (prod walk, stop 32: rotating first stopped every receiver still on the old key).
      expect(rotate.stderr).toContain(`every receiver, worker and console must already run with it in MCB_ENCRYPTION_KEY`);
      expect((await mcb('keys', 'status', '--tenant', slug)).stdout).toContain(`${keyring.currentKid}: 3`);
    } finally {
      process.env.MCB_ENCRYPTION_KEY = key;
    }
    const newOnly = createTenantContextLoader({ admin, keyring: parseKeyring(newKey), listen: false });
    expect((await newOnly.getTenantContext(slug)).credentials.stripe?.webhookSecret).toBe('whsec_rotated456');
    await newOnly.close();
  });

  // Operator walk, stop 33: after `keys rotate --tenant`, it said "Old keys can now be removed" while other
  // tenants' values were still under the old key (removing it stopped their intake); a misspelt --tenant
  // re-sealed nothing and said the same.
  it('keys rotate --tenant keeps the old key while another tenant needs it; an unknown tenant is refused; status names values it cannot open', async () => {
    const [mine, other] = [`${slug}-mine`, `${slug}-other`];
    for (const tenant of [mine, other]) {
      expect(await mcb('tenant', 'add', tenant, '--name', `Co ${tenant}`)).toMatchObject({ code: 0 });
      expect(await mcb('integration', 'set', tenant, 'stripe', '--webhook-secret', 'whsec_other1')).toMatchObject({ code: 0 });
    }
    const oldKid = parseKeyring(key).currentKid;
    const newKey = generateKey();
    process.env.MCB_ENCRYPTION_KEY = `${newKey},${key}`;
    try {
      const rotate = await mcb('keys', 'rotate', '--tenant', mine);
      expect(rotate).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Re-encrypted [1-9]\d* value\(s\)/) });
      expect(rotate.stdout).not.toContain('can now be removed');
      expect(rotate.stdout).toMatch(new RegExp(`Other tenants still have \\d+ value\\(s\\) under [0-9a-f, ]*${oldKid}`));
      for (const command of ['rotate', 'status']) {
        expect(await mcb('keys', command, '--tenant', 'no-such-tenant')).toMatchObject({
          code: 1,
          stdout: '',
          stderr: expect.stringMatching(/^[^\n]*No tenant "no-such-tenant" \(mcb tenant list shows them\)\n$/),
        });
      }
      // A keyring without the key the other tenant's secret is under: said, not just counted.
      process.env.MCB_ENCRYPTION_KEY = newKey;
      const status = await mcb('keys', 'status', '--tenant', other);
      const held = Number(new RegExp(`${oldKid}: (\\d+)`).exec(status.stdout)?.[1]);
      expect(held).toBeGreaterThan(0);
      expect(status.stderr).toContain(`${held} value(s) under ${oldKid}, a key this MCB_ENCRYPTION_KEY does not hold`);
    } finally {
      process.env.MCB_ENCRYPTION_KEY = key;
    }
  });

  it('every command has --help', async () => {
    for (const argv of [
      ['tenant', 'add'],
      ['tenant', 'list'],
      ['tenant', 'show'],
      ['tenant', 'activate'],
      ['tenant', 'deactivate'],
      ['tenant', 'update'],
      ['integration', 'set'],
      ['integration', 'rotate-secret'],
      ['integration', 'list'],
      ['integration', 'remove'],
      ['urls'],
      ['keys', 'rotate'],
      ['keys', 'status'],
      ['keys', 'generate'],
      ['seed', 'demo'],
    ]) {
      const help = await mcb(...argv, '--help');
      expect(help.code, argv.join(' ')).toBe(0);
      expect(help.stdout).toContain(`Usage: mcb ${argv.join(' ')}`);
    }
    // Where the config fields are listed: a command, not a SPEC the repository does not hold.
    expect((await mcb('tenant', 'add', '--help')).stdout.replace(/\s+/g, ' ')).toContain("the config line of 'mcb tenant show <slug>'");
    // Every provider an integration can be set for is named (meta_capi was missing).
    expect((await mcb('integration', 'set', '--help')).stdout.replace(/\s+/g, ' ')).toContain(
      '(manychat|ghl|stripe|denefits|perspective|meta|resend|meta_capi)',
    );
  });

  it('as a child process: one line on stderr and exit status 1', () => {
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', main, 'tenant', 'show', 'nope-child'], {
      env: { ...process.env, DATABASE_URL: databaseUrl, MCB_ENCRYPTION_KEY: key },
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 1, stderr: 'Unknown tenant: nope-child; see mcb tenant list\n' });
  });

  it('as a child process whose reader has gone (mcb … | head): stops quietly with status 0, no EPIPE stack trace', async () => {
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'tenant', 'list'], {
      env: { ...process.env, DATABASE_URL: databaseUrl, MCB_ENCRYPTION_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader leaves before the first line: every write the CLI makes meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Other test files share the database and may leave a GHL location shared for a moment: `tenant list`
    // then warns about it on stderr. Nothing else may be there.
    const unexpected = stderr.split('\n').filter((line) => line !== '' && !line.startsWith('warning: GHL location '));
    expect({ status, unexpected }).toEqual({ status: 0, unexpected: [] });
  }, 60_000);
});
