import { randomUUID } from 'node:crypto';
import { InvalidConfig, MissingCredentials, UnknownTenant } from '@mcb/core';
import { createDatabase, type Database } from '@mcb/db';
import { testEnv } from '@mcb/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { activeWebhookSecrets, createTenantContextLoader, type TenantContextLoaderHandle } from './context';
import { generateKey, parseKeyring } from './crypto';
import { rotateWebhookSecret, setIntegration } from './integrations';
import { encryptionKeyUsage, rotateKeys } from './keys';
import { addTenant, setGhlLocationIds, setTenantActive, sharedGhlLocations, updateTenant } from './tenants';

const { databaseUrl } = testEnv();
const oldKey = generateKey();
const newKey = generateKey();
const keyring = parseKeyring(oldKey);
const opened: Array<{ close(): Promise<void> }> = [];
const open = <T extends { close(): Promise<void> }>(x: T): T => {
  opened.push(x);
  return x;
};
afterAll(async () => {
  for (const x of opened.reverse()) await x.close();
});

/** Each loader gets its own admin pool (its own connections), like another process would. */
function newLoader(
  label: string,
  options: { listen?: boolean; ttlMs?: number; keys?: string; maxMisses?: number } = {},
): TenantContextLoaderHandle {
  const admin = open(createDatabase({ url: databaseUrl, role: 'admin', max: 2, applicationName: `${label}-${randomUUID().slice(0, 8)}` }));
  return open(createTenantContextLoader({ admin, keyring: parseKeyring(options.keys ?? oldKey), ...options }));
}

const admin = open(createDatabase({ url: databaseUrl, role: 'admin', max: 2 }));
const uniqueSlug = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function makeTenant(db: Database = admin, over: { isActive?: boolean } = {}) {
  const t = await addTenant(db, { slug: uniqueSlug('ctx'), name: 'Ctx Clinic', ownerName: 'Jane', timezone: 'America/New_York', ...over });
  await setIntegration(db, keyring, {
    slug: t.slug,
    provider: 'stripe',
    webhookSecret: 'whsec_ctx_current',
    credentials: { secret_key: 'sk_test_ctx' },
  });
  await setIntegration(db, keyring, { slug: t.slug, provider: 'manychat', webhookSecret: true, credentials: { api_key: 'mc_ctx' } });
  return t;
}

/** Polls until `check` passes; returns the milliseconds it took (fails after `limitMs`). */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < limitMs) {
    if (await check()) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`not within ${limitMs} ms`);
}

const isUnknown = (p: Promise<unknown>) =>
  p.then(
    () => false,
    (err) => err instanceof UnknownTenant,
  );

describe('createTenantContextLoader', () => {
  it('loads an active tenant with decrypted secrets and config defaults, by slug and by id', async () => {
    const t = await makeTenant();
    const loader = newLoader('load');
    const ctx = await loader.getTenantContext(t.slug);
    expect(ctx).toMatchObject({ id: t.id, slug: t.slug, name: 'Ctx Clinic', ownerName: 'Jane', reportEmail: null });
    expect(ctx.config.timezone).toBe('America/New_York');
    expect(ctx.config.meta).toEqual({ sync_every: '6h', lookback_days: 28 });
    expect(ctx.credentials.stripe).toMatchObject({ webhookSecret: 'whsec_ctx_current', credentials: { secret_key: 'sk_test_ctx' } });
    expect(ctx.credentials.manychat?.webhookSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await loader.getTenantContextById(t.id)).slug).toBe(t.slug);
  });

  it('leaves out inactive integrations, and requireIntegration names the missing one', async () => {
    const t = await makeTenant();
    await admin.sql`update tenant_integrations set is_active = false where tenant_id = ${t.id} and provider = 'manychat'`;
    const loader = newLoader('inactive-int');
    const ctx = await loader.getTenantContext(t.slug);
    expect(Object.keys(ctx.credentials)).toEqual(['stripe']);
    expect(() => loader.requireIntegration(ctx, 'manychat')).toThrow(MissingCredentials);
    expect(() => loader.requireIntegration(ctx, 'manychat')).toThrow(new RegExp(`^Missing credentials: manychat for tenant ${t.slug}$`));
  });

  it('answers exactly "Unknown tenant: x" for unknown, inactive and malformed slugs and ids', async () => {
    const loader = newLoader('unknown');
    const pending = await makeTenant(admin, { isActive: false });
    for (const [call, key] of [
      [() => loader.getTenantContext('no-such-tenant'), 'no-such-tenant'],
      [() => loader.getTenantContext(pending.slug), pending.slug],
      [() => loader.getTenantContext('../Bad Slug'), '../Bad Slug'],
      [() => loader.getTenantContextById(pending.id), pending.id],
      [() => loader.getTenantContextById('not-a-uuid'), 'not-a-uuid'],
    ] as const) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnknownTenant);
      expect((err as Error).message).toBe(`Unknown tenant: ${key}`);
    }
  });

  it('shares one load between concurrent misses and serves hits from the cache', async () => {
    const t = await makeTenant();
    const loader = newLoader('share');
    await loader.ready();
    const [a, b, c] = await Promise.all([
      loader.getTenantContext(t.slug),
      loader.getTenantContext(t.slug),
      loader.getTenantContext(t.slug),
    ]);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(await loader.getTenantContext(t.slug)).toBe(a);
    loader.invalidate(t.slug);
    expect(await loader.getTenantContext(t.slug)).not.toBe(a);
  });

  it("sees another process's deactivation and secret rotation within 1 s (LISTEN/NOTIFY)", async () => {
    const t = await makeTenant();
    const writerAdmin = open(createDatabase({ url: databaseUrl, role: 'admin', max: 1, applicationName: 'writer' }));
    const reader = newLoader('reader', { ttlMs: 60_000 });
    await reader.ready();
    expect(reader.isListening()).toBe(true);
    await reader.getTenantContext(t.slug);

    await rotateWebhookSecret(writerAdmin, keyring, {
      slug: t.slug,
      provider: 'stripe',
      newSecret: 'whsec_ctx_rotated',
      overlapMs: 3_600_000,
    });
    const rotateMs = await within(
      1_000,
      async () => (await reader.getTenantContext(t.slug)).credentials.stripe?.webhookSecret === 'whsec_ctx_rotated',
    );

    await setTenantActive(writerAdmin, t.slug, false);
    const deactivateMs = await within(1_000, () => isUnknown(reader.getTenantContext(t.slug)));

    await setTenantActive(writerAdmin, t.slug, true);
    const activateMs = await within(1_000, async () => !(await isUnknown(reader.getTenantContext(t.slug))));
    process.stdout.write(
      `[tenancy] cross-loader invalidation: rotate ${rotateMs.toFixed(0)} ms, deactivate ${deactivateMs.toFixed(0)} ms, activate ${activateMs.toFixed(0)} ms\n`,
    );
  });

  it('sees a GHL location become shared, and unshared, when ANOTHER tenant changes (its own context is reloaded too)', async () => {
    const location = `loc_ctx_${randomUUID().slice(0, 8)}`;
    const a = await makeTenant();
    const b = await makeTenant();
    await setGhlLocationIds(admin, a.slug, [location]);
    // B names it too, as rows written before the one-tenant rule can; B is inactive for now.
    await admin.sql`update tenants set is_active = false, config = ${admin.sql.json({ ghl: { location_ids: [location] } })} where id = ${b.id}`;
    const reader = newLoader('shared', { ttlMs: 60_000 });
    await reader.ready();
    expect((await reader.getTenantContext(a.slug)).ghlSharedLocationIds).toEqual([]);
    // B comes back: A's cached context (not B's) must now refuse the location.
    await setTenantActive(admin, b.slug, true);
    await within(1_000, async () => (await reader.getTenantContext(a.slug)).ghlSharedLocationIds.includes(location));
    // B lets go: A accepts it again.
    await updateTenant(admin, b.slug, { config: { ghl: { location_ids: [] } } });
    await within(1_000, async () => (await reader.getTenantContext(a.slug)).ghlSharedLocationIds.length === 0);
    // A tenant naming one location twice is one holder, not two.
    await admin.sql`update tenants set config = ${admin.sql.json({ ghl: { location_ids: [location, location] } })} where id = ${b.id}`;
    const shared = (await sharedGhlLocations(admin)).find((x) => x.locationId === location);
    expect(shared?.tenants.map((t) => t.slug).sort()).toEqual([a.slug, b.slug].sort());
    await updateTenant(admin, b.slug, { config: { ghl: { location_ids: [] } } });
  });

  it('re-listens after its LISTEN connection is killed, and drops what it cached meanwhile', async () => {
    const t = await makeTenant();
    const label = `relisten-${randomUUID().slice(0, 8)}`;
    const readerAdmin = open(createDatabase({ url: databaseUrl, role: 'admin', max: 2, applicationName: label }));
    const reader = open(createTenantContextLoader({ admin: readerAdmin, keyring, ttlMs: 60_000 }));
    await reader.ready();
    await reader.getTenantContext(t.slug);
    // The connecting (owner) user: mcb_admin may not see or end other sessions.
    const owner = open(createDatabase({ url: databaseUrl, role: 'owner', max: 1 }));
    const killed = await owner.sql`
      select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${label} and query ilike 'listen%'`;
    expect(killed.length).toBe(1);
    await within(2_000, async () => {
      const rows = await owner.sql`select 1 from pg_stat_activity where application_name = ${label} and query ilike 'listen%'`;
      return rows.length === 1;
    });
    await updateTenant(admin, t.slug, { name: 'Renamed Clinic' });
    await within(1_000, async () => (await reader.getTenantContext(t.slug)).name === 'Renamed Clinic');
  });

  it('its heartbeat round trip keeps confirming LISTEN (cache kept, not dropped each beat)', async () => {
    const t = await makeTenant();
    const admin2 = open(createDatabase({ url: databaseUrl, role: 'admin', max: 2, applicationName: 'heartbeat' }));
    const loader = open(createTenantContextLoader({ admin: admin2, keyring, heartbeatMs: 50 }));
    await loader.ready();
    const first = await loader.getTenantContext(t.slug);
    await new Promise((r) => setTimeout(r, 400));
    expect(loader.isListening()).toBe(true);
    expect(await loader.getTenantContext(t.slug)).toBe(first);
  });

  it('keeps its cache bounded under a flood of unknown slugs, and keeps serving a cached tenant', async () => {
    const t = await makeTenant();
    const loader = newLoader('flood', { maxMisses: 100 });
    await loader.ready();
    const first = await loader.getTenantContext(t.slug);
    for (let i = 0; i < 1_000; i++) expect(await isUnknown(loader.getTenantContext(uniqueSlug('x')))).toBe(true);
    expect(loader.cachedEntries).toBeLessThanOrEqual(100 + 1);
    expect(await loader.getTenantContext(t.slug)).toBe(first);
  });

  it('without LISTEN keeps entries at most 1 s', async () => {
    const t = await makeTenant();
    const loader = newLoader('nolisten', { listen: false, ttlMs: 60_000 });
    const loadedAt = performance.now();
    await loader.getTenantContext(t.slug);
    await setTenantActive(admin, t.slug, false);
    // The promise is about the entry's age when a call is made, so the check is when the last call that
    // still got the cached (active) tenant started: time a loaded machine takes after a call (the query,
    // the poll's timer) no longer counts against it. Entries that lived on fail both ways.
    let lastHitAt = loadedAt;
    await within(5_000, async () => {
      const calledAt = performance.now();
      if (await isUnknown(loader.getTenantContext(t.slug))) return true;
      lastHitAt = calledAt;
      return false;
    });
    expect(lastHitAt - loadedAt).toBeLessThan(1_000 + 50);
  });
});

describe('secret rotation with overlap', () => {
  it('keeps both secrets valid until the overlap ends, then only the new one', async () => {
    const t = await makeTenant();
    const rotatedAt = new Date();
    const result = await rotateWebhookSecret(admin, keyring, {
      slug: t.slug,
      provider: 'manychat',
      overlapMs: 24 * 3_600_000,
      now: rotatedAt,
    });
    expect(result.generatedSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const loader = newLoader('rotation');
    const secrets = loader.requireIntegration(await loader.getTenantContext(t.slug), 'manychat');
    const before = secrets.previousWebhookSecret as string;
    expect(before).toBeTruthy();
    expect(activeWebhookSecrets(secrets, new Date(rotatedAt.getTime() + 23 * 3_600_000))).toEqual([result.generatedSecret, before]);
    expect(activeWebhookSecrets(secrets, new Date(rotatedAt.getTime() + 24 * 3_600_000 + 1))).toEqual([result.generatedSecret]);
  });

  it("a second rotation while the first one's previous secret is still accepted is refused (it would end that one early), unless revokePrevious", async () => {
    // An operator's review (stop 38): the second rotation silently cut off the secret the first had
    // promised to accept for a day; ManyChat does not retry, so its events were lost.
    const t = await makeTenant();
    const first = new Date();
    await rotateWebhookSecret(admin, keyring, { slug: t.slug, provider: 'manychat', overlapMs: 24 * 3_600_000, now: first });
    const loader = newLoader('rotation-twice');
    const kept = loader.requireIntegration(await loader.getTenantContext(t.slug), 'manychat').previousWebhookSecret as string;
    const minuteLater = new Date(first.getTime() + 60_000);
    await expect(
      rotateWebhookSecret(admin, keyring, { slug: t.slug, provider: 'manychat', overlapMs: 7 * 24 * 3_600_000, now: minuteLater }),
    ).rejects.toThrow(/still accepted until .*--revoke-previous/);
    // Nothing changed: the kept secret is still the previous one.
    const again = newLoader('rotation-twice-2');
    expect(again.requireIntegration(await again.getTenantContext(t.slug), 'manychat').previousWebhookSecret).toBe(kept);
    // Rotating to the secret already current changes nothing (it would block the next real rotation).
    const current = again.requireIntegration(await again.getTenantContext(t.slug), 'manychat').webhookSecret as string;
    await expect(
      rotateWebhookSecret(admin, keyring, {
        slug: t.slug,
        provider: 'manychat',
        newSecret: current,
        overlapMs: 3_600_000,
        revokePrevious: true,
      }),
    ).rejects.toThrow(`That is already the current manychat webhook secret of ${t.slug}: nothing rotated`);
    // Once its overlap is over, or when asked to, the rotation goes through.
    const dayLater = new Date(first.getTime() + 24 * 3_600_000 + 1);
    await expect(
      rotateWebhookSecret(admin, keyring, { slug: t.slug, provider: 'manychat', overlapMs: 3_600_000, now: dayLater }),
    ).resolves.toMatchObject({ provider: 'manychat' });
    await expect(
      rotateWebhookSecret(admin, keyring, {
        slug: t.slug,
        provider: 'manychat',
        overlapMs: 3_600_000,
        now: dayLater,
        revokePrevious: true,
      }),
    ).resolves.toMatchObject({ provider: 'manychat' });
  });

  it('setIntegration with existingSecret refuse keeps a stored secret (naming rotate-secret); the same secret again or replace goes through', async () => {
    const t = await makeTenant();
    await setIntegration(admin, keyring, { slug: t.slug, provider: 'perspective', webhookSecret: 'persp-secret-one-0123456789' });
    await expect(
      setIntegration(admin, keyring, { slug: t.slug, provider: 'perspective', webhookSecret: true, existingSecret: 'refuse' }),
    ).rejects.toThrow(/already has a webhook secret.*rotate-secret .*--replace-secret/);
    await expect(
      setIntegration(admin, keyring, {
        slug: t.slug,
        provider: 'perspective',
        webhookSecret: 'persp-secret-one-0123456789',
        existingSecret: 'refuse',
      }),
    ).resolves.toMatchObject({ created: false });
    const loader = newLoader('set-refuse');
    expect(loader.requireIntegration(await loader.getTenantContext(t.slug), 'perspective').webhookSecret).toBe(
      'persp-secret-one-0123456789',
    );
    const replaced = await setIntegration(admin, keyring, {
      slug: t.slug,
      provider: 'perspective',
      webhookSecret: true,
      existingSecret: 'replace',
    });
    expect(replaced.generatedSecret).toBeTruthy();
    // A new integration has no secret to keep: refuse does not apply.
    await expect(
      setIntegration(admin, keyring, { slug: t.slug, provider: 'denefits', webhookSecret: true, existingSecret: 'refuse' }),
    ).resolves.toMatchObject({ created: true });
  });

  it("setIntegration given the current secret again keeps a rotation's overlap (the previous secret stays accepted)", async () => {
    // Review of stop 38: re-passing the current secret (a script re-applying its config, credentials added)
    // ended the overlap the rotation had promised.
    const t = await makeTenant();
    await setIntegration(admin, keyring, { slug: t.slug, provider: 'perspective', webhookSecret: 'persp-old-secret-0123456789' });
    const rotated = await rotateWebhookSecret(admin, keyring, {
      slug: t.slug,
      provider: 'perspective',
      overlapMs: 24 * 3_600_000,
      newSecret: 'persp-new-secret-0123456789',
    });
    for (const existingSecret of ['refuse', 'replace'] as const)
      await setIntegration(admin, keyring, {
        slug: t.slug,
        provider: 'perspective',
        webhookSecret: 'persp-new-secret-0123456789',
        credentials: { note: 'added later' },
        existingSecret,
      });
    const loader = newLoader('same-secret');
    const secrets = loader.requireIntegration(await loader.getTenantContext(t.slug), 'perspective');
    expect(secrets.previousWebhookSecret).toBe('persp-old-secret-0123456789');
    expect(secrets.previousSecretExpiresAt?.getTime()).toBe(rotated.previousExpiresAt?.getTime());
  });

  it('refuses to invent a Stripe secret and names the missing integration', async () => {
    const t = await makeTenant();
    await expect(rotateWebhookSecret(admin, keyring, { slug: t.slug, provider: 'stripe', overlapMs: 0 })).rejects.toThrow(
      /Stripe issues its own signing secret/,
    );
    await expect(rotateWebhookSecret(admin, keyring, { slug: t.slug, provider: 'meta', overlapMs: 0 })).rejects.toThrow(
      `Missing credentials: meta for tenant ${t.slug}`,
    );
    await expect(setIntegration(admin, keyring, { slug: t.slug, provider: 'paypal' })).rejects.toThrow(/^Unknown provider: paypal/);
  });
});

describe('tenant management', () => {
  it('refuses a bad config naming the field, and writes nothing', async () => {
    const slug = uniqueSlug('badcfg');
    const err = await addTenant(admin, { slug, name: 'Bad', config: { report: { recipients: ['not-an-email'] } } }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidConfig);
    expect(err.message).toMatch(/^Invalid tenant config: report\.recipients\.0: /);
    expect(await admin.sql`select 1 from tenants where slug = ${slug}`).toHaveLength(0);
    const t = await makeTenant();
    await expect(updateTenant(admin, t.slug, { config: { deposit_amount_cents: -5 } })).rejects.toThrow(/deposit_amount_cents/);
  });

  it('is an admin path: the app role is refused outright', async () => {
    const app = open(createDatabase({ url: databaseUrl, role: 'app', max: 1 }));
    await expect(addTenant(app, { slug: uniqueSlug('app'), name: 'x' })).rejects.toThrow(/admin database role/);
  });
});

describe('rotateKeys', () => {
  it('re-seals every value under the new key while the old one still opens them', async () => {
    const t = await makeTenant();
    await rotateWebhookSecret(admin, keyring, { slug: t.slug, provider: 'manychat', overlapMs: 3_600_000 });
    const both = parseKeyring(`${newKey},${oldKey}`);
    // Scoped to this tenant: other test files share the database with keys of their own.
    const scope = { slug: t.slug };
    expect(await encryptionKeyUsage(admin, scope)).toEqual({ [keyring.currentKid]: 5 });
    const first = await rotateKeys(admin, both, scope);
    expect(first).toMatchObject({ reencrypted: 5, failures: [], usage: { [both.currentKid]: 5 } });
    expect(Object.keys(first.usage)).toEqual([both.currentKid]);
    expect((await rotateKeys(admin, both, scope)).reencrypted).toBe(0);
    const unrelated = parseKeyring(generateKey());
    const refused = await rotateKeys(admin, unrelated, scope);
    expect(refused.reencrypted).toBe(0);
    expect(refused.failures.map((f) => f.provider).sort()).toEqual(['manychat', 'stripe']);

    const newOnly = newLoader('newkey', { keys: newKey });
    const ctx = await newOnly.getTenantContext(t.slug);
    expect(ctx.credentials.stripe?.credentials).toEqual({ secret_key: 'sk_test_ctx' });
    expect(ctx.credentials.manychat?.previousWebhookSecret).toBeTruthy();
    const oldOnly = newLoader('oldkey', { keys: oldKey });
    await expect(oldOnly.getTenantContext(t.slug)).rejects.toThrow(
      /Cannot decrypt .* This process's MCB_ENCRYPTION_KEY has no key with id \S+, which sealed this value: give every app the keyring/,
    );
  });
});
