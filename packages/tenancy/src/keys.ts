import type { Database, TenantIntegrationRow } from '@mcb/db';
import { type Envelope, type Keyring, openJson, openText, sealJson, sealText } from './crypto';
import { assertAdmin } from './tenants';

/** How many sealed values each key id protects (to know when an old key can be dropped). */
export type KeyUsage = Record<string, number>;

export interface RotateKeysResult {
  /** Values re-sealed under the current key by this run. */
  reencrypted: number;
  /** Integrations that could not be opened with any key of the keyring (left untouched). */
  failures: Array<{ slug: string; provider: string; error: string }>;
  /** Usage after the run, in the scope of the run: all under `currentKid` once complete. */
  usage: KeyUsage;
  /** Usage after the run across every tenant: what decides whether an old key can go. */
  usageEverywhere: KeyUsage;
  currentKid: string;
}

/** Limits a key operation to one tenant (staged rotation; tests sharing a database). */
export interface KeyScope {
  slug?: string;
}

type SealedRow = Pick<TenantIntegrationRow, 'id' | 'tenant_id' | 'credentials' | 'webhook_secret' | 'previous_webhook_secret'>;

const kidOfText = (sealed: string | null) => (sealed ? (JSON.parse(sealed) as Envelope).kid : null);

/** Refuses a scope naming no tenant: a misspelt `--tenant` re-sealed nothing and said old keys could go. */
export async function assertKeyScope(admin: Database, scope: KeyScope): Promise<void> {
  if (scope.slug === undefined) return;
  const [tenant] = await admin.sql`select 1 from tenants where slug = ${scope.slug}`;
  if (!tenant) throw new Error(`No tenant "${scope.slug}" (mcb tenant list shows them)`);
}

/** Counts sealed values per key id across every tenant, or the tenant of `scope` (admin path). */
export async function encryptionKeyUsage(admin: Database, scope: KeyScope = {}): Promise<KeyUsage> {
  assertAdmin(admin);
  await assertKeyScope(admin, scope);
  return countUsage(admin, scope);
}

/** Key ids in `usage` that `keyring` does not hold: values nothing running with it can open. */
export function unheldKeys(usage: KeyUsage, keyring: Keyring): string[] {
  return Object.keys(usage).filter((kid) => !keyring.keys.has(kid));
}

/** How many values `usage` counts under the key ids `kids`. */
export function valuesUnder(usage: KeyUsage, kids: string[]): number {
  return kids.reduce((sum, kid) => sum + (usage[kid] ?? 0), 0);
}

async function countUsage(admin: Database, scope: KeyScope): Promise<KeyUsage> {
  const rows = await admin.sql<SealedRow[]>`
    select i.id, i.tenant_id, i.credentials, i.webhook_secret, i.previous_webhook_secret
    from tenant_integrations i join tenants t on t.id = i.tenant_id
    where ${scope.slug === undefined ? admin.sql`true` : admin.sql`t.slug = ${scope.slug}`}`;
  const usage: KeyUsage = {};
  for (const row of rows) {
    for (const kid of [row.credentials?.kid ?? null, kidOfText(row.webhook_secret), kidOfText(row.previous_webhook_secret)]) {
      if (kid) usage[kid] = (usage[kid] ?? 0) + 1;
    }
  }
  return usage;
}

/**
 * Re-seals every credential and webhook secret not already under the keyring's current key
 * (`MCB_ENCRYPTION_KEY="new,old"`: the old key opens, the new one seals). One transaction per
 * integration row, rows locked while rewritten; safe to rerun and to run while the system serves.
 */
export async function rotateKeys(admin: Database, keyring: Keyring, scope: KeyScope = {}): Promise<RotateKeysResult> {
  assertAdmin(admin);
  await assertKeyScope(admin, scope);
  const current = keyring.currentKid;
  const ids = await admin.sql<{ id: string; tenant_id: string; slug: string; provider: string }[]>`
    select i.id, i.tenant_id, t.slug, i.provider from tenant_integrations i join tenants t on t.id = i.tenant_id
    where ${scope.slug === undefined ? admin.sql`true` : admin.sql`t.slug = ${scope.slug}`}
    order by i.tenant_id, i.id`;
  let reencrypted = 0;
  const failures: RotateKeysResult['failures'] = [];
  for (const { id, tenant_id, slug, provider } of ids) {
    reencrypted += await admin.sql
      .begin(async (tx) => {
        const [row] = await tx<SealedRow[]>`
        select id, tenant_id, credentials, webhook_secret, previous_webhook_secret from tenant_integrations
        where tenant_id = ${tenant_id} and id = ${id} for update`;
        if (!row) return 0;
        const stale = (kid: string | null | undefined) => kid != null && kid !== current;
        const credentials = stale(row.credentials?.kid)
          ? sealJson(keyring, openJson(keyring, row.credentials as Envelope))
          : row.credentials;
        const secret = stale(kidOfText(row.webhook_secret))
          ? sealText(keyring, openText(keyring, row.webhook_secret as string))
          : row.webhook_secret;
        const previous = stale(kidOfText(row.previous_webhook_secret))
          ? sealText(keyring, openText(keyring, row.previous_webhook_secret as string))
          : row.previous_webhook_secret;
        const changed = [credentials !== row.credentials, secret !== row.webhook_secret, previous !== row.previous_webhook_secret].filter(
          Boolean,
        ).length;
        if (changed === 0) return 0;
        await tx`
        update tenant_integrations set
          credentials = ${credentials ? tx.json(credentials as never) : null},
          webhook_secret = ${secret}, previous_webhook_secret = ${previous}, updated_at = now()
        where tenant_id = ${tenant_id} and id = ${id}`;
        return changed;
      })
      .catch((err: Error) => {
        // A value no key of the keyring opens: report it and carry on with the others.
        if (!/encryption key|auth|decrypt/i.test(err.message)) throw err;
        failures.push({ slug, provider, error: err.message });
        return 0;
      });
  }
  const usage = await countUsage(admin, scope);
  const usageEverywhere = scope.slug === undefined ? usage : await countUsage(admin, {});
  return { reencrypted, failures, usage, usageEverywhere, currentKid: current };
}
