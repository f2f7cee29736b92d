import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type GhlBinding, ghlPublishedPublicKeys, ghlSignedMaxAgeMs, parseGhlPublicKeys, verifyGhlSignature } from './verify';

const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: { export: (o: { type: 'spki'; format: 'pem' }) => string | Buffer }) => String(k.export({ type: 'spki', format: 'pem' }));
const keys = parseGhlPublicKeys({ ed25519: pem(ed.publicKey), rsa: pem(rsa.publicKey) });
const now = new Date('2026-12-04T12:00:00.000Z');
const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const body = encode({ type: 'ContactCreate', webhookId: 'wh_1', locationId: 'loc', timestamp: now.toISOString() });
const mine = { locationIds: ['loc'] };
const edSig = (b: Uint8Array) => sign(null, b, ed.privateKey).toString('base64');
const rsaSig = (b: Uint8Array) => sign('sha256', b, rsa.privateKey).toString('base64');

describe('verifyGhlSignature', () => {
  it('accepts an Ed25519 x-ghl-signature made with the configured key pair', () => {
    expect(verifyGhlSignature(body, { 'x-ghl-signature': edSig(body) }, {}, [], now, keys, mine)).toEqual({
      ok: true,
      method: 'ghl_ed25519',
    });
  });
  it('accepts a legacy RSA-SHA256 x-wh-signature', () => {
    expect(verifyGhlSignature(body, { 'x-wh-signature': rsaSig(body) }, {}, [], now, keys, mine)).toEqual({ ok: true, method: 'ghl_rsa' });
  });
  it('rejects a tampered body for both schemes', () => {
    const tampered = new TextEncoder().encode(JSON.stringify({ type: 'ContactCreate', webhookId: 'wh_2' }));
    expect(verifyGhlSignature(tampered, { 'x-ghl-signature': edSig(body) }, {}, [], now, keys).ok).toBe(false);
    expect(verifyGhlSignature(tampered, { 'x-wh-signature': rsaSig(body) }, {}, [], now, keys).ok).toBe(false);
  });
  it('rejects a signature made by another key (the published keys are not ours)', () => {
    expect(verifyGhlSignature(body, { 'x-ghl-signature': edSig(body) }, {}, [], now, parseGhlPublicKeys()).ok).toBe(false);
    expect(verifyGhlSignature(body, { 'x-wh-signature': rsaSig(body) }, {}, [], now, parseGhlPublicKeys()).ok).toBe(false);
  });
  it('a present but invalid Ed25519 signature is final (no fallback to the shared secret)', () => {
    const r = verifyGhlSignature(body, { 'x-ghl-signature': 'AAAA', 'x-webhook-secret': 's3cret' }, {}, ['s3cret'], now, keys);
    expect(r).toEqual({ ok: false, reason: 'invalid_signature' });
  });
  it('unsigned workflow webhooks use the shared secret', () => {
    expect(verifyGhlSignature(body, { 'x-webhook-secret': 's3cret' }, {}, ['s3cret'], now, keys).ok).toBe(true);
    expect(verifyGhlSignature(body, { 'x-webhook-secret': 'nope' }, {}, ['s3cret'], now, keys).ok).toBe(false);
    expect(verifyGhlSignature(body, {}, {}, ['s3cret'], now, keys)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verifyGhlSignature(body, {}, {}, [], now, keys)).toEqual({ ok: false, reason: 'no_secret' });
  });
  it('a valid signature for a location another active tenant also names is refused: it cannot be bound to one tenant', () => {
    const shared = { locationIds: ['loc', 'loc2'], sharedLocationIds: ['loc'] };
    expect(verifyGhlSignature(body, { 'x-ghl-signature': edSig(body) }, {}, [], now, keys, shared)).toEqual({
      ok: false,
      reason: 'shared_location',
    });
    const own = encode({ type: 'ContactCreate', webhookId: 'wh_4', locationId: 'loc2', timestamp: now.toISOString() });
    expect(verifyGhlSignature(own, { 'x-ghl-signature': edSig(own) }, {}, [], now, keys, shared).ok).toBe(true);
  });
  it("a valid signature for a location that is not the tenant's is refused (HighLevel signs every location with one key)", () => {
    const other = encode({ type: 'ContactCreate', webhookId: 'wh_3', locationId: 'someone-else', timestamp: now.toISOString() });
    expect(verifyGhlSignature(other, { 'x-ghl-signature': edSig(other) }, {}, [], now, keys, mine)).toEqual({
      ok: false,
      reason: 'foreign_location',
    });
    expect(verifyGhlSignature(other, { 'x-wh-signature': rsaSig(other) }, {}, [], now, keys, mine)).toEqual({
      ok: false,
      reason: 'foreign_location',
    });
    // No configured location: no signed delivery is accepted at all (fail closed).
    expect(verifyGhlSignature(body, { 'x-ghl-signature': edSig(body) }, {}, [], now, keys)).toEqual({
      ok: false,
      reason: 'foreign_location',
    });
    expect(verifyGhlSignature(body, { 'x-ghl-signature': edSig(body) }, {}, [], now, keys, { locationIds: [] }).ok).toBe(false);
    // A signed body that names no location cannot be bound to a tenant.
    const nowhere = encode({ type: 'ContactCreate', webhookId: 'wh_4', timestamp: now.toISOString() });
    expect(verifyGhlSignature(nowhere, { 'x-ghl-signature': edSig(nowhere) }, {}, [], now, keys, mine)).toEqual({
      ok: false,
      reason: 'foreign_location',
    });
    // Prefix or case tricks do not match.
    expect(verifyGhlSignature(body, { 'x-ghl-signature': edSig(body) }, {}, [], now, keys, { locationIds: ['lo', 'LOC', 'loc2'] }).ok).toBe(
      false,
    );
  });
  it('the location may come as location.id (workflow bodies) or inside a one-element array body', () => {
    const wf = encode({ contact_id: 'c1', location: { id: 'loc', name: 'Clinic' } });
    expect(verifyGhlSignature(wf, { 'x-ghl-signature': edSig(wf) }, {}, [], now, keys, mine).ok).toBe(true);
    const arr = encode([{ type: 'ContactCreate', locationId: 'loc' }]);
    expect(verifyGhlSignature(arr, { 'x-ghl-signature': edSig(arr) }, {}, [], now, keys, mine).ok).toBe(true);
  });
  it('signed deliveries are bounded in time by their own timestamp: stale and future ones are refused', () => {
    const at = (ms: number, extra: Record<string, unknown> = {}) =>
      encode({ type: 'ContactCreate', locationId: 'loc', timestamp: new Date(ms).toISOString(), ...extra });
    const check = (b: Uint8Array, binding: GhlBinding = mine) =>
      verifyGhlSignature(b, { 'x-ghl-signature': edSig(b) }, {}, [], now, keys, binding);
    expect(check(at(now.getTime() - ghlSignedMaxAgeMs)).ok).toBe(true);
    expect(check(at(now.getTime() - ghlSignedMaxAgeMs - 1000))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(check(at(now.getTime() - 30 * 86_400_000))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(check(at(now.getTime() + 4 * 60_000)).ok).toBe(true);
    expect(check(at(now.getTime() + 6 * 60_000))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(check(at(now.getTime() - 60_000), { locationIds: ['loc'], maxAgeMs: 30_000 })).toEqual({ ok: false, reason: 'stale_timestamp' });
    // Epoch seconds and milliseconds are read too; an unreadable timestamp cannot be bounded and is refused.
    const secs = encode({ locationId: 'loc', timestamp: Math.floor(now.getTime() / 1000) - 7200 });
    expect(check(secs)).toEqual({ ok: false, reason: 'stale_timestamp' });
    const ms = encode({ locationId: 'loc', timestamp: now.getTime() - 1000 });
    expect(check(ms).ok).toBe(true);
    const junk = encode({ locationId: 'loc', timestamp: 'yesterday-ish' });
    expect(check(junk)).toEqual({ ok: false, reason: 'stale_timestamp' });
    // Without a timestamp (HighLevel does not send one on every body) only the location binds it.
    const untimed = encode({ locationId: 'loc', type: 'ContactCreate' });
    expect(check(untimed).ok).toBe(true);
  });
  it('the location and time checks never apply to shared-secret workflow webhooks', () => {
    const other = encode({ locationId: 'someone-else', timestamp: '2001-01-01T00:00:00Z' });
    expect(verifyGhlSignature(other, { 'x-webhook-secret': 's3cret' }, {}, ['s3cret'], now, keys, mine).ok).toBe(true);
  });
  it('parses the published default keys and PEMs with literal \\n from env files', () => {
    expect(() => parseGhlPublicKeys()).not.toThrow();
    expect(() => parseGhlPublicKeys({ ed25519: ghlPublishedPublicKeys.ed25519.replaceAll('\n', '\\n') })).not.toThrow();
  });
  it('garbage signatures never throw', () => {
    expect(verifyGhlSignature(body, { 'x-ghl-signature': '%%%' }, {}, [], now, keys).ok).toBe(false);
    expect(verifyGhlSignature(body, { 'x-wh-signature': 'QUJD' }, {}, [], now, keys).ok).toBe(false);
  });
});
