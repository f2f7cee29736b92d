import { describe, expect, it } from 'vitest';
import { buildRow, parseBody, storedBody } from './row';

describe('parseBody', () => {
  it('takes the first element of a JSON array; an empty array or non-JSON is invalid', () => {
    expect(parseBody('[{"a":1},{"b":2}]')).toEqual({ ok: true, event: { a: 1 }, isArray: true });
    expect(parseBody('{"a":1}')).toEqual({ ok: true, event: { a: 1 }, isArray: false });
    expect(parseBody('[]')).toEqual({ ok: false });
    expect(parseBody('a=1&b=2')).toEqual({ ok: false });
  });
});

describe('storedBody', () => {
  it('stores a JSON object body as its exact text', () => {
    const text = '{ "b": 2,   "a": 1 }';
    expect(storedBody('manychat', text, parseBody(text))).toEqual({ payload: text, rawBody: null });
  });
  it('stores the event of an array body and keeps the exact text in raw_body', () => {
    const text = '[{"a":1}, {"b":2}]';
    expect(storedBody('manychat', text, parseBody(text))).toEqual({ payload: '{"a":1}', rawBody: text });
  });
  it('replaces what Postgres jsonb refuses, keeping the exact text in raw_body', () => {
    const text = '{"a":"x\\u0000y","b":"\\ud800","c":"\\ud83d\\ude00"}';
    const stored = storedBody('manychat', text, parseBody(text));
    expect(JSON.parse(stored.payload as string)).toEqual({ a: 'x\ufffdy', b: '\ufffd', c: '😀' });
    expect(stored.rawBody).toBe(text);
  });
  it('never stores the Denefits body secret', () => {
    const text = '{"webhook_type":"contract.created","secret_key":"s3cret"}';
    const stored = storedBody('denefits', text, parseBody(text));
    expect(stored.payload).not.toContain('s3cret');
    expect(stored.rawBody).toBeNull();
  });
  it('keeps a non-JSON body as raw text without NUL bytes', () => {
    expect(storedBody('perspective', 'a\u0000b', { ok: false })).toEqual({ payload: null, rawBody: 'a\ufffdb' });
  });
});

describe('buildRow', () => {
  it('redacts secret headers and derives event type and dedupe key', () => {
    const text = '{"id":"evt_1","type":"invoice.paid"}';
    const row = buildRow({
      tenantId: 't',
      source: 'stripe',
      bytes: new TextEncoder().encode(text),
      text,
      parsed: parseBody(text),
      headers: { 'stripe-signature': 't=1,v1=abc', 'user-agent': 'Stripe/1.0' },
      status: 'received',
      errorMessage: null,
    });
    expect(row).toMatchObject({ dedupeKey: 'evt_1', eventType: 'invoice.paid', payload: text });
    expect(JSON.parse(row.headers)).toEqual({ 'stripe-signature': '[redacted]', 'user-agent': 'Stripe/1.0' });
  });
});
