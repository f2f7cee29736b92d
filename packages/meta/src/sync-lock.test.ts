import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { metaSyncLockKey } from './sync-lock';

describe('metaSyncLockKey', () => {
  it('is a signed 64-bit integer, as pg_try_advisory_lock(bigint) takes it', () => {
    for (let i = 0; i < 200; i++) {
      const key = BigInt(metaSyncLockKey(randomUUID()));
      expect(key >= -(2n ** 63n) && key < 2n ** 63n).toBe(true);
    }
  });

  it('is one key per tenant: distinct tenants, distinct keys', () => {
    const ids = Array.from({ length: 2_000 }, () => randomUUID());
    expect(new Set(ids.map(metaSyncLockKey)).size).toBe(ids.length);
  });

  it('never changes: processes of two releases (a rolling deploy, an older CLI) must take the same key', () => {
    expect(metaSyncLockKey('6f1c2a4e-0b7d-4c1e-9a53-2d8f0e6b7a10')).toBe('-6112591844046747215');
  });
});
