import type { Provider } from '@mcb/db';
import type { TenantConfig } from './config';

/** Decrypted secrets of one active integration. Never logged, never put in job data. */
export interface IntegrationSecrets {
  provider: Provider;
  /** Decrypted `credentials` JSON (API keys, tokens, ids). */
  credentials: Record<string, unknown>;
  /** Current webhook secret, decrypted (null when none is configured). */
  webhookSecret: string | null;
  /** Previous secret while its rotation overlap lasts, else null. */
  previousWebhookSecret: string | null;
  previousSecretExpiresAt: Date | null;
}

/** What `getTenantContext(slug)` returns: an active tenant, its config with defaults, its secrets. */
export interface TenantContext {
  id: string;
  slug: string;
  name: string;
  ownerName: string | null;
  reportEmail: string | null;
  config: TenantConfig;
  /** Active integrations only, keyed by provider. */
  credentials: Partial<Record<Provider, IntegrationSecrets>>;
  /**
   * Those of `config.ghl.location_ids` another active tenant also names — written before a location
   * could belong to one tenant only. GHL-signed deliveries for them are refused here and there until
   * an operator removes the location from all but one tenant (`mcb tenant list` names them).
   */
  ghlSharedLocationIds: string[];
}

/**
 * Loads and caches tenant contexts (built by `createTenantContextLoader` in context.ts).
 * Cached in-process for a short TTL; invalidated across processes by Postgres LISTEN/NOTIFY.
 */
export interface TenantContextLoader {
  /** Active tenant by slug. Throws `UnknownTenant` for an unknown or inactive slug. */
  getTenantContext(slug: string): Promise<TenantContext>;
  /** Same, by tenant id (workers know ids, not slugs). */
  getTenantContextById(id: string): Promise<TenantContext>;
  /** The secrets of one provider. Throws `MissingCredentials` naming tenant and provider. */
  requireIntegration(ctx: TenantContext, provider: Provider): IntegrationSecrets;
  /** Drops cached entries (all when no argument). */
  invalidate(slugOrId?: string): void;
  close(): Promise<void>;
}
