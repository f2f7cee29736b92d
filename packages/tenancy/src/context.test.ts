import { MissingCredentials } from '@mcb/core';
import { describe, expect, it } from 'vitest';
import { activeWebhookSecrets, requireIntegration } from './context';
import type { IntegrationSecrets, TenantContext } from './context-types';
import { isValidSlug } from './slug';
import { buildExampleRequest, secretPlaceholder, webhookSetupGuide, withSecret } from './webhook-urls';

const secrets = (over: Partial<IntegrationSecrets> = {}): IntegrationSecrets => ({
  provider: 'stripe',
  credentials: {},
  webhookSecret: 'whsec_new',
  previousWebhookSecret: null,
  previousSecretExpiresAt: null,
  ...over,
});

describe('activeWebhookSecrets', () => {
  const expires = new Date('2026-03-02T12:00:00Z');
  const rotated = secrets({ previousWebhookSecret: 'whsec_old', previousSecretExpiresAt: expires });

  it('gives the current secret first, then the previous one while the overlap lasts', () => {
    expect(activeWebhookSecrets(rotated, new Date('2026-03-01T12:00:00Z'))).toEqual(['whsec_new', 'whsec_old']);
    expect(activeWebhookSecrets(rotated, new Date(expires.getTime() - 1))).toEqual(['whsec_new', 'whsec_old']);
  });

  it('drops the previous secret the moment the overlap ends', () => {
    expect(activeWebhookSecrets(rotated, expires)).toEqual(['whsec_new']);
    expect(activeWebhookSecrets(rotated, new Date('2027-01-01T00:00:00Z'))).toEqual(['whsec_new']);
  });

  it('is empty without a secret, and ignores a previous secret without an expiry', () => {
    expect(activeWebhookSecrets(secrets({ webhookSecret: null }), new Date())).toEqual([]);
    expect(activeWebhookSecrets(secrets({ previousWebhookSecret: 'whsec_old' }), new Date())).toEqual(['whsec_new']);
  });

  // A reviewer (stop 28): secrets stored with spaces around them, before setIntegration refused them,
  // could never match the trimmed secret a sender presents.
  it("trims stored secrets as senders' are trimmed; a secret of spaces only is none", () => {
    const padded = secrets({ webhookSecret: ' whsec_new\n', previousWebhookSecret: '  whsec_old ', previousSecretExpiresAt: expires });
    expect(activeWebhookSecrets(padded, new Date('2026-03-01T12:00:00Z'))).toEqual(['whsec_new', 'whsec_old']);
    expect(activeWebhookSecrets(secrets({ webhookSecret: '        ' }), new Date())).toEqual([]);
    const same = secrets({ webhookSecret: 'whsec_new ', previousWebhookSecret: 'whsec_new', previousSecretExpiresAt: expires });
    expect(activeWebhookSecrets(same, new Date('2026-03-01T12:00:00Z'))).toEqual(['whsec_new']);
  });
});

describe('requireIntegration', () => {
  const ctx = { slug: 'acme', credentials: { stripe: secrets() } } as unknown as TenantContext;
  it('returns the secrets of a configured provider', () => {
    expect(requireIntegration(ctx, 'stripe').webhookSecret).toBe('whsec_new');
  });
  it('throws MissingCredentials naming provider and tenant', () => {
    expect(() => requireIntegration(ctx, 'meta')).toThrow(MissingCredentials);
    expect(() => requireIntegration(ctx, 'meta')).toThrow(/^Missing credentials: meta for tenant acme$/);
  });
});

describe('slugs', () => {
  it.each(['acme', 'ppcu', 'a1', 'acme-health', 'x'.repeat(40)])('accepts %s', (s) => expect(isValidSlug(s)).toBe(true));
  it.each(['a', 'Acme', 'acme_health', 'acme health', 'x'.repeat(41), '../etc', 'acme%20'])('refuses %s', (s) =>
    expect(isValidSlug(s)).toBe(false),
  );
});

describe('webhookSetupGuide', () => {
  const guide = webhookSetupGuide('https://hooks.example.com/', 'acme');
  it('gives the exact URL of every source', () => {
    expect(guide.map((g) => g.url)).toEqual([
      'https://hooks.example.com/api/webhooks/acme/manychat',
      'https://hooks.example.com/api/webhooks/acme/ghl',
      'https://hooks.example.com/api/webhooks/acme/stripe',
      'https://hooks.example.com/api/webhooks/acme/denefits',
      'https://hooks.example.com/api/webhooks/acme/perspective',
    ]);
  });
  it('names the header or query parameter each tool sends, with a placeholder instead of a secret', () => {
    const text = (source: string) => guide.find((g) => g.source === source)?.steps.join('\n') ?? '';
    expect(text('manychat')).toContain('X-Webhook-Secret: <manychat-secret>');
    expect(text('ghl')).toContain('/api/webhooks/acme/ghl?secret=<ghl-secret>');
    expect(text('perspective')).toContain('/api/webhooks/acme/perspective?secret=<perspective-secret>');
    expect(text('denefits')).toContain('"secret_key"');
    expect(text('stripe')).toContain('mcb integration set acme stripe --webhook-secret whsec_');
  });
  it('puts a real secret in a step URL-encoded where it stands in a URL, as is in a header', () => {
    const secret = 'Pa ss+w&rd#1/=';
    const steps = (source: 'ghl' | 'perspective') =>
      (guide.find((g) => g.source === source)?.steps ?? []).map((s) => withSecret(s, source, secret));
    expect(steps('perspective').join('\n')).toContain(`/api/webhooks/acme/perspective?secret=${encodeURIComponent(secret)}`);
    expect(steps('ghl').join('\n')).toContain(`/api/webhooks/acme/ghl?secret=${encodeURIComponent(secret)}`);
    expect(steps('ghl').join('\n')).toContain(`header X-Webhook-Secret: ${secret}`);
    expect(new URL(`https://h/x?secret=${encodeURIComponent(secret)}`).searchParams.get('secret')).toBe(secret);
    expect(buildExampleRequest('https://h', 'acme', 'perspective', secretPlaceholder('perspective')).url).toBe(
      'https://h/api/webhooks/acme/perspective?secret=<perspective-secret>',
    );
    expect(buildExampleRequest('https://h', 'acme', 'perspective', secret).url).toContain(`?secret=${encodeURIComponent(secret)}`);
  });
  it('says which GHL locations signed deliveries are accepted for, or how to set one', () => {
    const ghl = (ids?: string[]) =>
      webhookSetupGuide('https://h.example', 'acme', { ghlLocationIds: ids })
        .find((g) => g.source === 'ghl')
        ?.steps.join('\n') ?? '';
    expect(ghl(['loc_A', 'loc_B'])).toContain('accepted only for location loc_A, loc_B; any other location gets 401');
    expect(ghl()).toContain('refused until a location is set: mcb integration set acme ghl --location-id <locationId>');
  });
});
