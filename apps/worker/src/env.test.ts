import { describe, expect, it } from 'vitest';
import { workerEnvSchema } from './env';

const base = { DATABASE_URL: 'postgres://u@127.0.0.1:5432/x', REDIS_URL: 'redis://127.0.0.1:6379', MCB_ENCRYPTION_KEY: 'k' };

describe('worker env', () => {
  // A Meta sync holds one pool connection for its lock: a pool of 1 would leave none for its writes.
  it('refuses DATABASE_POOL_MAX below 2 with the reason, and takes 2 or more', () => {
    const one = workerEnvSchema.safeParse({ ...base, DATABASE_POOL_MAX: '1' });
    expect(one.success).toBe(false);
    expect(one.error?.issues[0]).toMatchObject({
      path: ['DATABASE_POOL_MAX'],
      message: 'the worker needs at least 2: a Meta sync holds one connection for its lock',
    });
    const two = workerEnvSchema.safeParse({ ...base, DATABASE_POOL_MAX: '2' });
    expect(two.error?.issues.filter((i) => i.path[0] === 'DATABASE_POOL_MAX') ?? []).toEqual([]);
  });
});
