import { describe, expect, it } from 'vitest';
import { maskBodySecretText, redactBodySecrets } from './redact';

const parse = (text: string) => {
  const v = JSON.parse(text);
  return { ok: true as const, event: Array.isArray(v) ? v[0] : v, isArray: Array.isArray(v) };
};

describe('redactBodySecrets', () => {
  it('replaces a top-level secret_key in the event and the text, keeping the rest of the text exact', () => {
    const text = '{"event_type":"contact_created",  "secret_key" : "s3cr3t-value", "n":1}';
    const out = redactBodySecrets(text, parse(text));
    expect(out.text).toBe('{"event_type":"contact_created",  "secret_key" : "[redacted]", "n":1}');
    expect(out.parsed.event).toEqual({ event_type: 'contact_created', secret_key: '[redacted]', n: 1 });
    expect(out.text).not.toContain('s3cr3t');
  });

  it('handles a JSON array body (one event: its first element) and escaped quotes in the value', () => {
    const text = '[{"secret_key":"a\\"b","x":1},{"y":2}]';
    const out = redactBodySecrets(text, parse(text));
    expect(out.text).toBe('[{"secret_key":"[redacted]","x":1},{"y":2}]');
    expect(out.parsed.event).toEqual({ secret_key: '[redacted]', x: 1 });
  });

  it('an escaped key (secret\\u005fkey) cannot smuggle the value through: the text is re-serialized', () => {
    const text = '{"secret\\u005fkey":"s3cr3t-value","x":1}';
    const out = redactBodySecrets(text, parse(text));
    expect(out.text).not.toContain('s3cr3t');
    expect(JSON.parse(out.text)).toEqual({ secret_key: '[redacted]', x: 1 });
  });

  it('a non-string secret_key is replaced too', () => {
    const text = '{"secret_key":{"v":"s3cr3t-value"}}';
    const out = redactBodySecrets(text, parse(text));
    expect(out.text).not.toContain('s3cr3t');
    expect(out.parsed.event).toEqual({ secret_key: '[redacted]' });
  });

  it('masks secret_key in a body that is not JSON (form-encoded, broken JSON)', () => {
    expect(redactBodySecrets('a=1&secret_key=s3cr3t-value&b=2', { ok: false }).text).toBe('a=1&secret_key=[redacted]&b=2');
    expect(redactBodySecrets('{"secret_key": "s3cr3t-value", oops', { ok: false }).text).toBe('{"secret_key": "[redacted]", oops');
  });

  it('returns the very same inputs when there is nothing to redact (no cost on the hot path)', () => {
    const text = '{"subscriber":{"id":"1","secret_key":"nested values are not credentials"}}';
    const parsed = parse(text);
    const out = redactBodySecrets(text, parsed);
    expect(out.text).toBe(text);
    expect(out.parsed).toBe(parsed);
  });
});

describe('maskBodySecretText', () => {
  it('masks the value whatever escapes spell the name (as JSON.parse and the Denefits verifier read it), at any depth', () => {
    for (const name of [
      'secret_key',
      'secret\\u005fkey',
      'secret\\u005Fkey',
      '\\u0073ecret_k\\u0065\\u0079',
      '\\u0073\\u0065\\u0063\\u0072\\u0065\\u0074\\u005F\\u006B\\u0065\\u0079',
    ]) {
      const text = `{"a":{"${name}" :  "s3cr3t\\"value"},"b":1}`;
      expect(maskBodySecretText(text)).toBe(`{"a":{"${name}" :  "[redacted]"},"b":1}`);
    }
    // Other names, even close ones, are left alone.
    for (const text of [
      '{"secret\\u005fkeys":"v"}',
      '{"secret\\u002dkey":"v"}',
      '{"xsecret_key":"v"}',
      '{"\\u0053ecret_key":"v"}',
      '{"secret_key":1}',
    ]) {
      expect(maskBodySecretText(text)).toBe(text);
    }
  });

  it('masks a form field whose underscore is percent-encoded', () => {
    expect(maskBodySecretText('a=1&secret%5Fkey=s3cr3t&b=2')).toBe('a=1&secret%5Fkey=[redacted]&b=2');
    expect(maskBodySecretText('secret%5fkey=s3cr3t')).toBe('secret%5fkey=[redacted]');
  });

  it('returns the same text when neither the name nor a \\u escape is in it', () => {
    const text = '{"x":"no credentials here"}';
    expect(maskBodySecretText(text)).toBe(text);
  });
});
