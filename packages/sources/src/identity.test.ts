import { describe, expect, it } from 'vitest';
import { distinctEmails, emailKey, normalizeEmail, normalizePhone } from './identity';

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
