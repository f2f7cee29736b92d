import { describe, expect, it } from 'vitest';
import { describeSignatureFailure } from './verify';

describe('describeSignatureFailure', () => {
  it('names a HighLevel signature header that did not verify, and which one', () => {
    expect(describeSignatureFailure('ghl', 'invalid_signature', { 'x-ghl-signature': 'AAAA' }, {}, 'acme')).toBe(
      "the X-GHL-Signature (Ed25519) header does not verify with HighLevel's public key over the body as received (altered on the way, or not signed by HighLevel)",
    );
    expect(describeSignatureFailure('ghl', 'invalid_signature', { 'x-wh-signature': 'AAAA' }, {}, 'acme')).toMatch(
      /^the X-WH-Signature \(RSA\) header/,
    );
    // An unsigned workflow webhook with a wrong shared secret: the secret, not a signature.
    expect(describeSignatureFailure('ghl', 'invalid_signature', { 'x-webhook-secret': 'nope' }, {}, 'acme')).toMatch(
      /^the secret in the X-Webhook-Secret header matches none of the tenant's ghl webhook secrets/,
    );
  });

  it("denefits with no header or query secret: the body's secret_key was what did not match", () => {
    expect(describeSignatureFailure('denefits', 'invalid_signature', {}, {}, 'acme')).toBe(
      "the secret in the body's secret_key matches none of the tenant's denefits webhook secrets (the current one, and the previous one during a rotation); compare with mcb urls acme --show-secrets",
    );
  });

  it('is null for the reasons whose message says it already, and never carries a presented value', () => {
    for (const reason of ['no_secret', 'missing_signature', 'stale_timestamp', 'foreign_location', 'shared_location'] as const)
      expect(describeSignatureFailure('stripe', reason, {}, {}, 'acme')).toBeNull();
    const text = describeSignatureFailure(
      'manychat',
      'invalid_signature',
      { authorization: 'Bearer s3cr3t-value' },
      { secret: 'q-s3cr3t' },
      'acme',
    );
    expect(text).toMatch(/Authorization: Bearer header/);
    expect(text).not.toMatch(/s3cr3t/);
  });
});
