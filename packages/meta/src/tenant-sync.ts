import { type Logger, MissingCredentials } from '@mcb/core';
import type { Database } from '@mcb/db';
import {
  markIntegrationError,
  markIntegrationSuccess,
  parseTenantConfig,
  type TenantContext,
  type TenantContextLoader,
} from '@mcb/tenancy';
import { type GraphSettings, graphClientFor } from './client';
import { MetaApiError, MetaTokenExpired } from './errors';
import { type MetaSyncCheckpoint, type MetaSyncOptions, type MetaSyncResult, syncMetaAccount } from './sync';
import { type MetaSyncLock, withMetaSyncLock } from './sync-lock';
import { type DateRange, lookbackRange } from './window';

/** Settings shared by every tenant's sync (from the app's env). */
export interface MetaSyncSettings extends GraphSettings {
  pageSize?: number;
  batchSize?: number;
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

/**
 * Checks a `meta` integration's credentials (`mcb integration set` before storing them, the sync before
 * using them): throws `MissingCredentials` naming both keys and the command when one is missing.
 */
export function assertMetaCredentials(slug: string, credentials: Record<string, unknown>): { accessToken: string; adAccountId: string } {
  const accessToken = credentials.access_token;
  const adAccountId = credentials.ad_account_id;
  // Only the keys missing or unusable are named (it named both when one was given: operator walk, stop 38).
  const missing = [
    ...(typeof accessToken !== 'string' || !accessToken ? ['access_token'] : []),
    ...((typeof adAccountId !== 'string' && typeof adAccountId !== 'number') || adAccountId === '' ? ['ad_account_id'] : []),
  ];
  if (typeof accessToken !== 'string' || missing.length > 0)
    throw new MissingCredentials(
      slug,
      `meta (${missing.join(', ')})`,
      `set them with: mcb integration set ${slug} meta --credentials '{"access_token":"…","ad_account_id":"act_…"}'`,
    );
  return { accessToken, adAccountId: String(adAccountId) };
}

function targetOf(tenant: { id: string; slug: string; config: unknown }, credentials: Record<string, unknown>): MetaSyncTarget {
  const { accessToken, adAccountId } = assertMetaCredentials(tenant.slug, credentials);
  const config = parseTenantConfig(tenant.config);
  return {
    tenantId: tenant.id,
    slug: tenant.slug,
    accessToken,
    adAccountId,
    timeZone: config.timezone,
    lookbackDays: config.meta.lookback_days,
  };
}

/** The sync target of a loaded tenant context. Throws `MissingCredentials` without an active `meta` integration. */
export function metaTargetOf(ctx: TenantContext): MetaSyncTarget {
  const meta = ctx.credentials.meta;
  if (!meta)
    throw new MissingCredentials(
      ctx.slug,
      'meta',
      `set them with: mcb integration set ${ctx.slug} meta --credentials '{"access_token":"…","ad_account_id":"act_…"}'`,
    );
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

/** Records a successful sync of the `meta` integration (`markIntegrationSuccess`). */
export function markMetaSyncSuccess(database: Database, tenantId: string): Promise<void> {
  return markIntegrationSuccess(database, tenantId, 'meta');
}

/** Records a failed sync in the `meta` integration's `last_error` (`markIntegrationError`). */
export function markMetaSyncError(database: Database, tenantId: string, message: string): Promise<void> {
  return markIntegrationError(database, tenantId, 'meta', message);
}

/**
 * What `tenant_integrations.last_error` says after a failed sync (worker, CLI): a 190 is prefixed
 * `token_expired` (the scheduler skips it). Whether the failure is retried is not decided here: see
 * apps/worker/src/errors.ts (jobs) — a rate limit (`MetaRateLimited`) is waited out, never recorded.
 */
export function metaSyncLastError(err: unknown): string {
  if (err instanceof MetaTokenExpired) return `${metaTokenExpiredError}: ${err.message}`;
  if (err instanceof MetaApiError) return err.message;
  return `sync failed: ${err instanceof Error ? err.message : String(err)}`;
}

export interface TenantMetaSyncOptions extends Pick<MetaSyncOptions, 'onProgress' | 'onCheckpoint' | 'totals' | 'budgetMs'> {
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
  /**
   * The tenant's sync lock, already held by the caller (`withMetaSyncLock`): for a caller that runs
   * several syncs in a row as one, e.g. the CLI waiting out a rate limit and resuming. Default: the
   * sync takes the lock itself and releases it when it ends.
   */
  lock?: MetaSyncLock;
}

/**
 * One tenant's sync with the shared settings: builds the Graph client for its token and runs
 * `syncMetaAccount`, holding the tenant's sync lock (`withMetaSyncLock`): one sync per tenant at a
 * time across processes and machines. Throws `MetaSyncAlreadyRunning` (before any Graph request or
 * write) when another sync of the tenant holds it. Does not record success or failure (callers decide
 * with `markMetaSync*`).
 */
export async function runTenantMetaSync(options: TenantMetaSyncOptions): Promise<MetaSyncResult> {
  const { target, settings, lock } = options;
  if (!lock) return withMetaSyncLock(options.database, target, (held) => runTenantMetaSync({ ...options, lock: held }), options.log);
  if (!lock.held || lock.tenantId !== target.tenantId)
    throw new Error(`runTenantMetaSync: the lock passed is not held for tenant ${target.slug}`);
  const client = graphClientFor(settings, target.accessToken, { log: options.log, signal: options.signal });
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
    budgetMs: options.budgetMs,
    log: options.log,
  });
}
