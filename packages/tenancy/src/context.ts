import { randomUUID } from 'node:crypto';
import { MissingCredentials, UnknownTenant } from '@mcb/core';
import { type Database, type JsonRow, type Provider, type TenantIntegrationRow, type TenantRow, toTenant } from '@mcb/db';
import { parseTenantConfig } from './config';
import type { IntegrationSecrets, TenantContext, TenantContextLoader } from './context-types';
import { type Keyring, openJson, openText } from './crypto';
import { isValidSlug } from './slug';
import { sharedGhlLocationIdsOf } from './tenants';

/** Channel the 0003 migration's triggers notify with a tenant id on every tenant/integration change. */
export const tenantChangedChannel = 'mcb_tenant_changed';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const heartbeatPrefix = 'hb:';
// Without a working LISTEN, a change can only be noticed by expiry: keep entries this briefly.
const unlistenedTtlMs = 1_000;
/**
 * Default bound on remembered unknown slugs/ids. Anyone can post to `/api/webhooks/<any slug>/…`,
 * so misses get a cache of their own, evicted oldest-first: a flood of made-up slugs can only push
 * out other made-up slugs, never a real tenant's context (those are bounded by the tenant count).
 */
export const maxCachedMisses = 10_000;

/**
 * The receiver's cap on tenant loads in flight at once (distinct slugs or ids not in the cache). A sender
 * who pipelines thousands of requests to random slugs on a few sockets (no secret, no real slug needed)
 * made every one a load queued behind the admin pool: ~1 GB of heap in 3 s. Past the cap a lookup fails
 * at once (`TenantLookupsBusy`, 503) and queues nothing; real tenants are cached and never count.
 * Workers and the CLI load only tenants that exist, from their own jobs: no cap there.
 */
export const receiverMaxPendingLoads = 256;

/** Too many tenant loads in flight: the lookup was not started (answer 503, retry later). */
export class TenantLookupsBusy extends Error {
  constructor() {
    super('Too many tenant lookups in flight');
  }
}

export interface TenantContextLoaderOptions {
  /** Admin role: resolving a slug has to see every tenant (a named admin path, ADR 0002). */
  admin: Database;
  keyring: Keyring;
  /** How long a loaded context is reused. Default 30 s; changes arrive sooner through NOTIFY. */
  ttlMs?: number;
  /** LISTEN for `mcb_tenant_changed` (default true). Off: entries live at most 1 s. */
  listen?: boolean;
  /** How often the LISTEN connection proves itself with a NOTIFY round trip. Default 5 s. */
  heartbeatMs?: number;
  /** How many unknown slugs/ids are remembered (default `maxCachedMisses`). */
  maxMisses?: number;
  /** Most loads in flight at once (default unbounded; the receiver's: `receiverMaxPendingLoads`); past it a lookup throws `TenantLookupsBusy`. */
  maxPending?: number;
  now?: () => number;
}

/** A loader plus `ready()`, which resolves once LISTEN is established (tests and boot logs). */
export interface TenantContextLoaderHandle extends TenantContextLoader {
  ready(): Promise<void>;
  /** True while change notifications are being received. */
  isListening(): boolean;
  /** Cached contexts, pending loads and remembered misses (bounded; tests and diagnostics). */
  readonly cachedEntries: number;
}

interface Entry {
  promise: Promise<TenantContext>;
  expiresAt: number;
  /** Set once loaded; a notification for this id drops the entry. */
  id?: string;
  slug?: string;
  /** Set once loaded when the tenant names GHL locations: whether another tenant shares one can change with any tenant. */
  ghl?: boolean;
}

/** A tenant with its active integrations, in one row (`json_agg`). */
type ContextRow = Pick<TenantRow, 'id' | 'slug' | 'name' | 'owner_name' | 'report_email' | 'config'> & {
  integrations: IntegrationJson[];
  ghl_shared_location_ids: string[];
};
type IntegrationJson = JsonRow<
  Pick<TenantIntegrationRow, 'provider' | 'credentials' | 'webhook_secret' | 'previous_webhook_secret' | 'previous_secret_expires_at'>
>;

/**
 * The webhook secrets a delivery may be signed with at `now`: the current one first, then the
 * previous one while its rotation overlap lasts (`previous_secret_expires_at > now`).
 */
export function activeWebhookSecrets(secrets: IntegrationSecrets, now: Date): string[] {
  const out: string[] = [];
  // Trimmed, as senders' secrets are (shared-secret.ts): one stored with spaces around it, before
  // `setIntegration` refused such secrets, still verifies; one of spaces only is no secret.
  const current = secrets.webhookSecret?.trim();
  const previous = secrets.previousWebhookSecret?.trim();
  if (current) out.push(current);
  if (previous && secrets.previousSecretExpiresAt && secrets.previousSecretExpiresAt.getTime() > now.getTime() && previous !== current) {
    out.push(previous);
  }
  return out;
}

/** `MissingCredentials` unless `ctx` has an active integration for `provider`. */
export function requireIntegration(ctx: TenantContext, provider: Provider): IntegrationSecrets {
  const secrets = ctx.credentials[provider];
  if (!secrets) throw new MissingCredentials(ctx.slug, provider);
  return secrets;
}

function decryptIntegration(keyring: Keyring, slug: string, row: IntegrationJson): IntegrationSecrets {
  try {
    return {
      provider: row.provider,
      credentials: row.credentials ? openJson(keyring, row.credentials) : {},
      webhookSecret: row.webhook_secret ? openText(keyring, row.webhook_secret) : null,
      previousWebhookSecret: row.previous_webhook_secret ? openText(keyring, row.previous_webhook_secret) : null,
      previousSecretExpiresAt: row.previous_secret_expires_at ? new Date(row.previous_secret_expires_at) : null,
    };
  } catch (err) {
    throw new Error(`Cannot decrypt ${row.provider} secrets of tenant ${slug}: ${(err as Error).message}`, { cause: err });
  }
}

function toContext(keyring: Keyring, row: ContextRow): TenantContext {
  const credentials: TenantContext['credentials'] = {};
  for (const integration of row.integrations) credentials[integration.provider] = decryptIntegration(keyring, row.slug, integration);
  return { ...toTenant(row), config: parseTenantConfig(row.config), credentials, ghlSharedLocationIds: row.ghl_shared_location_ids };
}

/**
 * Builds the process's tenant-context loader (receiver, workers). Reads active tenants and their
 * active integrations through the admin role, decrypts secrets, applies config defaults, and
 * caches each context for `ttlMs`. Concurrent misses for one key share one query. Every process
 * LISTENs on `mcb_tenant_changed`, so a change committed anywhere drops the entry within ~1 s;
 * while LISTEN is down (checked by a heartbeat), entries live at most 1 s. Memory stays bounded
 * whatever keys arrive: unknown ones go to a capped miss cache, and expired entries are dropped on
 * read and by a sweep every TTL (at least 1 s).
 */
export function createTenantContextLoader(options: TenantContextLoaderOptions): TenantContextLoaderHandle {
  const {
    admin,
    keyring,
    ttlMs = 30_000,
    listen = true,
    heartbeatMs = 5_000,
    maxMisses = maxCachedMisses,
    maxPending = Number.POSITIVE_INFINITY,
  } = options;
  let pending = 0;
  const now = options.now ?? Date.now;
  // Active tenants' contexts and every pending load (single-flight), by `s:<slug>` / `i:<id>`.
  const entries = new Map<string, Entry>();
  // Keys known not to be an active tenant, with their expiry. A Map iterates in insertion order,
  // so its first key is the least recently inserted: the one evicted past `maxMisses`.
  const misses = new Map<string, number>();
  const nonce = randomUUID();
  let listening = false;
  let listenedBefore = false;
  let closed = false;
  let unlisten: (() => Promise<void>) | null = null;
  let heartbeatSent = 0;
  let heartbeatSeen = 0;
  let heartbeat: NodeJS.Timeout | null = null;

  const clear = () => {
    entries.clear();
    misses.clear();
  };

  const dropTenant = (idOrSlug: string) => {
    // Any change may have made a remembered miss a tenant (added, activated, renamed): forget them all.
    misses.clear();
    for (const [key, entry] of entries) {
      // A pending load may be for this tenant (its id is not known yet): drop it too.
      // A tenant naming GHL locations: the change may have made one shared or unshared (ghlSharedLocationIds).
      if (entry.id === undefined || entry.id === idOrSlug || entry.slug === idOrSlug || key.slice(2) === idOrSlug || entry.ghl) {
        entries.delete(key);
      }
    }
  };

  const rememberMiss = (cacheKey: string, expiresAt: number) => {
    if (expiresAt <= now()) return; // `ttlMs: 0`: nothing to remember
    misses.delete(cacheKey); // re-inserted last
    misses.set(cacheKey, expiresAt);
    for (const oldest of misses.keys()) {
      if (misses.size <= maxMisses) break;
      misses.delete(oldest);
    }
  };

  // Drops every expired entry, so keys that never come again do not stay until a tenant change.
  const sweep = () => {
    const t = now();
    for (const [key, entry] of entries) if (entry.expiresAt <= t) entries.delete(key);
    for (const [key, expiresAt] of misses) if (expiresAt <= t) misses.delete(key);
  };
  const sweeper = setInterval(sweep, Math.max(ttlMs, unlistenedTtlMs));
  sweeper.unref();

  const onNotify = (payload: string) => {
    if (payload.startsWith(heartbeatPrefix)) {
      if (payload === `${heartbeatPrefix}${nonce}:${heartbeatSent}`) heartbeatSeen = heartbeatSent;
      return;
    }
    dropTenant(payload);
  };

  // Called on the first LISTEN and on every re-LISTEN after a lost connection. Entries made
  // before the first LISTEN live at most 1 s anyway; after a lost connection anything may have
  // changed while no notification could arrive.
  const onListen = () => {
    if (listenedBefore) clear();
    listenedBefore = true;
    listening = true;
  };

  const startListening = async (): Promise<void> => {
    try {
      const sub = await admin.sql.listen(tenantChangedChannel, onNotify, onListen);
      if (closed) await sub.unlisten();
      else unlisten = sub.unlisten;
    } catch {
      listening = false;
    }
  };

  let beating = false;
  const beat = async () => {
    if (beating || closed) return;
    beating = true;
    try {
      await checkListening();
    } finally {
      beating = false;
    }
  };

  const checkListening = async () => {
    if (heartbeatSeen !== heartbeatSent || !listening) {
      // The last round trip never came back: LISTEN is gone, fall back to short-lived entries.
      listening = false;
      clear();
      const previous = unlisten;
      unlisten = null;
      await previous?.().catch(() => {});
      await startListening();
      heartbeatSeen = heartbeatSent;
    }
    heartbeatSent += 1;
    await admin.sql`select pg_notify(${tenantChangedChannel}, ${`${heartbeatPrefix}${nonce}:${heartbeatSent}`})`.catch(() => {});
  };

  const readyPromise = listen ? startListening() : Promise.resolve();
  if (listen) {
    heartbeat = setInterval(() => void beat(), heartbeatMs);
    heartbeat.unref();
  }

  const load = async (by: 'slug' | 'id', key: string): Promise<TenantContext> => {
    const rows = await admin.sql<ContextRow[]>`
      select t.id, t.slug, t.name, t.owner_name, t.report_email, t.config,
        coalesce(json_agg(json_build_object(
          'provider', i.provider, 'credentials', i.credentials, 'webhook_secret', i.webhook_secret,
          'previous_webhook_secret', i.previous_webhook_secret, 'previous_secret_expires_at', i.previous_secret_expires_at
        )) filter (where i.id is not null), '[]') as integrations,
        ${sharedGhlLocationIdsOf(admin)} as ghl_shared_location_ids
      from tenants t
      left join tenant_integrations i on i.tenant_id = t.id and i.is_active
      where ${by === 'slug' ? admin.sql`t.slug = ${key}` : admin.sql`t.id = ${key}::uuid`} and t.is_active
      group by t.id`;
    const row = rows[0];
    if (!row) throw new UnknownTenant(key);
    return toContext(keyring, row);
  };

  const get = (by: 'slug' | 'id', key: string): Promise<TenantContext> => {
    if (closed) return Promise.reject(new Error('Tenant context loader is closed'));
    const valid = by === 'slug' ? isValidSlug(key) : uuidPattern.test(key);
    if (!valid) return Promise.reject(new UnknownTenant(key));
    const cacheKey = `${by === 'slug' ? 's' : 'i'}:${key}`;
    const t = now();
    const hit = entries.get(cacheKey);
    if (hit) {
      if (hit.expiresAt > t) return hit.promise;
      entries.delete(cacheKey);
    }
    const missExpiresAt = misses.get(cacheKey);
    if (missExpiresAt !== undefined) {
      if (missExpiresAt > t) return Promise.reject(new UnknownTenant(key));
      misses.delete(cacheKey);
    }
    if (pending >= maxPending) return Promise.reject(new TenantLookupsBusy());
    pending++;
    const loading = load(by, key);
    loading.then(
      () => pending--,
      () => pending--,
    );
    const entry: Entry = { promise: loading, expiresAt: t + (listening ? ttlMs : Math.min(ttlMs, unlistenedTtlMs)) };
    entries.set(cacheKey, entry);
    entry.promise.then(
      (ctx) => {
        entry.id = ctx.id;
        entry.slug = ctx.slug;
        entry.ghl = ctx.config.ghl.location_ids.length > 0;
      },
      (err) => {
        // Settled and not a context: the entry leaves `entries` (unless already replaced or dropped).
        // An unknown tenant is remembered as a miss until the same expiry (floods of one bad slug
        // stay off the database); any other failure (database down, bad key) is retried on the next call.
        if (entries.get(cacheKey) !== entry) return;
        entries.delete(cacheKey);
        if (err instanceof UnknownTenant) rememberMiss(cacheKey, entry.expiresAt);
      },
    );
    return entry.promise;
  };

  return {
    getTenantContext: (slug) => get('slug', slug),
    getTenantContextById: (id) => get('id', id),
    requireIntegration,
    invalidate(slugOrId) {
      if (slugOrId === undefined) clear();
      else dropTenant(slugOrId);
    },
    async close() {
      closed = true;
      if (heartbeat) clearInterval(heartbeat);
      clearInterval(sweeper);
      clear();
      await readyPromise;
      await unlisten?.().catch(() => {});
      unlisten = null;
      listening = false;
    },
    ready: () => readyPromise,
    isListening: () => listening,
    get cachedEntries() {
      return entries.size + misses.size;
    },
  };
}
