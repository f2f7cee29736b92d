import { randomBytes } from 'node:crypto';
import { McbError, MissingCredentials, maskSecret, UnknownTenant } from '@mcb/core';
import { type Database, type Provider, providers, type Queryable, type TenantIntegrationRow, toTenantIntegration } from '@mcb/db';
import { sources } from '@mcb/sources';
import { parseTenantConfig } from './config';
import { type Keyring, openJson, openText, sealJson, sealText } from './crypto';
import { assertAdmin, type TenantRecord, writeGhlLocationIds } from './tenants';

/**
 * Integration management: an admin path (ADR 0002). Credentials and webhook secrets are sealed
 * before they reach SQL; what comes back out of these functions is masked, except a secret this
 * module generated (returned once, for the operator to paste into the provider).
 */

export interface SetIntegrationInput {
  slug: string;
  provider: string;
  /** Replaces the stored credentials JSON when given. */
  credentials?: Record<string, unknown>;
  /** A secret to store, or `true` to generate one. Replaces the current secret, ends any overlap. */
  webhookSecret?: string | true;
  /**
   * When the integration already has a webhook secret that differs from `webhookSecret`: `refuse`
   * (the operator's command: replacing it makes every delivery signed with the old one 401 at once, so
   * `rotateWebhookSecret` is named instead) or `replace` (the default for code: tools and tests that
   * mean it).
   */
  existingSecret?: 'refuse' | 'replace';
  /**
   * ghl only: the tenant's GHL location ids (`setGhlLocationIds`), written in the same transaction as
   * the integration — a location another tenant holds refuses the whole call, and nothing is written.
   */
  ghlLocationIds?: readonly string[];
}

export interface SetIntegrationResult {
  provider: Provider;
  created: boolean;
  /** The tenant as the call left it, when `ghlLocationIds` was given. */
  tenant: TenantRecord | null;
  /** The generated secret, only when `webhookSecret: true`. Show it once; it is never readable again. */
  generatedSecret: string | null;
}

export interface RotateSecretInput {
  slug: string;
  provider: string;
  /** The new secret; generated when absent (except Stripe, which issues its own). */
  newSecret?: string;
  /** How long the previous secret stays valid. 0 ends it at once. */
  overlapMs: number;
  /**
   * Only one previous secret is kept. While the one an earlier rotation kept is still accepted, a new
   * rotation would end it at once, earlier than that rotation promised: refused unless this is set.
   */
  revokePrevious?: boolean;
  now?: Date;
}

export interface RotateSecretResult {
  provider: Provider;
  generatedSecret: string | null;
  /** Until when the previous secret is accepted (null: no previous secret kept). */
  previousExpiresAt: Date | null;
}

/** What `integration list` shows: every secret masked to its last 4 characters. */
export interface IntegrationView {
  provider: Provider;
  isActive: boolean;
  credentials: Record<string, string>;
  webhookSecret: string | null;
  /** What the receiver lacks to verify this source's deliveries (`webhookGaps`); empty for meta, resend, … */
  gaps: WebhookGap[];
  previousWebhookSecret: string | null;
  previousSecretExpiresAt: Date | null;
  lastError: string | null;
  lastSuccessAt: Date | null;
  updatedAt: Date;
}

/**
 * What a webhook source's integration lacks for the receiver to verify its deliveries (SPEC §3.1):
 * - `no_secret`: no webhook secret. Stripe, ManyChat, Denefits and Perspective deliveries are all
 *   verified with it; for GHL, only the unsigned workflow webhooks are.
 * - `no_ghl_location`: GHL without a location id, so HighLevel-signed deliveries (verified with
 *   HighLevel's public key, bound to the tenant by their `locationId`) are all refused.
 */
export type WebhookGap = 'no_secret' | 'no_ghl_location';

/** The gaps of one integration (none for a provider that receives no webhooks: meta, meta_capi, resend). Pure. */
export function webhookGaps(provider: Provider, has: { secret: boolean; ghlLocationIds: readonly string[] }): WebhookGap[] {
  if (!(sources as readonly string[]).includes(provider)) return [];
  const gaps: WebhookGap[] = has.secret ? [] : ['no_secret'];
  if (provider === 'ghl' && has.ghlLocationIds.length === 0) gaps.push('no_ghl_location');
  return gaps;
}

/**
 * Whether, with these gaps, not one delivery of `provider` can be verified: a shared-secret source (or
 * Stripe) without its secret; GHL with neither a secret nor a location id. Such an integration answers
 * every delivery with 401, so `setIntegration` never leaves one active.
 */
export function verifiesNoDelivery(provider: Provider, gaps: readonly WebhookGap[]): boolean {
  return gaps.includes('no_secret') && (provider !== 'ghl' || gaps.includes('no_ghl_location'));
}

/** The one-line refusal of an integration that would verify no delivery: what is missing, and the flag that adds it. */
function unverifiableIntegration(slug: string, provider: Provider): McbError {
  const fix =
    provider === 'stripe'
      ? "Stripe deliveries are verified with the endpoint's signing secret: pass --webhook-secret whsec_… (Stripe dashboard → Developers → Webhooks → the endpoint)"
      : provider === 'ghl'
        ? 'GHL deliveries are verified with a shared secret (workflow webhooks) or a location id (HighLevel-signed deliveries): pass --webhook-secret (alone: one is generated) and/or --location-id <locationId>'
        : `${provider} deliveries are verified with a shared secret: pass --webhook-secret <secret> (alone: one is generated)`;
  return new McbError('missing_credentials', `Missing credentials: ${provider} webhook secret for tenant ${slug}; ${fix}`);
}

/** A strong random shared secret (32 bytes, base64url: safe in a header and in `?secret=`). */
export function generateWebhookSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Narrows a CLI argument to a provider, or throws naming the valid ones. */
export function parseProvider(value: string): Provider {
  if ((providers as readonly string[]).includes(value)) return value as Provider;
  throw new McbError('bad_request', `Unknown provider: ${value} (one of ${providers.join(', ')})`);
}

function checkedSecret(provider: Provider, secret: string | true): string | null {
  if (secret === true) {
    // Stripe signs with a secret it issues itself; a secret invented here would never verify.
    if (provider === 'stripe') {
      throw new McbError('bad_request', 'Stripe issues its own signing secret: pass --webhook-secret whsec_… from the Stripe dashboard');
    }
    return null;
  }
  // Senders' secrets are compared trimmed (shared-secret.ts): a stored one with spaces around it could never match.
  if (secret !== secret.trim()) throw new McbError('bad_request', 'Webhook secret must not start or end with whitespace');
  if (secret.length < 8) throw new McbError('bad_request', 'Webhook secret too short: use at least 8 characters');
  if (provider === 'stripe' && !secret.startsWith('whsec_')) {
    throw new McbError('bad_request', 'Stripe webhook signing secrets start with whsec_');
  }
  return secret;
}

async function tenantIdOf(admin: Database, slug: string): Promise<string> {
  const rows = await admin.sql<{ id: string }[]>`select id from tenants where slug = ${slug}`;
  if (!rows[0]) throw new UnknownTenant(slug);
  return rows[0].id;
}

/** The tenant's GHL location ids: from `written` when this call wrote them, else as stored. */
async function locationIdsOf(tx: Queryable, tenantId: string, written: TenantRecord | null): Promise<readonly string[]> {
  if (written) return parseTenantConfig(written.config).ghl.location_ids;
  const [row] = await tx<{ config: unknown }[]>`select config from tenants where id = ${tenantId}`;
  return parseTenantConfig(row?.config).ghl.location_ids;
}

/**
 * Creates or updates (and re-activates) one integration. Credentials and secret are sealed with
 * the keyring's current key. Idempotent for equal input (new ciphertext, same meaning). Refused
 * (`missing_credentials`, nothing written) when the active integration would verify no delivery
 * (`verifiesNoDelivery`): a webhook source needs a secret — given now or stored before — except GHL
 * with a location id.
 */
export async function setIntegration(admin: Database, keyring: Keyring, input: SetIntegrationInput): Promise<SetIntegrationResult> {
  assertAdmin(admin);
  const provider = parseProvider(input.provider);
  const tenantId = await tenantIdOf(admin, input.slug);
  const given = input.webhookSecret === undefined ? undefined : checkedSecret(provider, input.webhookSecret);
  const generatedSecret = given === null ? generateWebhookSecret() : null;
  const secret = given ?? generatedSecret;
  const credentials = input.credentials ? admin.sql.json(sealJson(keyring, input.credentials) as never) : null;
  const sealedSecret = secret ? sealText(keyring, secret) : null;
  if (input.ghlLocationIds && provider !== 'ghl') throw new McbError('bad_request', 'GHL location ids apply to the ghl provider only');
  return admin.sql.begin(async (tx) => {
    // The secret stored now: the same one given again changes nothing, and keeps a rotation's overlap
    // (re-passing the current secret ended the previous one's promised overlap: review of stop 38).
    let sameSecret = false;
    if (secret) {
      const [stored] = await tx<{ webhook_secret: string | null }[]>`
        select webhook_secret from tenant_integrations where tenant_id = ${tenantId} and provider = ${provider} for update`;
      sameSecret = openStoredSecret(keyring, stored?.webhook_secret ?? null) === secret;
      if (stored?.webhook_secret && !sameSecret && input.existingSecret === 'refuse')
        throw new McbError(
          'bad_request',
          `${input.slug} ${provider} already has a webhook secret; replacing it makes every delivery signed with it 401 at once. ` +
            `Use mcb integration rotate-secret ${input.slug} ${provider} (the old one stays valid for --overlap, 24h by default), ` +
            'or pass --replace-secret to replace it now',
        );
    }
    // Locations first: a location another tenant holds refuses the call before the secret is touched.
    const tenant = input.ghlLocationIds ? await writeGhlLocationIds(tx, input.slug, input.ghlLocationIds) : null;
    const rows = await tx<{ created: boolean; has_secret: boolean }[]>`
      insert into tenant_integrations (tenant_id, provider, credentials, webhook_secret)
      values (${tenantId}, ${provider}, ${credentials ?? tx.json(sealJson(keyring, {}) as never)}, ${sealedSecret})
      on conflict (tenant_id, provider) do update set
        credentials = ${credentials === null ? tx`tenant_integrations.credentials` : credentials},
        webhook_secret = ${sealedSecret === null || sameSecret ? tx`tenant_integrations.webhook_secret` : sealedSecret},
        previous_webhook_secret = ${sealedSecret === null || sameSecret ? tx`tenant_integrations.previous_webhook_secret` : null},
        previous_secret_expires_at = ${sealedSecret === null || sameSecret ? tx`tenant_integrations.previous_secret_expires_at` : null},
        is_active = true,
        last_error = null,
        updated_at = now()
      returning (xmax = 0) as created, webhook_secret is not null as has_secret`;
    if (!rows[0]?.has_secret) {
      const ghlLocationIds = provider === 'ghl' ? await locationIdsOf(tx, tenantId, tenant) : [];
      // Throwing rolls back the upsert and any locations written above: nothing of the call stays.
      if (verifiesNoDelivery(provider, webhookGaps(provider, { secret: false, ghlLocationIds })))
        throw unverifiableIntegration(input.slug, provider);
    }
    return { provider, created: rows[0]?.created ?? false, tenant, generatedSecret };
  }) as Promise<SetIntegrationResult>;
}

/**
 * Replaces the webhook secret, keeping the old one valid until `now + overlapMs` so deliveries
 * signed with either verify while the provider is switched over. Throws `MissingCredentials`
 * when the tenant has no such integration.
 */
export async function rotateWebhookSecret(admin: Database, keyring: Keyring, input: RotateSecretInput): Promise<RotateSecretResult> {
  assertAdmin(admin);
  const provider = parseProvider(input.provider);
  if (!Number.isFinite(input.overlapMs) || input.overlapMs < 0) throw new McbError('bad_request', 'Invalid overlap: must be 0 or more');
  const tenantId = await tenantIdOf(admin, input.slug);
  const generatedSecret = input.newSecret === undefined ? (checkedSecret(provider, true) ?? generateWebhookSecret()) : null;
  const secret = input.newSecret === undefined ? (generatedSecret as string) : (checkedSecret(provider, input.newSecret) as string);
  const now = input.now ?? new Date();
  return admin.sql.begin(async (tx) => {
    const [row] = await tx<TenantIntegrationRow[]>`
      select * from tenant_integrations where tenant_id = ${tenantId} and provider = ${provider} for update`;
    if (!row) throw new MissingCredentials(input.slug, provider);
    // Rotating to the secret already current would keep it as its own "previous" and block the next real
    // rotation for the whole overlap (faults walk, stop 38).
    if (openStoredSecret(keyring, row.webhook_secret) === secret)
      throw new McbError('bad_request', `That is already the current ${provider} webhook secret of ${input.slug}: nothing rotated`);
    const previousUntil = row.previous_secret_expires_at ? new Date(row.previous_secret_expires_at) : null;
    if (row.previous_webhook_secret && previousUntil && previousUntil > now && !input.revokePrevious)
      throw new McbError(
        'bad_request',
        `The secret ${input.slug} ${provider} had before its last rotation is still accepted until ${previousUntil.toISOString()}; ` +
          'rotating again now would stop accepting it at once (one previous secret is kept). ' +
          'Rotate once the provider sends the current secret, or pass --revoke-previous to end it now',
      );
    const keepPrevious = row.webhook_secret !== null && input.overlapMs > 0;
    const previousExpiresAt = keepPrevious ? new Date(now.getTime() + input.overlapMs) : null;
    await tx`
      update tenant_integrations set
        webhook_secret = ${sealText(keyring, secret)},
        previous_webhook_secret = ${keepPrevious ? row.webhook_secret : null},
        previous_secret_expires_at = ${previousExpiresAt},
        updated_at = now()
      where tenant_id = ${tenantId} and id = ${row.id}`;
    return { provider, generatedSecret, previousExpiresAt };
  }) as Promise<RotateSecretResult>;
}

/**
 * A stored webhook secret in clear, or null when there is none or this keyring cannot open it (sealed
 * under a key since removed): such a secret is compared as different, and replaced as before.
 */
function openStoredSecret(keyring: Keyring, sealed: string | null): string | null {
  if (!sealed) return null;
  try {
    return openText(keyring, sealed);
  } catch {
    return null;
  }
}

function maskCredentials(credentials: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(credentials)) {
    out[key] = typeof value === 'string' || typeof value === 'number' ? maskSecret(String(value)) : '[set]';
  }
  return out;
}

/** The tenant's integrations (active or not) with every secret masked, and their gaps. Throws `UnknownTenant`. */
export async function listIntegrations(admin: Database, keyring: Keyring, slug: string): Promise<IntegrationView[]> {
  assertAdmin(admin);
  const tenantId = await tenantIdOf(admin, slug);
  const rows = await admin.sql<TenantIntegrationRow[]>`
    select * from tenant_integrations where tenant_id = ${tenantId} order by provider`;
  const ghlLocationIds = rows.some((row) => row.provider === 'ghl') ? await locationIdsOf(admin.sql, tenantId, null) : [];
  return rows.map((row) => {
    const {
      provider,
      isActive,
      credentials,
      webhookSecret,
      previousWebhookSecret,
      previousSecretExpiresAt,
      lastError,
      lastSuccessAt,
      updatedAt,
    } = toTenantIntegration(row);
    return {
      provider,
      isActive,
      credentials: credentials ? maskCredentials(openJson(keyring, credentials)) : {},
      webhookSecret: webhookSecret ? maskSecret(openText(keyring, webhookSecret)) : null,
      // A secret of spaces only (stored before they were refused) verifies nothing: a gap.
      gaps: webhookGaps(provider, { secret: !!webhookSecret?.trim(), ghlLocationIds }),
      previousWebhookSecret: previousWebhookSecret ? maskSecret(openText(keyring, previousWebhookSecret)) : null,
      previousSecretExpiresAt,
      lastError,
      lastSuccessAt,
      updatedAt,
    };
  });
}

/** Deletes one integration (its secrets go with it). Throws `not_found`, naming what to look at, when there is none. */
export async function removeIntegration(admin: Database, slug: string, provider: string): Promise<void> {
  assertAdmin(admin);
  const p = parseProvider(provider);
  const tenantId = await tenantIdOf(admin, slug);
  const rows = await admin.sql`delete from tenant_integrations where tenant_id = ${tenantId} and provider = ${p} returning id`;
  if (rows.length === 0) throw new McbError('not_found', `No ${p} integration for ${slug} (mcb integration list ${slug} shows them)`);
}

/** Whether a provider's deliveries can be accepted: `ready` (active, with a webhook secret), `no_secret`, `inactive`. */
export type WebhookIntegrationState = 'ready' | 'no_secret' | 'inactive';

/**
 * Each integration of a tenant and whether the receiver can accept its deliveries (no secret is
 * opened: for `mcb urls` without --show-secrets). A provider absent from the answer has no
 * integration. Throws `UnknownTenant`.
 */
export async function webhookIntegrationStates(admin: Database, slug: string): Promise<Partial<Record<Provider, WebhookIntegrationState>>> {
  assertAdmin(admin);
  const tenantId = await tenantIdOf(admin, slug);
  const rows = await admin.sql<{ provider: Provider; is_active: boolean; has_secret: boolean }[]>`
    select provider, is_active, webhook_secret is not null as has_secret from tenant_integrations where tenant_id = ${tenantId}`;
  return Object.fromEntries(rows.map((r) => [r.provider, !r.is_active ? 'inactive' : r.has_secret ? 'ready' : 'no_secret']));
}

/**
 * The current webhook secret of each active integration of a tenant, decrypted (admin path, for
 * `mcb urls --show-secrets` only: never log it). Throws `UnknownTenant`.
 */
export async function readWebhookSecrets(admin: Database, keyring: Keyring, slug: string): Promise<Partial<Record<Provider, string>>> {
  assertAdmin(admin);
  const tenantId = await tenantIdOf(admin, slug);
  const rows = await admin.sql<Pick<TenantIntegrationRow, 'provider' | 'webhook_secret'>[]>`
    select provider, webhook_secret from tenant_integrations
    where tenant_id = ${tenantId} and is_active and webhook_secret is not null order by provider`;
  return Object.fromEntries(rows.map((row) => [row.provider, openText(keyring, row.webhook_secret as string)]));
}
