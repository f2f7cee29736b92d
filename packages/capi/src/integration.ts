import { type Database, withTenantSql } from '@mcb/db';
import { MetaRateLimited, MetaRequestError, MetaTokenExpired, MetaTransientError } from '@mcb/meta';
import type { TenantContextLoader } from '@mcb/tenancy';
import { type CapiTarget, capiTargetOf } from './config';
import { isRequestWideError } from './outbox';

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

/** How a failed send is handled by every caller (worker, CLI). */
export type CapiFailure =
  | { kind: 'rate_limited'; waitMs: number }
  /** Expired token, unknown dataset, missing permission: record and stop until an operator acts. */
  | { kind: 'permanent'; lastError: string }
  /** 5xx, network, database: retry with backoff. */
  | { kind: 'retryable'; lastError: string };

export function classifyCapiFailure(err: unknown): CapiFailure {
  if (err instanceof MetaRateLimited) return { kind: 'rate_limited', waitMs: err.waitMs };
  if (err instanceof MetaTokenExpired) return { kind: 'permanent', lastError: `${capiTokenExpiredError}: ${err.message}` };
  if (err instanceof MetaRequestError && isRequestWideError(err)) return { kind: 'permanent', lastError: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'retryable', lastError: err instanceof MetaTransientError ? message : `capi send failed: ${message}` };
}
