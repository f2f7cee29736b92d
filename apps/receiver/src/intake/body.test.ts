import { describe, expect, it } from 'vitest';
import { headersFromRaw } from './body';

/** What `c.req.header()` gives: a WHATWG Headers object's entries as a record. */
function viaHeaders(raw: string[]): Record<string, string> {
  const h = new Headers();
  for (let i = 0; i < raw.length; i += 2) h.append(raw[i] as string, raw[i + 1] as string);
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

describe('headersFromRaw', () => {
  it('gives the record Headers gives: lowercase names, repeats joined with ", "', () => {
    const raw = [
      'Content-Type',
      'application/json',
      'Stripe-Signature',
      't=1,v1=aa',
      'X-Forwarded-For',
      '10.0.0.1',
      'x-forwarded-for',
      '10.0.0.2',
      'stripe-signature',
      'v1=bb',
    ];
    expect({ ...headersFromRaw(raw) }).toEqual(viaHeaders(raw));
    expect(headersFromRaw(raw)['stripe-signature']).toBe('t=1,v1=aa, v1=bb');
  });

  it('treats a header named __proto__ as a header, and skips HTTP/2 pseudo-headers', () => {
    const h = headersFromRaw([':path', '/x', '__proto__', '{"polluted":true}', 'a', '1']);
    expect(Object.keys(h)).toEqual(['__proto__', 'a']);
    const protoName = '__proto__';
    expect(h[protoName]).toBe('{"polluted":true}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(h))).toEqual(JSON.parse('{"__proto__":"{\\"polluted\\":true}","a":"1"}'));
  });
});
