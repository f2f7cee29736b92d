import { randomUUID } from 'node:crypto';
import { MissingCredentials, UnknownTenant } from '@mcb/core';
import { type Database, type JsonRow, type Provider, type TenantIntegrationRow, type TenantRow, toTenant } from '@mcb/db';
import { parseTenantConfig } from './config';
import type { IntegrationSecrets, TenantContext, TenantContextLoader } from './context-types';
import { type Keyring, openJson, openText } from './crypto';
import { isValidSlug } from './slug';

/** Channel the 0003 migration's triggers notify with a tenant id on every tenant/integration change. */
export const tenantChangedChannel = 'mcb_tenant_changed';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const heartbeatPrefix = 'hb:';
// Without a working LISTEN, a change can only be noticed by expiry: keep entries this briefly.
const unlistenedTtlMs = 1_000;

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
  now?: () => number;
}

/** A loader plus `ready()`, which resolves once LISTEN is established (tests and boot logs). */
export interface TenantContextLoaderHandle extends TenantContextLoader {
  ready(): Promise<void>;
  /** True while change notifications are being received. */
  isListening(): boolean;
}

interface Entry {
  promise: Promise<TenantContext>;
  expiresAt: number;
  /** Set once loaded; a notification for this id drops the entry. */
  id?: string;
  slug?: string;
  missing?: boolean;
}

/** A tenant with its active integrations, in one row (`json_agg`). */
type ContextRow = Pick<TenantRow, 'id' | 'slug' | 'name' | 'owner_name' | 'report_email' | 'config'> & { integrations: IntegrationJson[] };
type IntegrationJson = JsonRow<
  Pick<TenantIntegrationRow, 'provider' | 'credentials' | 'webhook_secret' | 'previous_webhook_secret' | 'previous_secret_expires_at'>
>;

/**
 * The webhook secrets a delivery may be signed with at `now`: the current one first, then the
 * previous one while its rotation overlap lasts (`previous_secret_expires_at > now`).
 */
export function activeWebhookSecrets(secrets: IntegrationSecrets, now: Date): string[] {
  const out: string[] = [];
  if (secrets.webhookSecret) out.push(secrets.webhookSecret);
  if (
    secrets.previousWebhookSecret &&
    secrets.previousSecretExpiresAt &&
    secrets.previousSecretExpiresAt.getTime() > now.getTime() &&
    secrets.previousWebhookSecret !== secrets.webhookSecret
  ) {
    out.push(secrets.previousWebhookSecret);
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
  return { ...toTenant(row), config: parseTenantConfig(row.config), credentials };
}

/**
 * Builds the process's tenant-context loader (receiver, workers). Reads active tenants and their
 * active integrations through the admin role, decrypts secrets, applies config defaults, and
 * caches each context for `ttlMs`. Concurrent misses for one key share one query. Every process
 * LISTENs on `mcb_tenant_changed`, so a change committed anywhere drops the entry within ~1 s;
 * while LISTEN is down (checked by a heartbeat), entries live at most 1 s.
 */
export function createTenantContextLoader(options: TenantContextLoaderOptions): TenantContextLoaderHandle {
  const { admin, keyring, ttlMs = 30_000, listen = true, heartbeatMs = 5_000 } = options;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const nonce = randomUUID();
  let listening = false;
  let listenedBefore = false;
  let closed = false;
  let unlisten: (() => Promise<void>) | null = null;
  let heartbeatSent = 0;
  let heartbeatSeen = 0;
  let heartbeat: NodeJS.Timeout | null = null;

  const dropTenant = (idOrSlug: string) => {
    for (const [key, entry] of entries) {
      // A pending load may be for this tenant (its id is not known yet): drop it too.
      if (entry.missing || entry.id === undefined || entry.id === idOrSlug || entry.slug === idOrSlug || key.slice(2) === idOrSlug) {
        entries.delete(key);
      }
    }
  };

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
    if (listenedBefore) entries.clear();
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
      entries.clear();
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
        )) filter (where i.id is not null), '[]') as integrations
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
    if (hit && hit.expiresAt > t) return hit.promise;
    const entry: Entry = { promise: load(by, key), expiresAt: t + (listening ? ttlMs : Math.min(ttlMs, unlistenedTtlMs)) };
    entries.set(cacheKey, entry);
    entry.promise.then(
      (ctx) => {
        entry.id = ctx.id;
        entry.slug = ctx.slug;
      },
      (err) => {
        // An unknown tenant is remembered like a hit (floods of bad slugs stay off the database);
        // any other failure (database down, bad key) is retried on the next call.
        if (err instanceof UnknownTenant) entry.missing = true;
        else if (entries.get(cacheKey) === entry) entries.delete(cacheKey);
      },
    );
    return entry.promise;
  };

  return {
    getTenantContext: (slug) => get('slug', slug),
    getTenantContextById: (id) => get('id', id),
    requireIntegration,
    invalidate(slugOrId) {
      if (slugOrId === undefined) entries.clear();
      else dropTenant(slugOrId);
    },
    async close() {
      closed = true;
      if (heartbeat) clearInterval(heartbeat);
      entries.clear();
      await readyPromise;
      await unlisten?.().catch(() => {});
      unlisten = null;
      listening = false;
    },
    ready: () => readyPromise,
    isListening: () => listening,
  };
}
