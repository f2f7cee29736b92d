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

/**
 * What production may not leave to a default, once the fields parsed: a REDIS_URL (its default,
 * redis://127.0.0.1:6379, suits a laptop; a production worker without one wrote to whatever Redis
 * answered there). Null when nothing is wrong, or outside production.
 */
export function productionEnvProblem(
  env: Record<string, unknown>,
  source: Record<string, string | undefined>,
): { variable: string; message: string } | null {
  if (env.NODE_ENV !== 'production' || env.QUEUE_BACKEND !== 'redis' || !('REDIS_URL' in env) || source.REDIS_URL !== undefined)
    return null;
  return {
    variable: 'REDIS_URL',
    message: 'REDIS_URL is not set: with NODE_ENV=production it is required (the default redis://127.0.0.1:6379 is for development)',
  };
}

/** Builds the queue backend settings from parsed common env. */
export function queueBackendFromEnv(env: { QUEUE_BACKEND: 'redis' | 'postgres'; REDIS_URL: string; DATABASE_URL: string }) {
  return env.QUEUE_BACKEND === 'postgres'
    ? ({ kind: 'postgres', url: env.DATABASE_URL } as const)
    : ({ kind: 'redis', url: env.REDIS_URL } as const);
}
