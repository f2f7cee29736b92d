import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ghlPublishedPublicKeys, parseGhlPublicKeys, verifyGhlSignature } from './ghl';

const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: { export: (o: { type: 'spki'; format: 'pem' }) => string | Buffer }) => String(k.export({ type: 'spki', format: 'pem' }));
const keys = parseGhlPublicKeys({ ed25519: pem(ed.publicKey), rsa: pem(rsa.publicKey) });
const body = new TextEncoder().encode(JSON.stringify({ type: 'ContactCreate', webhookId: 'wh_1', locationId: 'loc' }));
const now = new Date();
const edSig = (b: Uint8Array) => sign(null, b, ed.privateKey).toString('base64');
const rsaSig = (b: Uint8Array) => sign('sha256', b, rsa.privateKey).toString('base64');

describe('verifyGhlSignature', () => {
  it('accepts an Ed25519 x-ghl-signature made with the configured key pair', () => {
    expect(verifyGhlSignature(body, { 'x-ghl-signature': edSig(body) }, {}, [], now, keys)).toEqual({ ok: true, method: 'ghl_ed25519' });
  });
  it('accepts a legacy RSA-SHA256 x-wh-signature', () => {
    expect(verifyGhlSignature(body, { 'x-wh-signature': rsaSig(body) }, {}, [], now, keys)).toEqual({ ok: true, method: 'ghl_rsa' });
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
  it('parses the published default keys and PEMs with literal \\n from env files', () => {
    expect(() => parseGhlPublicKeys()).not.toThrow();
    expect(() => parseGhlPublicKeys({ ed25519: ghlPublishedPublicKeys.ed25519.replaceAll('\n', '\\n') })).not.toThrow();
  });
  it('garbage signatures never throw', () => {
    expect(verifyGhlSignature(body, { 'x-ghl-signature': '%%%' }, {}, [], now, keys).ok).toBe(false);
    expect(verifyGhlSignature(body, { 'x-wh-signature': 'QUJD' }, {}, [], now, keys).ok).toBe(false);
  });
});
