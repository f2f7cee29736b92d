import { randomUUID } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { createTenantContextLoader, generateKey, parseKeyring } from '@mcb/tenancy';
import { testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

const runTag = randomUUID().slice(0, 8);
/** GHL location ids of this file: unique per run (a location can be bound to one tenant only, and test files share a database). */
const L = {
  loc_A: `loc_A_${runTag}`,
  loc_B: `loc_B_${runTag}`,
  loc_C: `loc_C_${runTag}`,
  loc_Y: `loc_Y_${runTag}`,
  loc_Z: `loc_Z_${runTag}`,
};

// `mcb integration set … ghl --location-id …` binds HighLevel-signed deliveries to the tenant
// (issue 13 item 1); `mcb urls` says which locations are accepted.

const { databaseUrl } = testEnv();
const key = generateKey();
const slug = `ghlloc-${randomUUID().slice(0, 8)}`;
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const loader = createTenantContextLoader({ admin, keyring: parseKeyring(key), ttlMs: 0, listen: false });
afterAll(async () => {
  await loader.close();
  await admin.close();
});

beforeAll(async () => {
  process.env.DATABASE_URL = databaseUrl;
  process.env.MCB_ENCRYPTION_KEY = key;
  process.env.PUBLIC_BASE_URL = 'https://hooks.example.com';
  const add = await mcb('tenant', 'add', slug, '--name', 'GHL Loc', '--config', '{"ghl":{"stage_map":{"Booked":"appointment_scheduled"}}}');
  expect(add.code).toBe(0);
});

describe('mcb integration set <slug> ghl --location-id', () => {
  it('without a location, says signed deliveries are refused and how to allow them', async () => {
    const run = await mcb('integration', 'set', slug, 'ghl', '--webhook-secret', 'ghl-shared-secret-1');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `No GHL location id set: HighLevel-signed deliveries are refused until you add one (mcb integration set ${slug} ghl --location-id <id>)`,
    );
    const urls = await mcb('urls', slug);
    expect(urls.stdout).toContain(`refused until a location is set: mcb integration set ${slug} ghl --location-id <locationId>`);
  });

  it('stores the location ids in config.ghl.location_ids, keeping the stage map, and urls names them', async () => {
    const run = await mcb('integration', 'set', slug, 'ghl', '--location-id', L.loc_A, L.loc_B, L.loc_A);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`GHL-signed deliveries are accepted for location(s): ${L.loc_A}, ${L.loc_B} (any other location: 401).`);
    const ctx = await loader.getTenantContext(slug);
    expect(ctx.config.ghl).toEqual({ stage_map: { Booked: 'appointment_scheduled' }, location_ids: [L.loc_A, L.loc_B] });
    // The secret set before is kept (no --webhook-secret this time).
    expect(ctx.credentials.ghl?.webhookSecret).toBe('ghl-shared-secret-1');
    const urls = await mcb('urls', slug);
    expect(urls.stdout).toContain(`accepted only for location ${L.loc_A}, ${L.loc_B}; any other location gets 401`);
    // Replacing the list drops the old ones.
    await mcb('integration', 'set', slug, 'ghl', '--location-id', L.loc_C);
    expect((await loader.getTenantContext(slug)).config.ghl.location_ids).toEqual([L.loc_C]);
  });

  it('refuses --location-id for another provider, and an empty id', async () => {
    const other = await mcb('integration', 'set', slug, 'manychat', '--location-id', L.loc_A);
    expect(other).toMatchObject({ code: 1, stderr: '--location-id applies to the ghl provider only\n' });
    const empty = await mcb('integration', 'set', slug, 'ghl', '--location-id', ' ');
    expect(empty).toMatchObject({ code: 1, stderr: 'Invalid location id: must not be empty\n' });
    expect((await loader.getTenantContext(slug)).config.ghl.location_ids).toEqual([L.loc_C]);
  });

  it('a location bound to one tenant cannot be bound to another', async () => {
    const other = `${slug}-b`;
    expect((await mcb('tenant', 'add', other, '--name', 'Other')).code).toBe(0);
    const run = await mcb('integration', 'set', other, 'ghl', '--webhook-secret', 'ghl-shared-secret-2', '--location-id', L.loc_Z, L.loc_C);
    expect(run).toMatchObject({
      code: 1,
      stderr: `GHL location ${L.loc_C} is already bound to tenant ${slug}; to move it, first take it out of that tenant's list: mcb tenant update ${slug} --config '{"ghl":{"location_ids":[<its other ids>]}}'\n`,
    });
    expect((await loader.getTenantContext(other)).config.ghl.location_ids).toEqual([]);
    // A refused command changes nothing: no integration (and no secret) was written either.
    expect((await loader.getTenantContext(other)).credentials.ghl).toBeUndefined();
    expect((await mcb('integration', 'set', other, 'ghl', '--location-id', L.loc_Z)).code).toBe(0);
  });

  it('binds the locations and writes the integration in one transaction: a failed integration write binds nothing', async () => {
    const other = `${slug}-c`;
    expect((await mcb('tenant', 'add', other, '--name', 'Other C')).code).toBe(0);
    const { id } = await loader.getTenantContext(other);
    // A fault in the integration write, for this tenant only (test files share the database).
    const owner = createDatabase({ url: databaseUrl, role: 'owner', max: 1 });
    const fn = `fail_integration_${runTag}`;
    await owner.sql.unsafe(`create function ${fn}() returns trigger language plpgsql as $$
      begin if new.tenant_id = '${id}' then raise exception 'integration write failed (test)'; end if; return new; end $$`);
    await owner.sql.unsafe(`create trigger ${fn} before insert or update on tenant_integrations for each row execute function ${fn}()`);
    try {
      const run = await mcb('integration', 'set', other, 'ghl', '--webhook-secret', 'ghl-shared-secret-3', '--location-id', L.loc_Y);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('integration write failed (test)');
      // Nothing of the command stayed: the location is not bound, so another tenant can still take it.
      expect((await loader.getTenantContext(other)).config.ghl.location_ids).toEqual([]);
    } finally {
      await owner.sql.unsafe(`drop trigger ${fn} on tenant_integrations; drop function ${fn}()`);
      await owner.close();
    }
    expect((await mcb('integration', 'set', other, 'ghl', '--webhook-secret', 'ghl-shared-secret-3', '--location-id', L.loc_Y)).code).toBe(
      0,
    );
    expect((await loader.getTenantContext(other)).config.ghl.location_ids).toEqual([L.loc_Y]);
  });

  it('tenant list warns about a location two tenants name (rows written before the rule), and stops once one lets go', async () => {
    const first = `${slug}-d`;
    const second = `${slug}-e`;
    expect((await mcb('tenant', 'add', first, '--name', 'First')).code).toBe(0);
    expect((await mcb('tenant', 'add', second, '--name', 'Second')).code).toBe(0);
    const legacy = `loc_legacy_${runTag}`;
    await admin.sql`update tenants set config = ${admin.sql.json({ ghl: { location_ids: [legacy] } })} where slug in (${first}, ${second})`;
    const warning = (names: string) =>
      `warning: GHL location ${legacy} is named by tenants ${names}: HighLevel-signed deliveries for it are refused at every active one until it is left to one tenant (mcb integration set <slug> ghl --location-id <that tenant's other ids>, or mcb tenant update <slug> --config)\n`;
    const listed = await mcb('tenant', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stderr).toContain(warning(`${first}, ${second}`));
    expect((await mcb('tenant', 'deactivate', second)).code).toBe(0);
    expect((await mcb('tenant', 'list')).stderr).toContain(
      `warning: GHL location ${legacy} is named by tenants ${first}, ${second} (inactive): were more than one of them active,`,
    );
    expect((await mcb('tenant', 'update', second, '--config', '{"ghl":{"location_ids":[]}}')).code).toBe(0);
    expect((await mcb('tenant', 'list')).stderr).not.toContain(legacy);
  });
});
