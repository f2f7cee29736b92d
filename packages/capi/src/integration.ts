import { type Database, withTenantSql } from '@mcb/db';
import { MetaApiError, MetaTokenExpired } from '@mcb/meta';
import type { TenantContextLoader } from '@mcb/tenancy';
import { type CapiTarget, capiTargetOf } from './config';

/** Reads a tenant's target through the context loader (cached, decrypted). Throws `MissingCredentials` / `InvalidConfig`. */
export async function loadCapiTarget(loader: TenantContextLoader, tenantId: string): Promise<CapiTarget> {
  return capiTargetOf(await loader.getTenantContextById(tenantId));
}

/** Prefix of `last_error` after Meta answered 190: the scheduler skips the tenant until a new token is stored. */
export const capiTokenExpiredError = 'token_expired';

/** Records a successful run: `last_success_at = now()`, `last_error = NULL` (under RLS). */
export async function markCapiSuccess(database: Database, tenantId: string): Promise<void> {
  await withTenantSql(
    database.sql,
    tenantId,
    (tx) => tx`
    update tenant_integrations set last_success_at = now(), last_error = null, updated_at = now()
    where tenant_id = ${tenantId} and provider = 'meta_capi'`,
  );
}

/** Records a failure in the integration's `last_error` (a message that never contains the token). */
export async function markCapiError(database: Database, tenantId: string, message: string): Promise<void> {
  await withTenantSql(
    database.sql,
    tenantId,
    (tx) => tx`
    update tenant_integrations set last_error = ${message.slice(0, 1_000)}, updated_at = now()
    where tenant_id = ${tenantId} and provider = 'meta_capi'`,
  );
}

/**
 * What the integration's `last_error` says after a failed send (worker, CLI): a 190 is prefixed
 * `token_expired` (the tick skips it). Whether the failure is retried is not decided here: see
 * apps/worker/src/errors.ts (jobs). A Meta refusal of one event never gets here: `runCapiSend`
 * records it on that event's send and goes on; one that escapes refused the whole request.
 */
export function capiLastError(err: unknown): string {
  if (err instanceof MetaTokenExpired) return `${capiTokenExpiredError}: ${err.message}`;
  if (err instanceof MetaApiError) return err.message;
  return `capi send failed: ${err instanceof Error ? err.message : String(err)}`;
}
