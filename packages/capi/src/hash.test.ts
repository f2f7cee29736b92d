import { describe, expect, it } from 'vitest';
import { hashUserData, normalizeEmail, normalizeName, normalizePhone, sha256Hex } from './hash';

// Expected digests were computed outside this code (`printf '%s' value | sha256sum`); the first one is
// also the worked example in Meta's customer-information docs (Person@Example.com).
const digest = {
  'person@example.com': '542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345',
  '15552013344': '30867b8c6400543683e129a21302f56f4283205ed0037c788f82017cc34fd8c4',
  maria: '94aec9fbed989ece189a7e172c9cf41669050495152bc4c1dbf2a38d7fd85627',
  lopez: '0e66633604475ead7445c5e5f987d6450c23687eccf37665e3924541a7f8f6b3',
  josé: 'd994e1d001886fe5b45b1267bd1fa2b752ac50742579bd3dad7b2a2aa0ed6866',
  obrien: 'b4cb6cb33fe4b865868de825023a1e2790dc12ac01ecc8d7c5afe8254071c8ba',
};

describe('normalisation (Meta customer information parameters)', () => {
  it('email: trimmed, lowercased; not an address → null', () => {
    expect(normalizeEmail('  Person@Example.COM ')).toBe('person@example.com');
    expect(normalizeEmail('not-an-email')).toBeNull();
    expect(normalizeEmail('')).toBeNull();
    expect(normalizeEmail(null)).toBeNull();
  });

  it('phone: digits of the E.164 number, no +, no 00 prefix; implausible lengths → null', () => {
    expect(normalizePhone('+1 (555) 201-3344')).toBe('15552013344');
    expect(normalizePhone('+15552013344')).toBe('15552013344');
    expect(normalizePhone('0044 20 7946 0958')).toBe('442079460958');
    expect(normalizePhone('12345')).toBeNull();
    expect(normalizePhone('+1234567890123456')).toBeNull();
    expect(normalizePhone(undefined)).toBeNull();
  });

  it('names: lowercase, no punctuation or spaces, accents kept (UTF-8)', () => {
    expect(normalizeName("  O'Brien ")).toBe('obrien');
    expect(normalizeName('JOSÉ')).toBe('josé');
    // A decomposed é (e + combining accent) normalises to the same bytes as the composed one.
    expect(normalizeName('Jose\u0301')).toBe('josé');
    expect(normalizeName(' -. ')).toBeNull();
  });
});

describe('hashUserData', () => {
  it('hashes the normalised values: digests equal independently computed SHA-256', () => {
    const user = hashUserData({
      emails: ['Person@Example.com', ' person@example.com', null, 'bad'],
      phones: ['+1 555 201 3344', '+15552013344'],
      firstName: 'Maria',
      lastName: 'LOPEZ',
      externalId: '0B6B2C1E-0000-4000-8000-000000000001',
    });
    expect(user.em).toEqual([digest['person@example.com']]);
    expect(user.ph).toEqual([digest['15552013344']]);
    expect(user.fn).toBe(digest.maria);
    expect(user.ln).toBe(digest.lopez);
    expect(user.external_id).toEqual([sha256Hex('0b6b2c1e-0000-4000-8000-000000000001')]);
    expect(normalizeName('José') && sha256Hex(normalizeName('José') as string)).toBe(digest.josé);
    expect(sha256Hex(normalizeName("O'Brien") as string)).toBe(digest.obrien);
  });

  it('leaves out what it does not know, and never returns a plaintext value', () => {
    const user = hashUserData({ emails: [], phones: [null], firstName: null, lastName: '', externalId: 'c1' });
    expect(Object.keys(user)).toEqual(['external_id']);
    const all = JSON.stringify(
      hashUserData({ emails: ['a@b.co'], phones: ['+15551234567'], firstName: 'A', lastName: 'B', externalId: 'x' }),
    );
    expect(all).not.toMatch(/a@b\.co|15551234567|"a"|"b"/);
    for (const v of Object.values(JSON.parse(all)).flat()) expect(v).toMatch(/^[0-9a-f]{64}$/);
  });
});
