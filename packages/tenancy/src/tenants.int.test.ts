import { randomUUID } from 'node:crypto';
import { McbError } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { testEnv } from '@mcb/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTenantConfig } from './config';
import { generateKey, parseKeyring } from './crypto';
import { setIntegration } from './integrations';
import { addTenant, getTenantBySlug, setGhlLocationIds, updateTenant } from './tenants';

// A GHL location belongs to one tenant (SPEC §3.1: a HighLevel-signed delivery is accepted only when
// its locationId is one of the tenant's configured GHL locations). Every writer of
// `config.ghl.location_ids` — addTenant, updateTenant, setGhlLocationIds — refuses a location already
// bound to another tenant, with one message, and writes nothing.

const { databaseUrl } = testEnv();
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 4 });
afterAll(() => admin.close());

const runTag = randomUUID().slice(0, 8);
let n = 0;
/** A location id unique to this run (test files share a database, and a location binds one tenant). */
const loc = (name: string) => `loc_${name}_${runTag}_${++n}`;
const uniqueSlug = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
const boundTo = (slug: string, id: string) =>
  `GHL location ${id} is already bound to tenant ${slug}; to move it, first take it out of that tenant's list: mcb tenant update ${slug} --config '{"ghl":{"location_ids":[<its other ids>]}}'`;

async function ownerOf(id: string) {
  const slug = uniqueSlug('owner');
  await addTenant(admin, { slug, name: 'Owner Clinic', config: { ghl: { stage_map: { Booked: 'appointment_scheduled' } } } });
  await setGhlLocationIds(admin, slug, [id]);
  return slug;
}

async function refusal(p: Promise<unknown>): Promise<McbError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McbError);
  expect((err as McbError).code).toBe('bad_request');
  return err as McbError;
}

describe('one tenant per GHL location, on every config write', () => {
  it('updateTenant refuses a config naming a location bound to another tenant, and changes nothing', async () => {
    const taken = loc('taken');
    const owner = await ownerOf(taken);
    const evil = uniqueSlug('evil');
    await addTenant(admin, { slug: evil, name: 'Evil', timezone: 'America/New_York' });
    const before = await getTenantBySlug(admin, evil);

    const err = await refusal(
      updateTenant(admin, evil, { name: 'Renamed', timezone: 'Europe/Paris', config: { ghl: { location_ids: [loc('free'), taken] } } }),
    );
    expect(err.message).toBe(boundTo(owner, taken));
    const after = await getTenantBySlug(admin, evil);
    expect(after).toEqual(before);
    expect((await getTenantBySlug(admin, owner)).config.ghl).toEqual({
      stage_map: { Booked: 'appointment_scheduled' },
      location_ids: [taken],
    });
  });

  it('addTenant refuses a config naming a location bound to another tenant, and creates nothing', async () => {
    const taken = loc('taken');
    const owner = await ownerOf(taken);
    const evil = uniqueSlug('evil2');
    const err = await refusal(addTenant(admin, { slug: evil, name: 'Evil 2', config: { ghl: { location_ids: [taken] } } }));
    expect(err.message).toBe(boundTo(owner, taken));
    expect(await admin.sql`select 1 from tenants where slug = ${evil}`).toHaveLength(0);
    // Inactive (pending) tenants are held to the same rule: activating one must not open the door.
    await refusal(addTenant(admin, { slug: evil, name: 'Evil 2', isActive: false, config: { ghl: { location_ids: [taken] } } }));
    expect(await admin.sql`select 1 from tenants where slug = ${evil}`).toHaveLength(0);
  });

  it('a location bound to an inactive tenant is still taken', async () => {
    const taken = loc('pending');
    const pending = uniqueSlug('pending');
    await addTenant(admin, { slug: pending, name: 'Pending', isActive: false, config: { ghl: { location_ids: [taken] } } });
    const other = uniqueSlug('other');
    const err = await refusal(addTenant(admin, { slug: other, name: 'Other', config: { ghl: { location_ids: [taken] } } }));
    expect(err.message).toBe(boundTo(pending, taken));
  });

  it('ids written through a config are trimmed and deduplicated like setGhlLocationIds, so " L " cannot dodge the check', async () => {
    const taken = loc('spaced');
    const owner = await ownerOf(taken);
    const err = await refusal(
      addTenant(admin, { slug: uniqueSlug('spaced'), name: 'Spaced', config: { ghl: { location_ids: [` ${taken} `] } } }),
    );
    expect(err.message).toBe(boundTo(owner, taken));
    const free = loc('free');
    const t = await addTenant(admin, { slug: uniqueSlug('trim'), name: 'Trim', config: { ghl: { location_ids: [` ${free}`, free] } } });
    expect(t.config.ghl).toEqual({ location_ids: [free] });
    await expect(updateTenant(admin, t.slug, { config: { ghl: { location_ids: [' '] } } })).rejects.toThrow(
      'Invalid location id: must not be empty',
    );
  });

  it('still binds a free location, re-binds the tenant its own, and leaves location_ids alone on an unrelated update', async () => {
    const mine = loc('mine');
    const other = loc('other');
    await ownerOf(other);
    const slug = uniqueSlug('mine');
    const t = await addTenant(admin, { slug, name: 'Mine', config: { ghl: { location_ids: [mine] } } });
    expect(t.config.ghl).toEqual({ location_ids: [mine] });
    // The same location again, through every writer: it is this tenant's own.
    await updateTenant(admin, slug, { config: { ghl: { location_ids: [mine] } } });
    await setGhlLocationIds(admin, slug, [mine]);
    // Unrelated changes keep the list (config merges key by key).
    const renamed = await updateTenant(admin, slug, {
      name: 'Mine Renamed',
      timezone: 'America/Chicago',
      config: { ghl: { stage_map: { Held: 'appointment_held' } }, report: { recipients: ['a@example.com'] } },
    });
    expect(renamed.config).toMatchObject({
      timezone: 'America/Chicago',
      ghl: { stage_map: { Held: 'appointment_held' }, location_ids: [mine] },
    });
    expect(renamed.changed).toBe(true);
    // The same values again (the zone's default spelt out elsewhere too): nothing written, not even updated_at.
    const stamp = async () => (await admin.sql<{ u: Date }[]>`select updated_at as u from tenants where slug = ${slug}`)[0]?.u.getTime();
    const before = await stamp();
    const again = await updateTenant(admin, slug, { name: 'Mine Renamed', timezone: 'America/Chicago', config: { currency: 'USD' } });
    expect({ changed: again.changed, updatedAt: await stamp() }).toEqual({ changed: false, updatedAt: before });
    // Dropping a location frees it for another tenant.
    await updateTenant(admin, slug, { config: { ghl: { location_ids: [] } } });
    const next = uniqueSlug('next');
    expect((await addTenant(admin, { slug: next, name: 'Next', config: { ghl: { location_ids: [mine] } } })).config.ghl).toEqual({
      location_ids: [mine],
    });
  });

  it('an unrelated update still works for a tenant whose location is shared by a row written before the rule', async () => {
    // Rows written by the old updateTenant (no check) may already share a location; the tenants must stay editable,
    // and the one that should not hold it can give it up.
    const shared = loc('legacy');
    const victim = await ownerOf(shared);
    const intruder = uniqueSlug('intruder');
    await addTenant(admin, { slug: intruder, name: 'Intruder' });
    await admin.sql`update tenants set config = ${admin.sql.json({ ghl: { location_ids: [shared] } })} where slug = ${intruder}`;
    await updateTenant(admin, victim, { name: 'Victim Renamed' });
    await updateTenant(admin, intruder, { timezone: 'Europe/Paris' });
    // Writing the shared location again is refused, naming the other tenant.
    expect((await refusal(updateTenant(admin, victim, { config: { ghl: { location_ids: [shared] } } }))).message).toBe(
      boundTo(intruder, shared),
    );
    await updateTenant(admin, intruder, { config: { ghl: { location_ids: [] } } });
    await updateTenant(admin, victim, { config: { ghl: { location_ids: [shared] } } });
  });

  it('two concurrent binds of one location to two tenants leave exactly one bound', async () => {
    for (let round = 0; round < 5; round++) {
      const contested = loc('race');
      const a = uniqueSlug('race-a');
      const b = uniqueSlug('race-b');
      await addTenant(admin, { slug: a, name: 'Race A' });
      await addTenant(admin, { slug: b, name: 'Race B' });
      const c = uniqueSlug('race-c');
      const results = await Promise.allSettled([
        updateTenant(admin, a, { config: { ghl: { location_ids: [contested] } } }),
        setGhlLocationIds(admin, b, [contested]),
        addTenant(admin, { slug: c, name: 'Race C', config: { ghl: { location_ids: [contested] } } }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(String((r.reason as Error).message)).toMatch(/^GHL location \S+ is already bound to tenant /);
      }
      const holders = await admin.sql<{ slug: string }[]>`
        select slug from tenants where config->'ghl'->'location_ids' ? ${contested}`;
      expect(holders).toHaveLength(1);
    }
  });

  it("setIntegration with ghlLocationIds binds them in the integration's transaction: refused, it writes neither", async () => {
    const keyring = parseKeyring(generateKey());
    const taken = loc('taken');
    const owner = await ownerOf(taken);
    const other = uniqueSlug('other');
    await addTenant(admin, { slug: other, name: 'Other' });
    const free = loc('free');
    const err = await refusal(
      setIntegration(admin, keyring, { slug: other, provider: 'ghl', webhookSecret: 'ghl-secret-1', ghlLocationIds: [free, taken] }),
    );
    expect(err.message).toBe(boundTo(owner, taken));
    expect((await getTenantBySlug(admin, other)).config.ghl).toBeUndefined();
    const stored = await admin.sql`select 1 from tenant_integrations i join tenants t on t.id = i.tenant_id where t.slug = ${other}`;
    expect(stored).toHaveLength(0);

    const done = await setIntegration(admin, keyring, {
      slug: other,
      provider: 'ghl',
      webhookSecret: 'ghl-secret-1',
      ghlLocationIds: [free],
    });
    expect(done).toMatchObject({ provider: 'ghl', created: true });
    expect(done.tenant?.config.ghl).toEqual({ location_ids: [free] });
    const wrongProvider = await refusal(setIntegration(admin, keyring, { slug: other, provider: 'stripe', ghlLocationIds: [free] }));
    expect(wrongProvider.message).toBe('GHL location ids apply to the ghl provider only');
  });

  // A reviewer (stop 28): `setIntegration` refuses a GHL integration with neither a secret nor a
  // location, but a config update could still take the last location away afterwards.
  it('refuses to remove the last location of a tenant whose active GHL integration has no secret; allows it with a secret', async () => {
    const keyring = parseKeyring(generateKey());
    const slug = uniqueSlug('lastloc');
    const id = loc('last');
    await addTenant(admin, { slug, name: 'Last Location' });
    await setIntegration(admin, keyring, { slug, provider: 'ghl', ghlLocationIds: [id] });
    const message = `Refused: with no GHL location id left, ${slug}'s GHL integration (which has no webhook secret) could verify no delivery, and every one would get 401. Give it a secret first (mcb integration set ${slug} ghl --webhook-secret), keep a location id, or remove the integration if the tenant no longer uses GHL (mcb integration remove ${slug} ghl)`;
    expect((await refusal(updateTenant(admin, slug, { config: { ghl: { location_ids: [] } } }))).message).toBe(message);
    expect((await refusal(setGhlLocationIds(admin, slug, []))).message).toBe(message);
    expect((await getTenantBySlug(admin, slug)).config.ghl).toEqual({ location_ids: [id] });
    // Other changes go through; so does replacing the location with another.
    const other = loc('other');
    await updateTenant(admin, slug, { name: 'Renamed', config: { ghl: { location_ids: [other] } } });
    expect((await getTenantBySlug(admin, slug)).config.ghl).toEqual({ location_ids: [other] });
    // A tenant already without a location (stored before the rule) may still change anything else.
    await admin.sql`update tenants set config = jsonb_set(config, '{ghl,location_ids}', '[]') where slug = ${slug}`;
    await updateTenant(admin, slug, { name: 'Renamed again', config: { ghl: { location_ids: [] } } });
    await setGhlLocationIds(admin, slug, []);
    await updateTenant(admin, slug, { config: { ghl: { location_ids: [other] } } });
    // With a secret, unsigned workflow webhooks still verify: the last location may go.
    await setIntegration(admin, keyring, { slug, provider: 'ghl', webhookSecret: true });
    await updateTenant(admin, slug, { config: { ghl: { location_ids: [] } } });
    expect((await getTenantBySlug(admin, slug)).config.ghl).toEqual({ location_ids: [] });
  });

  // A reviewer (stop 28): a secret of spaces, or one with spaces around it, was stored, though the
  // receiver trims what senders present: no delivery could ever verify.
  it('refuses a webhook secret with whitespace around it, or too short', async () => {
    const keyring = parseKeyring(generateKey());
    const slug = uniqueSlug('spaces');
    await addTenant(admin, { slug, name: 'Spaces' });
    for (const secret of ['        ', ' s3cret-value ', 's3cret-value\n']) {
      const err = await refusal(setIntegration(admin, keyring, { slug, provider: 'manychat', webhookSecret: secret }));
      expect(err.message).toBe('Webhook secret must not start or end with whitespace');
    }
    expect((await refusal(setIntegration(admin, keyring, { slug, provider: 'manychat', webhookSecret: 'short' }))).message).toBe(
      'Webhook secret too short: use at least 8 characters',
    );
    expect(await admin.sql`select 1 from tenant_integrations i join tenants t on t.id = i.tenant_id where t.slug = ${slug}`).toHaveLength(
      0,
    );
    await setIntegration(admin, keyring, { slug, provider: 'manychat', webhookSecret: 's3cret-value' });
  });
});

// A new operator's first day: `--timezone europe/london` was stored as typed, and the report footer said
// "europe/london". The canonical IANA name is stored (and read, for a zone stored before).
describe('a tenant time zone is stored by its canonical IANA name', () => {
  it('add and update store Europe/London for europe/london; a zone stored as typed reads canonical', async () => {
    const slug = uniqueSlug('zone');
    const added = await addTenant(admin, { slug, name: 'Zone', timezone: 'america/new_york' });
    expect(added.config).toMatchObject({ timezone: 'America/New_York' });
    const updated = await updateTenant(admin, slug, { timezone: 'europe/london' });
    expect(updated.config).toMatchObject({ timezone: 'Europe/London' });
    const viaConfig = await updateTenant(admin, slug, { config: { timezone: 'US/Eastern' } });
    expect(viaConfig.config).toMatchObject({ timezone: 'America/New_York' });
    const [row] = await admin.sql<{ tz: string }[]>`select config->>'timezone' as tz from tenants where slug = ${slug}`;
    expect(row?.tz).toBe('America/New_York');
    // Stored before this rule: read as the canonical name.
    await admin.sql`update tenants set config = jsonb_set(config, '{timezone}', '"europe/london"') where slug = ${slug}`;
    expect(parseTenantConfig((await getTenantBySlug(admin, slug)).config).timezone).toBe('Europe/London');
  });
});

// Red team, stop 37: the name is the weekly report's subject; a line break in it was a header of its own.
describe('tenant names are one line', () => {
  it('add and update refuse a name with a line break or another control character, and write nothing', async () => {
    const slug = uniqueSlug('name');
    for (const name of ['Acme\r\nBcc: x@example.com', 'Acme\u0007', 'Acme\u2028Co'])
      expect((await refusal(addTenant(admin, { slug, name }))).message).toBe(
        'Invalid name: it must be one line, without control characters',
      );
    await addTenant(admin, { slug, name: 'Acme Co' });
    expect((await refusal(updateTenant(admin, slug, { name: 'Acme\nCo' }))).message).toBe(
      'Invalid name: it must be one line, without control characters',
    );
    expect((await getTenantBySlug(admin, slug)).name).toBe('Acme Co');
  });
});
