import { sql } from 'drizzle-orm';
import { boolean, check, foreignKey, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, tenantId, updatedAt } from './columns';
import { tenants } from './tenants';

export const providers = ['manychat', 'ghl', 'stripe', 'denefits', 'perspective', 'meta', 'resend', 'meta_capi'] as const;
export type Provider = (typeof providers)[number];

/**
 * Per-tenant credentials. `credentials` and both webhook secrets hold encrypted envelopes
 * (AES-256-GCM with a key id, see @mcb/tenancy crypto), never plaintext.
 */
export const tenantIntegrations = pgTable(
  'tenant_integrations',
  {
    id: uuid('id').notNull().defaultRandom(),
    tenantId: tenantId(),
    provider: text('provider').$type<Provider>().notNull(),
    credentials: jsonb('credentials').$type<Record<string, unknown> | null>(),
    webhookSecret: text('webhook_secret'),
    previousWebhookSecret: text('previous_webhook_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    isActive: boolean('is_active').notNull().default(true),
    lastError: text('last_error'),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('tenant_integrations_tenant_provider_unique').on(t.tenantId, t.provider),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
    check(
      'tenant_integrations_provider_check',
      sql`${t.provider} in ('manychat','ghl','stripe','denefits','perspective','meta','resend','meta_capi')`,
    ),
  ],
);

export type TenantIntegration = typeof tenantIntegrations.$inferSelect;
