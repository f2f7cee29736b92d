import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseAppEnv, parseEnv } from './env';
import { commonEnvFields } from './env-fields';

const prefix = z.object({ QUEUE_PREFIX: commonEnvFields.QUEUE_PREFIX });

describe('QUEUE_PREFIX', () => {
  it.each(['mcb', 'mcb-staging_2', '{mcb}'])('accepts %s', (value) => {
    expect(prefix.parse({ QUEUE_PREFIX: value }).QUEUE_PREFIX).toBe(value);
  });

  it.each(['{mcb', 'mcb}', 'a:b', '{a}{b}', 'm cb', ''])('refuses %j', (value) => {
    expect(prefix.safeParse({ QUEUE_PREFIX: value }).success).toBe(false);
  });
});

describe('REDIS_URL in production (prod walk, stop 32: a worker without one wrote to the Redis on 127.0.0.1:6379)', () => {
  const schema = z.object(commonEnvFields);
  const base = { DATABASE_URL: 'postgres://x@db/x', MCB_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') };
  it('is required with NODE_ENV=production and the Redis queue backend, naming it', () => {
    expect(() => parseAppEnv(schema, { ...base, NODE_ENV: 'production' }, 'worker')).toThrow(
      'worker: REDIS_URL is not set: with NODE_ENV=production it is required (the default redis://127.0.0.1:6379 is for development)',
    );
  });
  it('defaults elsewhere, and is not needed on the PostgreSQL queue backend', () => {
    expect(parseAppEnv(schema, base, 'worker').REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(parseAppEnv(schema, { ...base, NODE_ENV: 'production', REDIS_URL: 'redis://queue:6379' }, 'worker').REDIS_URL).toBe(
      'redis://queue:6379',
    );
    expect(parseAppEnv(schema, { ...base, NODE_ENV: 'production', QUEUE_BACKEND: 'postgres' }, 'worker').QUEUE_BACKEND).toBe('postgres');
    // The CLI (the migrate step's image is production too) parses without it: `db migrate` needs no Redis.
    expect(parseEnv(schema, { ...base, NODE_ENV: 'production' }, 'mcb').REDIS_URL).toBe('redis://127.0.0.1:6379');
  });
});
