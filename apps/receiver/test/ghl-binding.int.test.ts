import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { parseGhlPublicKeys } from '@mcb/sources';
import { setGhlLocationIds, setTenantActive, sharedGhlLocations } from '@mcb/tenancy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, logsOf, makeReceiver, makeTenant } from './harness';

const runTag = randomUUID().slice(0, 8);
/** GHL location ids of this file: unique per run (a location can be bound to one tenant only, and test files share a database). */
const L = {
  loc_alpha: `loc_alpha_${runTag}`,
  loc_bravo_2: `loc_bravo_2_${runTag}`,
  loc_bravo: `loc_bravo_${runTag}`,
  loc_fresh: `loc_fresh_${runTag}`,
  loc_moved: `loc_moved_${runTag}`,
  loc_legacy: `loc_legacy_${runTag}`,
  loc_legacy_own: `loc_legacy_own_${runTag}`,
};

// Issue 13 item 1: HighLevel signs every location of every agency with one key, so a valid
// signature alone must not let a delivery into any tenant. Real Ed25519 / RSA key pairs, real
// Postgres and Redis; the receiver's clock is injected.

const h: Harness = createHarness('ghlbind');
afterAll(() => h.close());

const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: { export: (o: { type: 'spki'; format: 'pem' }) => string | Buffer }) => String(k.export({ type: 'spki', format: 'pem' }));
const ghlPublicKeys = parseGhlPublicKeys({ ed25519: pem(ed.publicKey), rsa: pem(rsa.publicKey) });

const clock = new Date('2026-12-04T12:00:00.000Z');
const receiver = makeReceiver(h, { ghlPublicKeys, now: () => clock });
afterAll(() => receiver.close());

const shared = `sh-${randomUUID()}`;
let alpha: { id: string; slug: string };
let bravo: { id: string; slug: string };

beforeAll(async () => {
  alpha = await makeTenant(h, { ghl: shared });
  bravo = await makeTenant(h, { ghl: shared });
  await setGhlLocationIds(h.admin, alpha.slug, [L.loc_alpha]);
  await setGhlLocationIds(h.admin, bravo.slug, [L.loc_bravo, L.loc_bravo_2]);
});

const delivery = (locationId: string | undefined, at: Date = clock) =>
  JSON.stringify({ type: 'ContactCreate', webhookId: randomUUID(), locationId, timestamp: at.toISOString(), id: `c_${randomUUID()}` });
const edSig = (body: string) => sign(null, Buffer.from(body), ed.privateKey).toString('base64');
const rsaSig = (body: string) => sign('sha256', Buffer.from(body), rsa.privateKey).toString('base64');
const post = (slug: string, body: string, headers: Record<string, string>) =>
  receiver.app.request(`/api/webhooks/${slug}/ghl`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

describe('GHL-signed deliveries are bound to their tenant (SPEC §3.1)', () => {
  it('the same signed bytes accepted for bravo are refused for alpha: 401 invalid_signature, stored rejected', async () => {
    for (const [header, signer] of [
      ['x-ghl-signature', edSig],
      ['x-wh-signature', rsaSig],
    ] as const) {
      const body = delivery(L.loc_bravo);
      const ok = await post(bravo.slug, body, { [header]: signer(body) });
      expect(ok.status).toBe(200);
      const forged = await post(alpha.slug, body, { [header]: signer(body) });
      expect(forged.status).toBe(401);
      expect(((await forged.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'invalid_signature',
        message: expect.stringMatching(/GHL location/),
      });
      // A rejected delivery is evidence, never parsed: found by its raw bytes.
      const alphaRows = (await logsOf(h, alpha.id)).filter((r) => r.raw_body === body);
      expect(alphaRows.map((r) => [r.status, r.error_message])).toEqual([['rejected', 'invalid_signature: foreign_location']]);
    }
    const bravoReceived = (await logsOf(h, bravo.id)).filter((r) => r.status === 'received');
    expect(bravoReceived).toHaveLength(2);
    expect((await logsOf(h, alpha.id)).filter((r) => r.status !== 'rejected')).toEqual([]);
  });

  it("any of a tenant's locations is accepted; a body naming no location is refused", async () => {
    const second = delivery(L.loc_bravo_2);
    expect((await post(bravo.slug, second, { 'x-ghl-signature': edSig(second) })).status).toBe(200);
    const none = delivery(undefined);
    expect((await post(bravo.slug, none, { 'x-ghl-signature': edSig(none) })).status).toBe(401);
  });

  it('signed deliveries older or further in the future than the bound are refused (their own timestamp)', async () => {
    const stale = delivery(L.loc_alpha, new Date(clock.getTime() - 2 * 3600_000));
    const res = await post(alpha.slug, stale, { 'x-ghl-signature': edSig(stale) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/tolerance/);
    const future = delivery(L.loc_alpha, new Date(clock.getTime() + 10 * 60_000));
    expect((await post(alpha.slug, future, { 'x-ghl-signature': edSig(future) })).status).toBe(401);
    const recent = delivery(L.loc_alpha, new Date(clock.getTime() - 60_000));
    expect((await post(alpha.slug, recent, { 'x-ghl-signature': edSig(recent) })).status).toBe(200);
  });

  it('a tenant with no location configured accepts no signed delivery; setting one takes effect', async () => {
    const fresh = await makeTenant(h, { ghl: shared });
    const body = delivery(L.loc_fresh);
    expect((await post(fresh.slug, body, { 'x-ghl-signature': edSig(body) })).status).toBe(401);
    await setGhlLocationIds(h.admin, fresh.slug, [L.loc_fresh]);
    expect((await post(fresh.slug, body, { 'x-ghl-signature': edSig(body) })).status).toBe(200);
    await setGhlLocationIds(h.admin, fresh.slug, [L.loc_moved]);
    const next = delivery(L.loc_fresh);
    expect((await post(fresh.slug, next, { 'x-ghl-signature': edSig(next) })).status).toBe(401);
  });

  it('unsigned workflow webhooks with the shared secret are unchanged (the secret is per tenant)', async () => {
    const body = delivery(L.loc_bravo);
    expect((await post(alpha.slug, body, { 'x-webhook-secret': shared })).status).toBe(200);
    expect((await post(alpha.slug, delivery(L.loc_alpha), { 'x-webhook-secret': 'wrong-secret' })).status).toBe(401);
  });

  it('a location two active tenants name (rows written before the one-tenant rule) is refused at both until one lets go', async () => {
    const first = await makeTenant(h, { ghl: shared });
    const second = await makeTenant(h, { ghl: shared });
    await setGhlLocationIds(h.admin, first.slug, [L.loc_legacy, L.loc_legacy_own]);
    // The second tenant's row names it too, as the old unchecked config writes could leave it.
    await h.admin.sql`update tenants set config = ${h.admin.sql.json({ ghl: { location_ids: [L.loc_legacy] } })} where id = ${second.id}`;
    expect(
      (await sharedGhlLocations(h.admin))
        .find((s) => s.locationId === L.loc_legacy)
        ?.tenants.map((t) => t.slug)
        .sort(),
    ).toEqual([first.slug, second.slug].sort());
    for (const slug of [first.slug, second.slug]) {
      const body = delivery(L.loc_legacy);
      const res = await post(slug, body, { 'x-ghl-signature': edSig(body) });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
        'Invalid signature: signed for a GHL location that more than one tenant names',
      );
    }
    const rejected = (await logsOf(h, first.id)).filter((r) => r.status === 'rejected').map((r) => r.error_message);
    expect(rejected).toEqual(['invalid_signature: shared_location']);
    // The first tenant's other location is its alone: accepted.
    const own = delivery(L.loc_legacy_own);
    expect((await post(first.slug, own, { 'x-ghl-signature': edSig(own) })).status).toBe(200);
    // An inactive holder does not block the active one (it receives nothing); reactivated, it would.
    await setTenantActive(h.admin, second.slug, false);
    const whileInactive = delivery(L.loc_legacy);
    expect((await post(first.slug, whileInactive, { 'x-ghl-signature': edSig(whileInactive) })).status).toBe(200);
    await setTenantActive(h.admin, second.slug, true);
    // Reactivated, it blocks both again (every cached tenant naming GHL locations is reloaded on any change).
    for (const slug of [second.slug, first.slug]) {
      const again = delivery(L.loc_legacy);
      expect((await post(slug, again, { 'x-ghl-signature': edSig(again) })).status).toBe(401);
    }
    // One lets go: the other accepts.
    await setGhlLocationIds(h.admin, second.slug, [L.loc_moved.replace('moved', 'moved_2')]);
    const after = delivery(L.loc_legacy);
    expect((await post(first.slug, after, { 'x-ghl-signature': edSig(after) })).status).toBe(200);
  });
});
