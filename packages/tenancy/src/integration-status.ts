import { type Database, type Provider, withTenantSql } from '@mcb/db';

/**
 * Records a successful run of a tenant's integration (Meta sync, Conversions API send):
 * `last_success_at = now()`, `last_error = NULL`. Under RLS, on the app role.
 */
export async function markIntegrationSuccess(database: Database, tenantId: string, provider: Provider): Promise<void> {
  await withTenantSql(
    database.sql,
    tenantId,
    (tx) => tx`
    update tenant_integrations set last_success_at = now(), last_error = null, updated_at = now()
    where tenant_id = ${tenantId} and provider = ${provider}`,
  );
}

/** Records a failed run in `last_error` (first 1,000 characters; a message that never contains a secret). */
export async function markIntegrationError(database: Database, tenantId: string, provider: Provider, message: string): Promise<void> {
  await withTenantSql(
    database.sql,
    tenantId,
    (tx) => tx`
    update tenant_integrations set last_error = ${message.slice(0, 1_000)}, updated_at = now()
    where tenant_id = ${tenantId} and provider = ${provider}`,
  );
}
