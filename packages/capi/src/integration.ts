import type { Database } from '@mcb/db';
import { MetaApiError, MetaRequestError, MetaTokenExpired } from '@mcb/meta';
import { markIntegrationError, markIntegrationSuccess, type TenantContextLoader } from '@mcb/tenancy';
import { type CapiTarget, capiTargetOf } from './config';

/** Reads a tenant's target through the context loader (cached, decrypted). Throws `MissingCredentials` / `InvalidConfig`. */
export async function loadCapiTarget(loader: TenantContextLoader, tenantId: string): Promise<CapiTarget> {
  return capiTargetOf(await loader.getTenantContextById(tenantId));
}

/** Prefix of `last_error` after Meta answered 190: the scheduler skips the tenant until a new token is stored. */
export const capiTokenExpiredError = 'token_expired';

/**
 * Prefix of `last_error` after Meta refused a whole request for the integration (unknown dataset, missing
 * permission: `isRequestWideError`): the scheduler tries the tenant again only after `capiRefusedRetryMs`
 * (a permission granted again in Meta, with nothing changed here, is picked up within that), not every
 * minute; `mcb integration set` clears it at once.
 */
export const capiRefusedError = 'refused';
export const capiRefusedRetryMs = 3_600_000;

/** Records a successful send of the `meta_capi` integration (`markIntegrationSuccess`). */
export function markCapiSuccess(database: Database, tenantId: string): Promise<void> {
  return markIntegrationSuccess(database, tenantId, 'meta_capi');
}

/** Records a failed send in the `meta_capi` integration's `last_error` (`markIntegrationError`). */
export function markCapiError(database: Database, tenantId: string, message: string): Promise<void> {
  return markIntegrationError(database, tenantId, 'meta_capi', message);
}

/**
 * What the integration's `last_error` says after a failed send (worker, CLI): a 190 is prefixed
 * `token_expired` (the tick skips it), a refusal of the whole request `refused` (the tick waits an hour). Whether the failure is retried is not decided here: see
 * apps/worker/src/errors.ts (jobs). A Meta refusal of one event never gets here: `runCapiSend`
 * records it on that event's send and goes on; one that escapes refused the whole request.
 */
export function capiLastError(err: unknown): string {
  if (err instanceof MetaTokenExpired) return `${capiTokenExpiredError}: ${err.message}`;
  if (err instanceof MetaRequestError) return `${capiRefusedError}: ${err.message}`;
  if (err instanceof MetaApiError) return err.message;
  return `capi send failed: ${err instanceof Error ? err.message : String(err)}`;
}
