import { createHash } from 'node:crypto';
import type { IdentityKind } from '@mcb/db/schema';

export type { IdentityKind };

/** One identifier of a person: `email` lowercased, the others trimmed (phones are E.164 already). */
export interface Identity {
  kind: IdentityKind;
  value: string;
}

/** The identifier in its stored form, or null when empty / not a string. */
export function identityOf(kind: IdentityKind, value: unknown): Identity | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  if (trimmed === '') return null;
  return { kind, value: kind === 'email' ? trimmed.toLowerCase() : trimmed };
}

/** Map key of an identity (kind and value cannot contain NUL together ambiguously: kind has no NUL). */
export const identityKey = (id: Identity): string => `${id.kind}\u0000${id.value}`;

/** A de-duplicated, insertion-ordered set of identities. */
export class IdentityList {
  private readonly byKey = new Map<string, Identity>();

  add(kind: IdentityKind, value: unknown): void {
    const id = identityOf(kind, value);
    if (id) this.byKey.set(identityKey(id), id);
  }

  addAll(ids: Iterable<Identity>): void {
    for (const id of ids) this.byKey.set(identityKey(id), id);
  }

  has(id: Identity): boolean {
    return this.byKey.has(identityKey(id));
  }

  get size(): number {
    return this.byKey.size;
  }

  values(): Identity[] {
    return [...this.byKey.values()];
  }
}

/**
 * Advisory-lock key of an identity (SPEC §6.5): a signed 64-bit hash of `tenant|kind|value`, as a
 * decimal string (`pg_advisory_xact_lock(bigint)`). Every applier locks the key of each identity it
 * matches on, inserts or moves before reading, so two appliers never decide about one person at once.
 */
export function lockKeyOf(tenantId: string, id: Identity): string {
  return hashLockKey(`${tenantId}|${id.kind}|${id.value}`);
}

/**
 * Advisory-lock key of a Stripe subscription: the Checkout session that started it and its first
 * invoice are never applied at once, so one always sees what the other wrote.
 */
export function subscriptionLockKey(tenantId: string, subscriptionId: string): string {
  return hashLockKey(`${tenantId}|stripe_subscription|${subscriptionId}`);
}

/**
 * Advisory-lock key of a payment status ref (`payment_status_changes.payment_ref`: a payment event id or
 * `pi:<intent>`): a status change and a payment that takes the ref (inserted with it, or given the
 * intent by a first invoice) are never applied at once, so the later recompute sees both. A dispute
 * carries no identity: without it, it could commit unseen by a transaction handing its intent over.
 */
export function paymentRefLockKey(tenantId: string, ref: string): string {
  return hashLockKey(`${tenantId}|payment_ref|${ref}`);
}

/**
 * Advisory-lock key of a tenant's appliers as a whole: every apply transaction holds it shared; one whose
 * batch would take more identity and payment-ref keys than `maxLockKeysPerTransaction` holds it exclusively
 * instead of those keys, so it runs alone among the tenant's appliers (see `applyLogs`).
 */
export function tenantApplyLockKey(tenantId: string): string {
  return hashLockKey(`${tenantId}|apply`);
}

function hashLockKey(text: string): string {
  return createHash('sha1').update(text).digest().readBigInt64BE(0).toString();
}

/** Sorted, distinct lock keys (a fixed order: no deadlock between appliers taking them blocking). */
export function sortedLockKeys(tenantId: string, ids: Iterable<Identity>, extra: Iterable<string> = []): string[] {
  const keys = new Set(extra);
  for (const id of ids) keys.add(lockKeyOf(tenantId, id));
  return [...keys].sort((a, b) => {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
