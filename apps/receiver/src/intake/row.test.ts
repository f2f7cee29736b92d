import { describe, expect, it } from 'vitest';
import {
  buildAcceptedRow,
  buildRejectedRow,
  buildUnparseableRow,
  hasDigitRun,
  hasOversizedNumber,
  jsonShapeProblem,
  maskBodySecrets,
  maxJsonContainers,
  maxJsonDepth,
  maxJsonItems,
  parseBody,
  rejectedBodyPrefixBytes,
  storableKey,
  storedBody,
  storedHeaders,
  storedHeadersChars,
} from './row';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('utf8'));

describe('parseBody', () => {
  it('takes the first element of a JSON array; an empty array or non-JSON is invalid', () => {
    expect(parseBody('[{"a":1},{"b":2}]')).toEqual({ ok: true, event: { a: 1 }, isArray: true, sanitized: false });
    expect(parseBody('{"a":1}')).toEqual({ ok: true, event: { a: 1 }, isArray: false, sanitized: false });
    expect(parseBody('[]')).toEqual({ ok: false, reason: 'empty_array' });
    expect(parseBody('a=1&b=2')).toEqual({ ok: false, reason: 'not_json' });
  });
  it('does not parse nesting past the limit (Postgres would refuse it, and it would fail a shared batch)', () => {
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    expect(parseBody(deep(maxJsonDepth)).ok).toBe(true);
    expect(parseBody(deep(maxJsonDepth + 1))).toEqual({ ok: false, reason: 'too_deep' });
    expect(parseBody(deep(20_000))).toEqual({ ok: false, reason: 'too_deep' });
  });
  it('replaces NUL and lone surrogates in the parsed event, keys included', () => {
    const parsed = parseBody('{"id":"evt_\\u0000x","k\\u0000":"\\ud800","ok":"\\ud83d\\ude00"}');
    expect(parsed).toEqual({ ok: true, isArray: false, sanitized: true, event: { id: 'evt_\ufffdx', 'k\ufffd': '\ufffd', ok: '😀' } });
  });
});

describe('hasDigitRun', () => {
  it('finds a run of min digits wherever it starts, and nothing shorter', () => {
    for (let pad = 0; pad < 12; pad++) {
      expect(hasDigitRun(`${'x'.repeat(pad)}${'7'.repeat(10)}y`, 10)).toBe(true);
      expect(hasDigitRun(`${'x'.repeat(pad)}${'7'.repeat(9)}y${'7'.repeat(9)}`, 10)).toBe(false);
    }
    expect(hasDigitRun('9'.repeat(1000), 1000)).toBe(true);
    expect(hasDigitRun(Array.from({ length: 50 }, () => '9'.repeat(999)).join(','), 1000)).toBe(false);
    expect(hasDigitRun('', 1000)).toBe(false);
  });
});

describe('hasOversizedNumber', () => {
  it('finds numbers Postgres numeric refuses, or stores as hundreds of digits, outside strings only', () => {
    for (const t of [
      '{"a":1e200000}',
      '{"a":-1E-9999}',
      '[1.5e+1000]',
      `{"a":${'9'.repeat(1000)}}`,
      `{"a":0.${'0'.repeat(999)}1}`,
      // jsonb reads these back as 309, 301 and 1,000 digits.
      '{"a":1e308}',
      '{"b":-2.5E-300}',
      '{"a":1e999}',
      '{"b":2E-00000999}',
    ])
      expect(hasOversizedNumber(t)).toBe(true);
    for (const t of [
      '{"a":1e99,"b":-2.5E-99,"c":123456789012345678901234567890}',
      '{"id":"cs_test_a1e23456b","x":"1e99999"}',
      `{"s":"${'9'.repeat(5000)}","t":"\\"}`,
      '{"a":1e0001,"b":2E-00000099}',
    ])
      expect(hasOversizedNumber(t)).toBe(false);
  });
  it('parseBody refuses such a body as oversized_number (JSON.parse would take 1e200000 as Infinity)', () => {
    expect(parseBody('{"id":"x","big":1e200000}')).toEqual({ ok: false, reason: 'oversized_number' });
    expect(parseBody('{"id":"x","small":1e99}').ok).toBe(true);
    expect(parseBody('{"id":"x","wide":1e999}')).toEqual({ ok: false, reason: 'oversized_number' });
  });
});

describe('jsonShapeProblem', () => {
  it(`refuses more than ${maxJsonContainers} objects and arrays (1 MiB of {} is 22 MB parsed), counting outside strings only`, () => {
    const many = (n: number) => `[${'{},'.repeat(n - 2)}{}]`;
    expect(jsonShapeProblem(many(maxJsonContainers), 64, maxJsonContainers)).toBeNull();
    expect(jsonShapeProblem(many(maxJsonContainers + 1), 64, maxJsonContainers)).toBe('too_many_containers');
    expect(jsonShapeProblem(`{"s":"${'{['.repeat(20_000)}"}`, 64, maxJsonContainers)).toBeNull();
    expect(parseBody(`{"junk":${many(50_000)}}`)).toEqual({ ok: false, reason: 'too_many_containers' });
    // Depth is still found first when both are broken.
    expect(jsonShapeProblem(`${'['.repeat(20_000)}${']'.repeat(20_000)}`, 64, maxJsonContainers)).toBe('too_deep');
  });
});

describe('jsonShapeProblem: items', () => {
  const items = (n: number) => `{"x":[${Array.from({ length: n }, () => '"90"').join(',')}]}`;
  it(`refuses more than ${maxJsonItems} array elements and object members in all, counting outside strings only`, () => {
    // 1 + the array's elements: the object's member and the array's elements.
    expect(jsonShapeProblem(items(maxJsonItems - 2), 64, maxJsonContainers, maxJsonItems)).toBeNull();
    expect(jsonShapeProblem(items(maxJsonItems + 1), 64, maxJsonContainers, maxJsonItems)).toBe('too_many_items');
    // Commas inside strings are text.
    expect(jsonShapeProblem(`{"s":"${','.repeat(50_000)}"}`, 64, maxJsonContainers, maxJsonItems)).toBeNull();
    expect(parseBody(items(200_000))).toEqual({ ok: false, reason: 'too_many_items' });
  });
});

describe('jsonShapeProblem: depth', () => {
  const depthExceeds = (text: string, limit: number) => jsonShapeProblem(text, limit, Number.POSITIVE_INFINITY) === 'too_deep';
  it('counts brackets outside strings only, escapes included', () => {
    expect(depthExceeds('{"a":"[[[[[[{{{{"}', 2)).toBe(false);
    expect(depthExceeds('{"a":"\\"[[["}', 1)).toBe(false);
    expect(depthExceeds('[[[]]]', 2)).toBe(true);
    expect(depthExceeds('[[[]]]', 3)).toBe(false);
  });
  it('answers the same whether the bracket count alone decides or the full scan does', () => {
    // Many siblings: more opening brackets than the limit, yet shallow.
    const wide = `[${Array.from({ length: 100 }, () => '{"a":[1]}').join(',')}]`;
    expect(depthExceeds(wide, 3)).toBe(false);
    expect(depthExceeds(wide, 2)).toBe(true);
    // Exactly at the limit, then one past it, with both kinds of bracket.
    const nested = (n: number) => `${'[{"a":'.repeat(n)}1${'}]'.repeat(n)}`;
    expect(depthExceeds(nested(32), 64)).toBe(false);
    expect(depthExceeds(`[${nested(32)}]`, 64)).toBe(true);
  });
});

describe('storedBody', () => {
  it('stores a plain JSON object body as its exact text, no raw copy', () => {
    const t = '{ "b": 2,   "a": 1 }';
    expect(storedBody(bytes(t), t, parseBody(t))).toEqual({ payload: t, rawBody: null });
  });
  it('stores the event of an array body and keeps the exact bytes in raw_body', () => {
    const t = '[{"a":1}, {"b":2}]';
    const stored = storedBody(bytes(t), t, parseBody(t));
    expect(stored.payload).toBe('{"a":1}');
    expect(text(stored.rawBody)).toBe(t);
  });
  it('replaces what Postgres jsonb refuses, keeping the exact bytes in raw_body', () => {
    const t = '{"a":"x\\u0000y","b":"\\ud800","c":"\\ud83d\\ude00"}';
    const stored = storedBody(bytes(t), t, parseBody(t));
    expect(JSON.parse(stored.payload as string)).toEqual({ a: 'x\ufffdy', b: '\ufffd', c: '😀' });
    expect(text(stored.rawBody)).toBe(t);
  });
  it('never stores a body secret_key, in the payload or the raw bytes', () => {
    const t = '{"webhook_type":"contract.created","secret_key":"s3cret"}';
    const stored = storedBody(bytes(t), t, parseBody(t));
    expect(stored.payload).not.toContain('s3cret');
    expect(stored.rawBody).toBeNull();
    const arr = '[{"secret_key":"s3cret","x":1}]';
    const fromArray = storedBody(bytes(arr), arr, parseBody(arr));
    expect(fromArray.payload).not.toContain('s3cret');
    expect(text(fromArray.rawBody)).toBe('[{"secret_key":"[redacted]","x":1}]');
  });
});

describe('maskBodySecrets', () => {
  it('masks the value in any body, parsed or not, and keeps other bytes exact', () => {
    const raw = Buffer.concat([Buffer.from('{"secret_key":"a\\"b",'), Buffer.from([0xff, 0x00]), Buffer.from('}')]);
    const masked = Buffer.from(maskBodySecrets(raw));
    expect(masked.toString('latin1')).toBe(`{"secret_key":"[redacted]",\u00ff\u0000}`);
    const plain = bytes('{"x":1}');
    expect(maskBodySecrets(plain)).toBe(plain);
  });

  // Review, stop 37: the Denefits verifier reads `"secret\u005fkey"` as the secret's field (as JSON.parse
  // does), but the mask matched only the literal name: a verified array body, a rejected body and a
  // verified body too deep to parse all kept the secret in raw_body, shown by `mcb log` and the console.
  it('masks the secret whatever escapes spell its name, in every row that keeps raw bytes', () => {
    const secret = 'sec_tenant_denefits_0123456789';
    const names = ['secret\\u005fkey', 'secret\\u005Fkey', '\\u0073ecret_key', '\\u0073\\u0065cret\\u005fk\\u0065y'];
    for (const name of names) {
      const event = `{"${name}":"${secret}","webhook_type":"contract.created"`;
      expect(JSON.parse(`${event}}`)).toHaveProperty('secret_key', secret);
      const array = `[${event},"data":{}}]`;
      const parsed = parseBody(array);
      if (!parsed.ok) throw new Error('parse');
      const accepted = buildAcceptedRow({
        tenantId: 't',
        source: 'denefits',
        bytes: bytes(array),
        text: array,
        parsed,
        headers: {},
      });
      const rejected = buildRejectedRow({
        tenantId: 't',
        source: 'denefits',
        bytes: bytes(`${event}, oops`),
        headers: {},
        errorMessage: 'invalid_json',
      });
      const deep = `${event},"x":${'['.repeat(70)}${']'.repeat(70)}}`;
      expect(parseBody(deep)).toMatchObject({ ok: false, reason: 'too_deep' });
      const raw = buildUnparseableRow({ tenantId: 't', source: 'denefits', bytes: bytes(deep), headers: {}, reason: 'too deep' });
      for (const row of [accepted, rejected, raw]) {
        expect(text(row.rawBody)).toContain(`"${name}":"[redacted]"`);
        expect(`${text(row.rawBody)} ${row.payload ?? ''}`).not.toContain(secret);
      }
    }
  });
});

describe('storableKey', () => {
  it('keeps ordinary keys and hashes unsafe or oversized ones deterministically', () => {
    expect(storableKey('evt_123')).toBe('evt_123');
    expect(storableKey('evt_\u0000')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(storableKey('evt_\u0000')).toBe(storableKey('evt_\u0000'));
    expect(storableKey('x'.repeat(10_000))).toMatch(/^sha256:/);
  });
});

describe('rows', () => {
  it('an accepted row redacts secret headers and derives event type and dedupe key', () => {
    const t = '{"id":"evt_1","type":"invoice.paid"}';
    const parsed = parseBody(t);
    if (!parsed.ok) throw new Error('parse');
    const row = buildAcceptedRow({
      tenantId: 't',
      source: 'stripe',
      bytes: bytes(t),
      text: t,
      parsed,
      headers: { 'stripe-signature': 't=1,v1=abc', 'user-agent': 'Stripe/1.0' },
    });
    expect(row).toMatchObject({ dedupeKey: 'evt_1', eventType: 'invoice.paid', payload: t, status: 'received' });
    expect(JSON.parse(row.headers)).toEqual({ 'stripe-signature': '[redacted]', 'user-agent': 'Stripe/1.0' });
  });
  it('a Stripe id with NUL becomes a storable dedupe key', () => {
    const t = '{"id":"evt_\\u0000","type":"x\\u0000"}';
    const parsed = parseBody(t);
    if (!parsed.ok) throw new Error('parse');
    const row = buildAcceptedRow({ tenantId: 't', source: 'stripe', bytes: bytes(t), text: t, parsed, headers: {} });
    expect(row.dedupeKey).not.toContain('\u0000');
    expect(row.eventType).toBe('x\ufffd');
  });
  it('a rejected row keeps only a prefix of the body, never parsed', () => {
    const big = `{"secret_key":"s3cret","pad":"${'x'.repeat(100_000)}"}`;
    const row = buildRejectedRow({
      tenantId: 't',
      source: 'manychat',
      bytes: bytes(big),
      headers: {},
      errorMessage: 'invalid_signature: x',
    });
    expect(row.payload).toBeNull();
    expect(row.rawBody?.byteLength).toBe(rejectedBodyPrefixBytes);
    expect(text(row.rawBody)).not.toContain('s3cret');
    expect(row.errorMessage).toMatch(/first 8192 kept/);
  });
  it('a rejected row keeps about 2 KB of headers: long values cut, the rest counted', () => {
    const headers: Record<string, string> = { 'x-webhook-secret': 'nope', 'user-agent': 'curl/8' };
    for (let i = 0; i < 200; i++) headers[`x-pad-${i}`] = 'v'.repeat(70);
    headers['x-huge'] = 'h'.repeat(15_000);
    const stored = storedHeaders(headers);
    expect(stored.length).toBeLessThanOrEqual(storedHeadersChars);
    const kept = JSON.parse(stored);
    expect(kept['x-webhook-secret']).toBe('[redacted]');
    expect(kept['user-agent']).toBe('curl/8');
    expect(Number(kept['x-mcb-headers-left-out'])).toBeGreaterThan(150);
    const row = buildRejectedRow({ tenantId: 't', source: 'manychat', bytes: bytes('{}'), headers, errorMessage: 'x' });
    expect(row.headers).toBe(stored);
    // Under the bound, headers are kept whole.
    expect(JSON.parse(storedHeaders({ 'user-agent': 'curl/8' }))).toEqual({ 'user-agent': 'curl/8' });
    const one = JSON.parse(storedHeaders({ 'x-huge': 'h'.repeat(15_000) }));
    expect(one['x-huge']).toMatch(/^h{256}… \(15000 chars\)$/);
  });
  it('an accepted body that is not valid UTF-8 keeps its exact bytes (the text has U+FFFD in their place)', () => {
    const raw = Buffer.concat([Buffer.from('{"id":"utf8-bad","name":"Ren'), Buffer.from([0xe9]), Buffer.from('e"}')]);
    const t = new TextDecoder().decode(raw);
    const parsed = parseBody(t);
    if (!parsed.ok) throw new Error('parse');
    const stored = storedBody(new Uint8Array(raw), t, parsed);
    expect(Buffer.from(stored.rawBody ?? new Uint8Array()).equals(raw)).toBe(true);
    expect(JSON.parse(stored.payload ?? 'null')).toEqual({ id: 'utf8-bad', name: 'Ren\ufffde' });
  });
  it('an accepted body with a UTF-8 byte order mark keeps its exact bytes (the decoder drops the mark)', () => {
    const raw = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"id":"bom"}')]);
    const t = new TextDecoder().decode(raw);
    const parsed = parseBody(t);
    if (!parsed.ok) throw new Error('parse');
    const stored = storedBody(new Uint8Array(raw), t, parsed);
    expect(Buffer.from(stored.rawBody ?? new Uint8Array()).equals(raw)).toBe(true);
    expect(JSON.parse(stored.payload ?? 'null')).toEqual({ id: 'bom' });
  });
});
