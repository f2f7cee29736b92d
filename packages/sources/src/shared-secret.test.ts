import { testSeed } from '@mcb/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { verifyDenefitsSecret } from './denefits/verify';
import { verifyManyChatSecret } from './manychat/verify';
import { verifyPerspectiveSecret } from './perspective/verify';
import { bodySecret, constantTimeEqual, verifySharedSecret } from './shared-secret';
import type { Verifier } from './verify';

const verifyShared: Verifier = (b, h, q, s, n) => verifySharedSecret(b, h, q, s, n);

const enc = (s: string) => new TextEncoder().encode(s);
const body = enc('{"subscriber":{"id":"1"}}');
const now = new Date();
const current = 'cur-secret-0123456789';
const previous = 'prev-secret-0123456789';

describe.each([
  ['the shared scheme (unsigned ghl)', verifyShared],
  ['manychat', verifyManyChatSecret],
  ['perspective', verifyPerspectiveSecret],
  ['denefits', verifyDenefitsSecret],
] as const)('%s shared secret', (_name, verify) => {
  it('accepts X-Webhook-Secret, Bearer and ?secret=', () => {
    expect(verify(body, { 'x-webhook-secret': current }, {}, [current], now).ok).toBe(true);
    expect(verify(body, { authorization: `Bearer ${current}` }, {}, [current], now).ok).toBe(true);
    expect(verify(body, {}, { secret: current }, [current], now).ok).toBe(true);
  });
  it('rejects a wrong or missing secret', () => {
    expect(verify(body, { 'x-webhook-secret': 'wrong' }, {}, [current], now)).toEqual({ ok: false, reason: 'invalid_signature' });
    expect(verify(body, {}, {}, [current], now)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verify(body, { authorization: 'Basic abc' }, {}, [current], now)).toEqual({ ok: false, reason: 'missing_signature' });
  });
  it('accepts the previous secret only while the caller lists it (rotation overlap)', () => {
    expect(verify(body, { 'x-webhook-secret': previous }, {}, [current, previous], now).ok).toBe(true);
    expect(verify(body, { 'x-webhook-secret': previous }, {}, [current], now).ok).toBe(false);
  });
  it('reports no_secret without an active secret', () => {
    expect(verify(body, { 'x-webhook-secret': current }, {}, [], now)).toEqual({ ok: false, reason: 'no_secret' });
  });
});

describe('denefits body secret', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  it('accepts secret_key in the body and in the first element of an array body', () => {
    expect(verifyDenefitsSecret(enc(JSON.stringify({ secret_key: current })), {}, {}, [current], now).ok).toBe(true);
    expect(verifyDenefitsSecret(enc(JSON.stringify([{ secret_key: current }])), {}, {}, [current], now).ok).toBe(true);
    expect(verifyDenefitsSecret(enc(JSON.stringify({ secret_key: 'nope' })), {}, {}, [current], now).ok).toBe(false);
  });
  it('reads secret_key as JSON.parse would: a top-level member of the event, the last of duplicates, escapes decoded', () => {
    const ok = (text: string) => verifyDenefitsSecret(enc(text), {}, {}, [current], now).ok;
    expect(ok(` \n[ \t{ "a" : {"secret_key":"x"} , "secret_key" :\n"${current}" }, {"secret_key":"x"}]`)).toBe(true);
    expect(ok(`{"a":"\\"secret_key\\":{","b":["}"],"secret_key":"${current}"}`)).toBe(true);
    expect(ok(`{"secret_key":"x","secret_key":"${current}"}`)).toBe(true);
    expect(ok(`{"secret_key":"cur\\u002dsecret-0123456789"}`)).toBe(true);
    expect(ok(`{"secret_key":"${current}","secret_key":1}`)).toBe(false);
    expect(ok(`{"a":{"secret_key":"${current}"}}`)).toBe(false);
    expect(ok(`[{"a":1},{"secret_key":"${current}"}]`)).toBe(false);
    expect(ok(`{"a":"secret_key","b":"${current}"}`)).toBe(false);
    expect(ok(`["secret_key","${current}"]`)).toBe(false);
    expect(ok(`{"secret_key":["${current}"]}`)).toBe(false);
    expect(ok(`{"a":"\\\\","secret_key":"${current}"}`)).toBe(true);
    expect(ok(`{"secret\\u005fkey":"${current}"}`)).toBe(true);
    expect(ok(`{"\\u0073ecret_key":"${current}","secret\\u005Fkey":"x"}`)).toBe(false);
    expect(ok(`{"secret\\u005fkez":"${current}"}`)).toBe(false);
    expect(ok(`{"a":"\\",\\"secret_key\\":\\"${current}"}`)).toBe(false);
  });
  it('presents no body secret when the body has no "secret_key" in it: the body is not parsed', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const big = enc(`[${'{},'.repeat(300_000)}{}]`);
    expect(verifyDenefitsSecret(big, {}, {}, [current], now)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(parse.mock.calls.length).toBe(0);
  });
  it('reads no body secret when a header or ?secret= presented one: the body is not parsed, and only that one counts', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const withBodySecret = enc(JSON.stringify({ secret_key: current, pad: Array(100_000).fill({}) }));
    expect(verifyDenefitsSecret(withBodySecret, { 'x-webhook-secret': current }, {}, [current], now).ok).toBe(true);
    expect(verifyDenefitsSecret(withBodySecret, {}, { secret: 'wrong' }, [current], now)).toEqual({
      ok: false,
      reason: 'invalid_signature',
    });
    expect(parse.mock.calls.length).toBe(0);
  });
  it('never parses the whole body, whatever its shape (1 MiB of {} or of distinct keys): only the secret’s own string', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const keys = Array.from({ length: 80_000 }, (_, i) => `"k${i}":1`).join(',');
    const bodies = [
      `{"secret_key":"${current}","pad":[${'{},'.repeat(350_000)}{}]}`,
      `{${keys},"secret_key":"${current}"}`,
      `[{"secret_key":"${current}"},${'['.repeat(100_000)}${']'.repeat(100_000)}]`,
      `{"pad":${'['.repeat(100_000)}${']'.repeat(100_000)},"secret_key":"${current}"}`,
    ];
    for (const text of bodies) expect(verifyDenefitsSecret(enc(text), {}, {}, [current], now).ok).toBe(true);
    // Lengths first: a failure prints numbers, not a megabyte of body.
    expect(parse.mock.calls.map(([arg]) => arg.length)).toEqual(bodies.map(() => JSON.stringify(current).length));
    expect(parse.mock.calls.map(([arg]) => arg)).toEqual(bodies.map(() => JSON.stringify(current)));
  });
  it('finds the same secret_key as parsing the whole body (property)', () => {
    const key = fc.constantFrom('secret_key', 'secret', 'a', 'secret_key ', '"secret_key"', 'x\\"secret_key"');
    const value = fc.oneof(fc.string(), fc.constant(current), fc.jsonValue({ maxDepth: 3 }));
    // Names as written: plain, or escaped (the same name or nearly).
    const literal = fc.oneof(
      key.map((k) => JSON.stringify(k)),
      fc.constantFrom('"secret\\u005fkey"', '"\\u0073\\u0065cret_key"', '"secret\\u005Fkey"', '"secret\\u005fkez"', '"secret\\/key"'),
    );
    const member = fc.tuple(literal, value);
    const eventText = fc
      .tuple(fc.array(member, { maxLength: 6 }), fc.constantFrom(' ', '\n', '', '\t'))
      .map(([members, ws]) => `{${ws}${members.map(([k, v]) => `${k}${ws}:${ws}${JSON.stringify(v)}`).join(`,${ws}`)}${ws}}`);
    const body = fc.oneof(
      eventText,
      fc.tuple(eventText, fc.array(eventText, { maxLength: 2 })).map(([first, rest]) => `[${[first, ...rest].join(',')}]`),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    );
    const byParsing = (text: string): string | undefined => {
      const parsed: unknown = JSON.parse(text);
      const event = Array.isArray(parsed) ? parsed[0] : parsed;
      if (!event || typeof event !== 'object' || Array.isArray(event)) return undefined;
      const v = (event as Record<string, unknown>).secret_key;
      return typeof v === 'string' && v.trim() ? v.trim() : undefined;
    };
    fc.assert(
      fc.property(body, (text) => bodySecret(enc(text)) === byParsing(text)),
      { seed: testSeed('shared-secret body secret'), numRuns: 500 },
    );
  });
  it('other sources ignore secret_key', () => {
    for (const verify of [verifyShared, verifyManyChatSecret, verifyPerspectiveSecret])
      expect(verify(enc(JSON.stringify({ secret_key: current })), {}, {}, [current], now).ok).toBe(false);
  });
});

describe('constantTimeEqual', () => {
  it('compares content of any length', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', 'x')).toBe(false);
  });
});
