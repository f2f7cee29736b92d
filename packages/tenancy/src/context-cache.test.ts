import { UnknownTenant } from '@mcb/core';
import type { Database } from '@mcb/db';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTenantContextLoader, maxCachedMisses, type TenantContextLoaderHandle, TenantLookupsBusy } from './context';
import { generateKey, parseKeyring } from './crypto';

// The loader's cache without a database: a fake admin pool answers the one context query from a
// list of tenants and records every load it was asked for.

const keyring = parseKeyring(generateKey());
const acme = { id: '6f1c1f36-3c5d-4a39-9d3c-1f0b8f6c2a11', slug: 'acme', name: 'Acme', owner_name: null, report_email: null, config: {} };

function fakeAdmin(tenants = [acme]) {
  const loads: string[] = [];
  const sql = (strings: TemplateStringsArray | string, ...values: unknown[]) => {
    // `sql('t')`: an identifier inside a fragment.
    if (typeof strings === 'string') return { identifier: strings };
    const text = strings.join('$');
    // The `where` fragment (`t.slug = ${key}` / `t.id = ${key}::uuid`), embedded in the query below.
    if (/^t\.(slug|id) = /.test(text.trim())) return { by: text.trim().startsWith('t.slug') ? 'slug' : 'id', key: values[0] as string };
    // Other fragments (the shared GHL locations subquery): no value the fake needs.
    if (!text.trim().startsWith('select t.id')) return { fragment: text };
    const where = values.find((v): v is { by: string; key: string } => typeof v === 'object' && v !== null && 'key' in v);
    if (!where) throw new Error(`unexpected query: ${text}`);
    loads.push(where.key);
    const row = tenants.find((t) => (where.by === 'slug' ? t.slug : t.id) === where.key);
    return Promise.resolve(row ? [{ ...row, integrations: [], ghl_shared_location_ids: [] }] : []);
  };
  return { admin: { sql, role: 'admin', close: async () => {} } as unknown as Database, loads };
}

const opened: TenantContextLoaderHandle[] = [];
afterEach(async () => {
  for (const loader of opened.splice(0)) await loader.close();
  vi.useRealTimers();
});

function newLoader(admin: Database, options: { ttlMs?: number; now?: () => number; maxMisses?: number; maxPending?: number } = {}) {
  const loader = createTenantContextLoader({ admin, keyring, listen: false, ...options });
  opened.push(loader);
  return loader;
}

const settle = (p: Promise<unknown>) =>
  p.then(
    () => 'hit',
    (err) => (err instanceof UnknownTenant ? 'unknown' : err),
  );

describe('tenant context cache', () => {
  it('stays bounded under 50,000 unknown slugs, and a tenant cached before the flood is still served without a load', async () => {
    const { admin, loads } = fakeAdmin();
    let t = 0;
    const loader = newLoader(admin, { ttlMs: 60_000, now: () => t });
    const first = await loader.getTenantContext('acme');
    for (let i = 0; i < 50_000; i++) {
      expect(await settle(loader.getTenantContext(`x${i.toString(36)}-flood`))).toBe('unknown');
      t += 0.01; // 500 ms over the whole flood: every entry is still fresh
    }
    expect(loader.cachedEntries).toBeLessThanOrEqual(maxCachedMisses + 1);
    expect(await loader.getTenantContext('acme')).toBe(first);
    expect(loads.filter((k) => k === 'acme')).toHaveLength(1);
    // The newest misses are still remembered (a repeated bad slug stays off the database); the
    // oldest were evicted, so asking again loads again.
    const before = loads.length;
    expect(await settle(loader.getTenantContext(`x${(49_999).toString(36)}-flood`))).toBe('unknown');
    expect(loads.length).toBe(before);
    expect(await settle(loader.getTenantContext(`x${(0).toString(36)}-flood`))).toBe('unknown');
    expect(loads.length).toBe(before + 1);
  });

  it('bounds misses by the maxMisses option, evicting the least recently inserted', async () => {
    const { admin, loads } = fakeAdmin();
    const loader = newLoader(admin, { maxMisses: 3 });
    for (const slug of ['m1', 'm2', 'm3', 'm4']) await settle(loader.getTenantContext(slug));
    expect(loader.cachedEntries).toBe(3);
    await settle(loader.getTenantContext('m4'));
    await settle(loader.getTenantContext('m2'));
    expect(loads).toEqual(['m1', 'm2', 'm3', 'm4']);
    await settle(loader.getTenantContext('m1'));
    expect(loads).toEqual(['m1', 'm2', 'm3', 'm4', 'm1']);
    expect(loader.cachedEntries).toBe(3);
  });

  it('starts at most maxPending loads at once: past it a lookup fails at once (TenantLookupsBusy) and queues nothing', async () => {
    // The admin pool never answers while the flood is on (Postgres slow, or a queue behind its 3 connections).
    const { admin, loads } = fakeAdmin();
    let open = () => {};
    const gate = { promise: new Promise<void>((r) => (open = r)), resolve: () => open() };
    const slowSql = (strings: TemplateStringsArray | string, ...values: unknown[]) => {
      const out = (admin.sql as unknown as (...a: unknown[]) => unknown)(strings, ...values);
      return out instanceof Promise ? gate.promise.then(() => out) : out;
    };
    const loader = newLoader({ ...admin, sql: slowSql } as unknown as Database, { maxPending: 4 });
    const flood = Array.from({ length: 1_000 }, (_, i) => settle(loader.getTenantContext(`rnd-${i}`)));
    const early = await Promise.all(flood.slice(4));
    expect(early.every((r) => r instanceof TenantLookupsBusy)).toBe(true);
    expect(loads).toHaveLength(4);
    gate.resolve();
    expect(await Promise.all(flood.slice(0, 4))).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    // Settled: the next lookups start loads again.
    expect(await loader.getTenantContext('acme')).toMatchObject({ slug: 'acme' });
  });

  it('still shares one load between 100 concurrent misses for one slug, known or not', async () => {
    const { admin, loads } = fakeAdmin();
    const loader = newLoader(admin);
    const known = await Promise.all(Array.from({ length: 100 }, () => loader.getTenantContext('acme')));
    expect(new Set(known).size).toBe(1);
    const unknown = await Promise.all(Array.from({ length: 100 }, () => settle(loader.getTenantContext('nope'))));
    expect(new Set(unknown)).toEqual(new Set(['unknown']));
    expect(loads).toEqual(['acme', 'nope']);
    // A remembered miss answers exactly like a loaded one.
    await expect(loader.getTenantContext('nope')).rejects.toThrow(/^Unknown tenant: nope$/);
    expect(loads).toEqual(['acme', 'nope']);
  });

  it('drops expired entries in a periodic sweep, and close() stops it', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { admin, loads } = fakeAdmin();
    let t = 0;
    const loader = newLoader(admin, { ttlMs: 1_000, now: () => t });
    await loader.getTenantContext('acme');
    await loader.getTenantContextById(acme.id);
    await settle(loader.getTenantContext('nope'));
    expect(loader.cachedEntries).toBe(3);
    // A sweep (every TTL, here 1 s) keeps fresh entries and drops expired ones.
    t = 900;
    vi.advanceTimersByTime(1_000);
    expect(loader.cachedEntries).toBe(3);
    t = 1_001;
    vi.advanceTimersByTime(5_000);
    expect(loader.cachedEntries).toBe(0);
    expect(loads).toEqual(['acme', acme.id, 'nope']);
    expect(vi.getTimerCount()).toBe(1);
    await loader.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drops an expired entry on read: the reload replaces it instead of adding to it', async () => {
    const { admin, loads } = fakeAdmin();
    let t = 0;
    const loader = newLoader(admin, { now: () => t });
    await loader.getTenantContext('acme');
    await settle(loader.getTenantContext('nope'));
    t = 2_000;
    await loader.getTenantContext('acme');
    await settle(loader.getTenantContext('nope'));
    expect(loads).toEqual(['acme', 'nope', 'acme', 'nope']);
    expect(loader.cachedEntries).toBe(2);
  });

  it('forgets remembered misses on invalidation (a tenant may have been added under any slug)', async () => {
    const { admin, loads } = fakeAdmin();
    const loader = newLoader(admin);
    await loader.getTenantContext('acme');
    await settle(loader.getTenantContext('nope'));
    loader.invalidate(acme.id);
    expect(loader.cachedEntries).toBe(0);
    await settle(loader.getTenantContext('nope'));
    expect(loads).toEqual(['acme', 'nope', 'nope']);
  });
});
