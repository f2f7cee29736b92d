import { describe, expect, it } from 'vitest';
import { parseJsonExact } from './json';

describe('parseJsonExact', () => {
  it('reads an integer past 2^53 as the string of its exact digits (JSON.parse rounds it)', () => {
    const text = '{"id":12345678901234567,"next":12345678901234568,"n":[-98765432109876543, 9007199254740993]}';
    expect((JSON.parse(text) as { id: number }).id).toBe(12345678901234568);
    expect(parseJsonExact(text)).toEqual({
      id: '12345678901234567',
      next: '12345678901234568',
      n: ['-98765432109876543', '9007199254740993'],
    });
  });

  it('leaves safe integers, decimals, exponents and strings as JSON.parse reads them', () => {
    const texts = [
      '{"max":9007199254740991,"min":-9007199254740991,"cents":250000}',
      '{"f":1234567890123456.5,"e":1.2345678901234567e16,"E":12345678901234567E2,"neg":-1e-20}',
      '{"s":"12345678901234567","esc":"x\\"12345678901234567\\" \\\\ 12345678901234567","12345678901234567":1}',
      '[{"a":[1,2,{"b":null,"c":true}]},"12345678901234567890"]',
      '{"note":"id: 12345678901234567, [12345678901234567] ok","ad_id":"120200000000000001"}',
      '0',
      '"just a string with 99999999999999999999 in it"',
    ];
    for (const text of texts) expect(parseJsonExact(text)).toEqual(JSON.parse(text));
  });

  it('throws for what JSON.parse refuses, even where quoting would make it valid JSON', () => {
    for (const text of ['{12345678901234567:1}', '[012345678901234567]', '{"a":12345678901234567', '']) {
      expect(() => JSON.parse(text)).toThrow(SyntaxError);
      expect(() => parseJsonExact(text)).toThrow(SyntaxError);
    }
  });

  it('reads a whole body or an array element that is such an integer', () => {
    expect(parseJsonExact('12345678901234567')).toBe('12345678901234567');
    expect(parseJsonExact(' [ 12345678901234567 ,\n-12345678901234567]')).toEqual(['12345678901234567', '-12345678901234567']);
  });

  it('keeps every digit of ids of any length, in objects and arrays, with any spacing', () => {
    for (let digits = 16; digits <= 40; digits++) {
      const id = `9${'7'.repeat(digits - 1)}`;
      const text = `{ "id" : ${id} , "list" : [ ${id},-${id} ] }`;
      expect(parseJsonExact(text)).toEqual({ id, list: [id, `-${id}`] });
    }
  });
});
