import type { Database } from '@mcb/db';
import { type Envelope, type Keyring, openJson, openText, sealJson, sealText } from './crypto';
import { assertAdmin } from './tenants';

/** How many sealed values each key id protects (to know when an old key can be dropped). */
export type KeyUsage = Record<string, number>;

export interface RotateKeysResult {
  /** Values re-sealed under the current key by this run. */
  reencrypted: number;
  /** Usage after the run: all under `currentKid` once complete. */
  usage: KeyUsage;
  currentKid: string;
}

interface SealedRow {
  id: string;
  tenant_id: string;
  credentials: Envelope | null;
  webhook_secret: string | null;
  previous_webhook_secret: string | null;
}

const kidOfText = (sealed: string | null) => (sealed ? (JSON.parse(sealed) as Envelope).kid : null);

/** Counts sealed values per key id across every tenant (admin path). */
export async function encryptionKeyUsage(admin: Database): Promise<KeyUsage> {
  assertAdmin(admin);
  const rows = await admin.sql<SealedRow[]>`
    select id, tenant_id, credentials, webhook_secret, previous_webhook_secret from tenant_integrations`;
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
export async function rotateKeys(admin: Database, keyring: Keyring): Promise<RotateKeysResult> {
  assertAdmin(admin);
  const current = keyring.currentKid;
  const ids = await admin.sql<{ id: string; tenant_id: string }[]>`select id, tenant_id from tenant_integrations order by tenant_id, id`;
  let reencrypted = 0;
  for (const { id, tenant_id } of ids) {
    reencrypted += await admin.sql.begin(async (tx) => {
      const [row] = await tx<SealedRow[]>`
        select id, tenant_id, credentials, webhook_secret, previous_webhook_secret from tenant_integrations
        where tenant_id = ${tenant_id} and id = ${id} for update`;
      if (!row) return 0;
      const stale = (kid: string | null | undefined) => kid != null && kid !== current;
      const credentials = stale(row.credentials?.kid) ? sealJson(keyring, openJson(keyring, row.credentials as Envelope)) : row.credentials;
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
    });
  }
  return { reencrypted, usage: await encryptionKeyUsage(admin), currentKid: current };
}
