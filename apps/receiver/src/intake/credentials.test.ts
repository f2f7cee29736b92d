import { describe, expect, it } from 'vitest';
import { carriesCredentials } from './credentials';

const none = new Uint8Array(0);
const body = (text: string) => new TextEncoder().encode(text);

describe('carriesCredentials', () => {
  it('sees a signature or secret header, Authorization and ?secret=, whatever their value', () => {
    expect(carriesCredentials('stripe', { 'stripe-signature': 't=1,v1=00' }, {}, none)).toBe(true);
    expect(carriesCredentials('ghl', { 'x-ghl-signature': 'AAAA' }, {}, none)).toBe(true);
    expect(carriesCredentials('ghl', { 'x-wh-signature': 'AAAA' }, {}, none)).toBe(true);
    expect(carriesCredentials('manychat', { 'x-webhook-secret': 'old-secret' }, {}, none)).toBe(true);
    expect(carriesCredentials('perspective', { authorization: 'Bearer old' }, {}, none)).toBe(true);
    expect(carriesCredentials('manychat', {}, { secret: 'old' }, none)).toBe(true);
  });

  it('sees a body secret_key for denefits only', () => {
    expect(carriesCredentials('denefits', {}, {}, body('{"secret_key":"old","webhook_type":"x"}'))).toBe(true);
    expect(carriesCredentials('manychat', {}, {}, body('{"secret_key":"old"}'))).toBe(false);
  });

  it('is false for credential-less junk: no header, blank values, other headers and query parameters', () => {
    expect(carriesCredentials('stripe', { 'content-type': 'application/json', 'user-agent': 'curl' }, { event: 'x' }, body('{}'))).toBe(
      false,
    );
    expect(carriesCredentials('manychat', { 'x-webhook-secret': '  ' }, { secret: '' }, none)).toBe(false);
  });
});
