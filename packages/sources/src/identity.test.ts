import { describe, expect, it } from 'vitest';
import { distinctEmails, emailKey, isPhoneCountry, normalizeEmail, normalizePhone, readAdId } from './identity';

describe('normalizePhone (SPEC §6.1)', () => {
  it.each([
    ['(555) 201-3344', '+15552013344'],
    ['555.201.3344', '+15552013344'],
    ['1-555-201-3344', '+15552013344'],
    ['+1 555 201 3344', '+15552013344'],
    ['+44 20 7946 0958', '+442079460958'],
    [5552013344, '+15552013344'],
    // Written with "+", the country code is already there: 10 digits is a whole number (Denmark, Singapore), not NANP.
    ['+45 12 34 56 78', '+4512345678'],
    ['+65 6123 4567', '+6561234567'],
    ['+1 (555) 201-3344', '+15552013344'],
  ])('%s → %s', (input, expected) => {
    expect(normalizePhone(input)).toBe(expected);
  });

  it.each([[''], ['12345'], ['+1234567890123456'], [null], [{}], ['call me']])('%j → undefined', (input) => {
    expect(normalizePhone(input)).toBeUndefined();
  });
});

describe("normalizePhone with the tenant's phone_country (national form → E.164)", () => {
  it.each([
    // The UK operator's report: Denefits' customer_mobile, and the same person as other tools write it.
    ['GB', '07700900456', '+447700900456'],
    ['GB', '07700 900456', '+447700900456'],
    ['GB', '(07700) 900-456', '+447700900456'],
    ['GB', '7700900456', '+447700900456'],
    ['GB', '447700900456', '+447700900456'],
    ['GB', '0044 7700 900456', '+447700900456'],
    ['GB', '(020) 7946 0018', '+442079460018'],
    ['GB', '+44 7700 900456', '+447700900456'],
    ['GB', '+44 (0)7700 900456', '+447700900456'],
    // Italy's numbers keep their leading 0 (there is no trunk prefix to drop).
    ['IT', '06 6982 1234', '+390669821234'],
    ['DE', '0151 23456789', '+4915123456789'],
    ['DE', '0151/234-567-89', '+4915123456789'],
    ['DE', '+49 151 23456789', '+4915123456789'],
    ['FR', '06 12 34 56 78', '+33612345678'],
    ['FR', '06-12-34-56-78', '+33612345678'],
    ['JP', '090-1234-5678', '+819012345678'],
    ['JP', '(090) 1234 5678', '+819012345678'],
    ['JP', '+81 90-1234-5678', '+819012345678'],
    ['US', '(555) 201-3344', '+15552013344'],
    ['US', '555-201-3344', '+15552013344'],
    ['US', '1 (555) 201-3344', '+15552013344'],
    ['US', '011 44 7700 900456', '+447700900456'],
    ['CA', '416 555 0199', '+14165550199'],
    // A + number keeps its country, whatever the tenant's.
    ['GB', '+1 555 201 3344', '+15552013344'],
    ['JP', '+45 12 34 56 78', '+4512345678'],
    // Not a length the tenant's country has: read as without a country (a US client of a UK clinic).
    ['GB', '1-555-201-3344', '+15552013344'],
    // Any case; a code that is not a country is no country.
    ['gb', '07700 900456', '+447700900456'],
    ['UK', '5552013344', '+15552013344'],
  ])('%s: %s → %s', (country, input, expected) => {
    expect(normalizePhone(input, country)).toBe(expected);
  });

  it('reads 10 digits as national in a country whose numbers have 10 digits, not as North American', () => {
    expect(normalizePhone('7700900456')).toBe('+17700900456');
    expect(normalizePhone('7700900456', 'GB')).toBe('+447700900456');
    expect(normalizePhone('5552013344', 'US')).toBe('+15552013344');
  });

  it.each([
    ['GB', ''],
    ['GB', 'call me'],
    ['GB', '12345'],
    ['GB', '07700 9004'],
    ['GB', '077009004561234567'],
    ['GB', '+0 7700 900456'],
    ['US', '07700900456'],
    ['JP', '{{phone}}'],
  ])('%s: %j → undefined', (country, input) => {
    expect(normalizePhone(input, country)).toBeUndefined();
  });

  it('without a country never writes +0…: a national number is left out, 00 is the international prefix', () => {
    for (const input of ['07700900456', '07700 900456', '(020) 7946 0018', '090-1234-5678', '0151 23456789', '+07700900456']) {
      expect(normalizePhone(input), input).toBeUndefined();
      expect(normalizePhone(input, null), input).toBeUndefined();
    }
    expect(normalizePhone('0044 7700 900456')).toBe('+447700900456');
    expect(normalizePhone('00 0770 0900 456')).toBeUndefined();
    // Unchanged: NANP 10 and 11 digits, and digits that carry their country code.
    expect(normalizePhone('(555) 201-3344')).toBe('+15552013344');
    expect(normalizePhone('15552013344')).toBe('+15552013344');
    expect(normalizePhone('447700900456')).toBe('+447700900456');
  });

  it('isPhoneCountry: ISO 3166-1 alpha-2 codes with a numbering plan, any case, ASCII only', () => {
    for (const code of ['GB', 'gb', 'US', 'CA', 'DE', 'FR', 'JP', 'Au']) expect(isPhoneCountry(code), code).toBe(true);
    for (const code of ['UK', 'EU', 'XX', 'GBR', 'G', '', ' GB', '\u0131n', '44']) expect(isPhoneCountry(code), code).toBe(false);
  });
});

describe('readAdId', () => {
  it('takes the first value that is a Meta ad id (digits), and notes free text it did not keep', () => {
    expect(readAdId('120210987654320001')).toEqual({ adId: '120210987654320001' });
    expect(readAdId(120210987654)).toEqual({ adId: '120210987654' });
    expect(readAdId(undefined, ' 6023 ')).toEqual({ adId: '6023' });
    // utm_content often holds something else: the next candidate is read.
    expect(readAdId('summer-sale', '120210987654320002')).toEqual({ adId: '120210987654320002' });
    for (const junk of ['jane.doe@example.com', '{{ad.id}}', '12 34', '1'.repeat(31)])
      expect(readAdId(junk)).toEqual({ note: 'ad id not kept: not a Meta ad id (digits only)' });
    expect(readAdId(undefined, '', null)).toEqual({});
  });
});

describe('normalizeEmail', () => {
  it('trims and keeps the spelling; compare with emailKey', () => {
    expect(normalizeEmail('  Maria.Lopez@Example.com ')).toBe('Maria.Lopez@Example.com');
    expect(emailKey('Maria.Lopez@Example.com')).toBe('maria.lopez@example.com');
  });

  it.each([[''], ['{{email}}'], ['no at sign'], ['a b@c.d'], [42], [null]])('%j → undefined', (input) => {
    expect(normalizeEmail(input)).toBeUndefined();
  });

  it('distinctEmails drops case-insensitive repeats and blanks', () => {
    expect(distinctEmails('A@x.io', undefined, 'a@X.io', 'b@x.io')).toEqual(['A@x.io', 'b@x.io']);
  });
});
