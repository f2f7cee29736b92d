import { maskUrlPassword, unreachableErrorCodes, urlEndpoint } from '@mcb/core';

/** Postgres answered but would not let us in (bad password, unknown role or database, still starting). */
const loginCodes: Record<string, string> = {
  '28P01': 'the password was refused',
  '28000': 'the login was refused',
  '3D000': 'the database does not exist',
  '57P03': 'the server is still starting',
};

/**
 * What to do about a database or Redis the CLI cannot use. In the dev loop: npm start. In production (the
 * `cli` image sets NODE_ENV=production) there is no npm start to run (prod walk, stop 32).
 */
export function startHintFor(nodeEnv: string | undefined): string {
  return nodeEnv === 'production'
    ? 'Check that it runs and is reachable from here, with the same environment as the apps'
    : 'Start the system with `npm start` (then run `npm run mcb -- …`, which uses its database; if npm start was given MCB_DATA_DIR, give mcb the same)';
}
const startHint = startHintFor(process.env.NODE_ENV);

interface ErrorFields {
  message?: string;
  code?: string;
  address?: string;
  hostname?: string;
  port?: number;
}

/**
 * One line for an error that means the CLI could not reach its database (or Redis): which URL it
 * tried, password masked, and how to start the system. Null for any other error. Pure.
 */
export function describeUnreachable(err: unknown, env: { DATABASE_URL?: string; REDIS_URL?: string }): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as ErrorFields;
  const code = typeof e.code === 'string' ? e.code : '';
  const reason = (e.message ?? code).split('\n')[0];
  const loginProblem = loginCodes[code];
  if (loginProblem && env.DATABASE_URL) {
    return `The database at ${maskUrlPassword(env.DATABASE_URL)} answered but ${loginProblem} (${reason}). Check DATABASE_URL, or ${lowerFirst(startHint)}.`;
  }
  if (!unreachableErrorCodes.has(code)) return null;
  const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = urlEndpoint(redisUrl, 6379);
  const db = urlEndpoint(env.DATABASE_URL, 5432);
  const host = e.address ?? e.hostname;
  const isAt = (target: { host: string; port: number } | null) =>
    target !== null && (e.port === undefined || e.port === target.port) && (host === undefined || sameHost(host, target.host));
  if (isAt(redis) && !isAt(db)) return describeRedisUnavailable(reason ?? code, env);
  if (!env.DATABASE_URL || (!isAt(db) && e.port !== undefined)) return null;
  return `Cannot reach the database at ${maskUrlPassword(env.DATABASE_URL)} (${reason}). ${startHint}, or set DATABASE_URL to a running Postgres.`;
}

/** The one line for a Redis the CLI could not use: the URL it tried (password masked), why, and what to do. */
export function describeRedisUnavailable(reason: string, env: { REDIS_URL?: string }): string {
  const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  // Connected but silent (paused, overloaded, a blocking command): starting it again is not the advice.
  if (/timed out/i.test(reason) && !/connect/i.test(reason))
    return `Redis at ${maskUrlPassword(redisUrl)} did not answer in time (${reason}): it accepts connections but is not responding — check whether it is overloaded or paused.`;
  return `Cannot reach Redis at ${maskUrlPassword(redisUrl)} (${reason}). ${startHint}, or set REDIS_URL to a running Redis.`;
}

function sameHost(a: string, b: string): boolean {
  const local = new Set(['localhost', '127.0.0.1', '::1']);
  return a === b || (local.has(a) && local.has(b));
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** The line for `DATABASE_URL` not being set at all. */
export const missingDatabaseUrl = `mcb: DATABASE_URL is not set. ${startHint}, or set DATABASE_URL to a running Postgres (postgres://user:password@host:5432/db).`;
