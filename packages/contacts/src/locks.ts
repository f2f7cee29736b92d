import { createHash } from 'node:crypto';
import type { TransactionSql } from 'postgres';

/** Identity values of one person (all lists; emails lowercased). */
export interface IdentitySet {
  mcIds: string[];
  ghlIds: string[];
  stripeCustomerIds: string[];
  emails: string[];
  phones: string[];
}

export function emptyIdentity(): IdentitySet {
  return { mcIds: [], ghlIds: [], stripeCustomerIds: [], emails: [], phones: [] };
}

/** Adds a value to one list of the set (deduplicated; emails lowercased; empty ignored). */
export function addIdentity(set: IdentitySet, kind: keyof IdentitySet, value: string | null | undefined): void {
  if (typeof value !== 'string') return;
  const v = kind === 'emails' ? value.trim().toLowerCase() : value.trim();
  if (v && !set[kind].includes(v)) set[kind].push(v);
}

/** Advisory-lock keys of an identity set: 64-bit hashes of `tenant|kind|value`, as decimal strings. */
export function lockKeysOf(tenantId: string, set: IdentitySet): string[] {
  const keys: string[] = [];
  for (const kind of Object.keys(set) as Array<keyof IdentitySet>) {
    for (const value of set[kind]) {
      const digest = createHash('sha1').update(`${tenantId}|${kind}|${value}`).digest();
      keys.push(digest.readBigInt64BE(0).toString());
    }
  }
  return keys;
}

/** Raised inside a transaction when a key it must hold is busy: the caller retries with `keys` locked upfront. */
export class LockConflict extends Error {
  constructor(readonly keys: string[]) {
    super('identity lock conflict');
  }
}

function sortKeys(keys: Iterable<string>): string[] {
  return [...new Set(keys)].sort((a, b) => {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/**
 * Transaction-scoped advisory locks on identity keys. The first batch is taken blocking in sorted
 * order (no deadlock between appliers); keys discovered later are only *tried*, and a busy one
 * aborts the attempt with `LockConflict` so the retry takes everything upfront, in order.
 */
export class IdentityLocks {
  private readonly held = new Set<string>();
  constructor(private readonly tx: TransactionSql) {}

  /** First statement of an applier transaction: sets `app.tenant_id` (RLS, as `withTenantSql`) and takes the locks. */
  async setTenantAndLock(tenantId: string, keys: Iterable<string>): Promise<void> {
    const sorted = sortKeys(keys);
    await this
      .tx`select set_config('app.tenant_id', ${tenantId}, true), (select count(pg_advisory_xact_lock(k)) from unnest(${sorted}::int8[]) as k)`;
    for (const k of sorted) this.held.add(k);
  }

  async tryLock(keys: Iterable<string>): Promise<void> {
    const missing = sortKeys(keys).filter((k) => !this.held.has(k));
    if (missing.length === 0) return;
    const rows = await this.tx<{ ok: boolean }[]>`select pg_try_advisory_xact_lock(k) as ok from unnest(${missing}::int8[]) as k`;
    for (const k of missing) this.held.add(k);
    if (rows.some((r) => !r.ok)) throw new LockConflict([...this.held]);
  }
}
