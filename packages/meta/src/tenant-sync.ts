import { type Logger, MissingCredentials } from '@mcb/core';
import { type Database, withTenantSql } from '@mcb/db';
import { parseTenantConfig, type TenantContext, type TenantContextLoader } from '@mcb/tenancy';
import { createGraphClient } from './client';
import { MetaRateLimited, MetaRequestError, MetaTokenExpired, MetaTransientError } from './errors';
import { type MetaSyncCheckpoint, type MetaSyncOptions, type MetaSyncResult, syncMetaAccount } from './sync';
import { type DateRange, lookbackRange } from './window';

/** Settings shared by every tenant's sync (from the app's env). */
export interface MetaSyncSettings {
  graphUrl: string;
  apiVersion: string;
  pageSize?: number;
  batchSize?: number;
  timeoutMs?: number;
  maxRetries?: number;
  retryBaseMs?: number;
  defaultRateLimitWaitMs?: number;
}

/** What one tenant's sync needs. `accessToken` is a secret: never log it or put it in job data. */
export interface MetaSyncTarget {
  tenantId: string;
  slug: string;
  accessToken: string;
  adAccountId: string;
  timeZone: string;
  lookbackDays: number;
}

function targetOf(tenant: { id: string; slug: string; config: unknown }, credentials: Record<string, unknown>): MetaSyncTarget {
  const accessToken = credentials.access_token;
  const adAccountId = credentials.ad_account_id;
  if (typeof accessToken !== 'string' || !accessToken || (typeof adAccountId !== 'string' && typeof adAccountId !== 'number'))
    throw new MissingCredentials(tenant.slug, 'meta (access_token, ad_account_id)');
  const config = parseTenantConfig(tenant.config);
  return {
    tenantId: tenant.id,
    slug: tenant.slug,
    accessToken,
    adAccountId: String(adAccountId),
    timeZone: config.timezone,
    lookbackDays: config.meta.lookback_days,
  };
}

/** The sync target of a loaded tenant context. Throws `MissingCredentials` without an active `meta` integration. */
export function metaTargetOf(ctx: TenantContext): MetaSyncTarget {
  const meta = ctx.credentials.meta;
  if (!meta) throw new MissingCredentials(ctx.slug, 'meta');
  return targetOf({ id: ctx.id, slug: ctx.slug, config: ctx.config }, meta.credentials);
}

/** Reads the sync target through the tenancy context loader (cached, decrypted credentials). */
export async function loadMetaTarget(loader: TenantContextLoader, tenantId: string): Promise<MetaSyncTarget> {
  return metaTargetOf(await loader.getTenantContextById(tenantId));
}

/**
 * Prefix of `last_error` after a 190: the scheduler skips such integrations until an operator
 * stores a new token (`mcb integration set` clears `last_error`).
 */
export const metaTokenExpiredError = 'token_expired';

/** Records a successful sync: `last_success_at = now()`, `last_error = NULL` (under RLS). */
export async function markMetaSyncSuccess(database: Database, tenantId: string): Promise<void> {
  await withTenantSql(
    database.sql,
    tenantId,
    (tx) => tx`
    update tenant_integrations set last_success_at = now(), last_error = null, updated_at = now()
    where tenant_id = ${tenantId} and provider = 'meta'`,
  );
}

/** Records a failed sync in `last_error` (message only: it never contains the token). */
export async function markMetaSyncError(database: Database, tenantId: string, message: string): Promise<void> {
  await withTenantSql(
    database.sql,
    tenantId,
    (tx) => tx`
    update tenant_integrations set last_error = ${message.slice(0, 1_000)}, updated_at = now()
    where tenant_id = ${tenantId} and provider = 'meta'`,
  );
}

/** How a failed sync is handled by every caller (worker, CLI). */
export type MetaFailure =
  | { kind: 'rate_limited'; waitMs: number }
  /** Retrying cannot help (190, bad ad account, missing permission): record and stop. */
  | { kind: 'permanent'; lastError: string }
  /** 5xx / network / database trouble: retry with backoff; record only when giving up. */
  | { kind: 'retryable'; lastError: string };

/** Classifies a sync failure; `lastError` is what `tenant_integrations.last_error` should say. */
export function classifyMetaFailure(err: unknown): MetaFailure {
  if (err instanceof MetaRateLimited) return { kind: 'rate_limited', waitMs: err.waitMs };
  if (err instanceof MetaTokenExpired) return { kind: 'permanent', lastError: `${metaTokenExpiredError}: ${err.message}` };
  if (err instanceof MetaRequestError) return { kind: 'permanent', lastError: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'retryable', lastError: err instanceof MetaTransientError ? message : `sync failed: ${message}` };
}

export interface TenantMetaSyncOptions extends Pick<MetaSyncOptions, 'onProgress' | 'onCheckpoint' | 'totals'> {
  database: Database;
  target: MetaSyncTarget;
  settings: MetaSyncSettings;
  /** Explicit range (CLI backfill); default: the tenant's `lookback_days` ending today in its time zone. */
  range?: DateRange;
  resumeFrom?: MetaSyncCheckpoint | null;
  log?: Logger;
  now?: Date;
  /** Aborts the sync's Graph requests (worker shutdown); committed batches and the checkpoint stay. */
  signal?: AbortSignal;
}

/**
 * One tenant's sync with the shared settings: builds the Graph client for its token and runs
 * `syncMetaAccount`. Does not record success or failure (callers decide with `markMetaSync*`).
 */
export async function runTenantMetaSync(options: TenantMetaSyncOptions): Promise<MetaSyncResult> {
  const { target, settings } = options;
  const client = createGraphClient({
    baseUrl: settings.graphUrl,
    version: settings.apiVersion,
    accessToken: target.accessToken,
    timeoutMs: settings.timeoutMs,
    maxRetries: settings.maxRetries,
    retryBaseMs: settings.retryBaseMs,
    defaultRateLimitWaitMs: settings.defaultRateLimitWaitMs,
    log: options.log,
    signal: options.signal,
  });
  return syncMetaAccount({
    database: options.database,
    client,
    tenantId: target.tenantId,
    adAccountId: target.adAccountId,
    range: options.range ?? lookbackRange(target.lookbackDays, target.timeZone, options.now),
    resumeFrom: options.resumeFrom,
    pageSize: settings.pageSize,
    batchSize: settings.batchSize,
    onProgress: options.onProgress,
    onCheckpoint: options.onCheckpoint,
    totals: options.totals,
    log: options.log,
  });
}
