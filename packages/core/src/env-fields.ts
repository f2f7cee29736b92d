import { z } from 'zod';

/** Env fields every long-running app shares; each app's env.ts spreads these into its schema. */
export const commonEnvFields = {
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  QUEUE_BACKEND: z.enum(['redis', 'postgres']).default('redis'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .default('redis://127.0.0.1:6379'),
  // `{mcb}` (a Redis Cluster hash tag) puts every key of every queue in one slot, as BullMQ needs.
  QUEUE_PREFIX: z
    .string()
    .regex(/^(?:[a-zA-Z0-9_-]+|\{[a-zA-Z0-9_-]+\})$/, 'letters, digits, _ and -, optionally as one {hash tag}')
    .default('mcb'),
  MCB_ENCRYPTION_KEY: z
    .string()
    .refine(
      (v) => v.split(',').every((k) => Buffer.from(k.replace(/^[^:]+:/, ''), 'base64').length === 32),
      'must be 32 bytes, base64 (optionally "kid:base64", comma-separated for rotation)',
    ),
};

/** Builds the queue backend settings from parsed common env. */
export function queueBackendFromEnv(env: { QUEUE_BACKEND: 'redis' | 'postgres'; REDIS_URL: string; DATABASE_URL: string }) {
  return env.QUEUE_BACKEND === 'postgres'
    ? ({ kind: 'postgres', url: env.DATABASE_URL } as const)
    : ({ kind: 'redis', url: env.REDIS_URL } as const);
}
