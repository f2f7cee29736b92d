import { sql } from 'drizzle-orm';
import { boolean, check, foreignKey, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, tenantId, updatedAt } from './columns';
import { tenants } from './tenants';

export const providers = ['manychat', 'ghl', 'stripe', 'denefits', 'perspective', 'meta', 'resend', 'meta_capi'] as const;
export type Provider = (typeof providers)[number];

/** An encrypted value as stored: AES-256-GCM with the id of the key that sealed it (made and opened by @mcb/tenancy crypto). */
export interface SealedEnvelope {
  v: 1;
  kid: string;
  iv: string;
  tag: string;
  ct: string;
}

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
    credentials: jsonb('credentials').$type<SealedEnvelope | null>(),
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
/** A `tenant_integrations` row as SQL returns it (snake_case column names, schema types). */
export type TenantIntegrationRow = RowOf<typeof tenantIntegrations>;
/** `tenant_integrations` row (whole or some columns) → `TenantIntegration` fields: the table's one mapper (ADR 0018). */
export const toTenantIntegration = rowMapper(tenantIntegrations);
