import { commonEnvFields, exitOnEnvError, parseAppEnv } from '@mcb/core';
import { parseGhlPublicKeys } from '@mcb/sources';
import { telemetryEnvFields } from '@mcb/telemetry';
import { z } from 'zod';

const int = (min: number, max: number, def: number) => z.coerce.number().int().min(min).max(max).default(def);

export const receiverEnvSchema = z.object({
  ...commonEnvFields,
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  /** `/metrics` listener (tenant slugs and traffic: never published); 0 = any free port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(3003),
  BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024, 1024 * 1024),
  GROUP_COMMIT_WINDOW_MS: int(0, 50, 1),
  GROUP_COMMIT_MAX_ROWS: int(1, 5_000, 500),
  GROUP_COMMIT_CONCURRENCY: int(1, 64, 4),
  ENQUEUE_TIMEOUT_MS: int(10, 60_000, 2_000),
  DB_REQUEST_TIMEOUT_MS: int(100, 60_000, 1_500),
  DB_CONNECT_TIMEOUT_S: int(1, 60, 2),
  REJECTIONS_STORED_PER_MINUTE: int(0, 1_000_000, 60),
  CREDENTIALED_REJECTIONS_STORED_PER_MINUTE: int(0, 1_000_000, 20),
  /** Node's HTTP server: whole request (headers + body) and headers alone; 0 = no limit (Node's meaning). */
  REQUEST_TIMEOUT_MS: int(0, 600_000, 30_000),
  HEADERS_TIMEOUT_MS: int(1_000, 600_000, 10_000),
  /**
   * How long an idle keep-alive connection stays open after its last answer. Above the idle timeout of the
   * proxies in front (AWS ALB 60 s, ingress-nginx upstream keep-alive 60 s): with Node's 5 s, a proxy could
   * send a POST on a connection the receiver was closing, and the provider got a 502 for it.
   */
  KEEP_ALIVE_TIMEOUT_MS: int(1_000, 600_000, 65_000),
  BODY_READ_TIMEOUT_MS: int(100, 600_000, 15_000),
  BODY_BUDGET_BYTES: int(64 * 1024, 4 * 1024 * 1024 * 1024, 64 * 1024 * 1024),
  BODY_BUDGET_PER_TENANT_BYTES: int(1024, 4 * 1024 * 1024 * 1024, 8 * 1024 * 1024),
  INTAKE_BYTES_PER_TENANT_PER_MINUTE: int(1024, Number.MAX_SAFE_INTEGER, 256 * 1024 * 1024),
  /** Open connections at once on the public port; 0 = no cap. */
  MAX_CONNECTIONS: int(0, 1_000_000, 10_000),
  TENANT_CACHE_TTL_MS: int(0, 3_600_000, 30_000),
  GHL_ED25519_PUBLIC_KEY: z.string().optional(),
  GHL_RSA_PUBLIC_KEY: z.string().optional(),
  SHUTDOWN_TIMEOUT_MS: int(100, 120_000, 8_000),
  /** Attempts of the webhook jobs it adds (the worker's setting of the same name): it ignored it, and every delivery got 8. */
  JOB_ATTEMPTS: int(1, 50, 8),
  ...telemetryEnvFields('mcb-receiver'),
});
export type ReceiverEnv = z.infer<typeof receiverEnvSchema>;

/** Parses the receiver's env; exits with one line naming the bad variable. */
export function loadReceiverEnv(source: Record<string, string | undefined> = process.env): ReceiverEnv {
  return exitOnEnvError(() => checkReceiverEnv(parseAppEnv(receiverEnvSchema, source, 'receiver')));
}

/**
 * The bounds that depend on each other: a body at BODY_LIMIT_BYTES must fit a tenant's share of the
 * body budget and its intake byte budget (or it could never be accepted), the share must fit the
 * total, and Node's header deadline must not outlast its request deadline. Throws an env error.
 */
export function checkReceiverEnv(env: ReceiverEnv): ReceiverEnv {
  const bad = (name: string, message: string) => {
    const e = new Error(`receiver: invalid environment variable ${name}: ${message}`);
    (e as Error & { envVariable?: string }).envVariable = name;
    throw e;
  };
  if (env.BODY_BUDGET_PER_TENANT_BYTES < env.BODY_LIMIT_BYTES) bad('BODY_BUDGET_PER_TENANT_BYTES', 'must be at least BODY_LIMIT_BYTES');
  if ((env.BODY_BUDGET_BYTES * 3) / 4 < env.BODY_BUDGET_PER_TENANT_BYTES)
    bad('BODY_BUDGET_BYTES', 'must be at least 4/3 of BODY_BUDGET_PER_TENANT_BYTES (large bodies share 3/4 of it)');
  if (env.INTAKE_BYTES_PER_TENANT_PER_MINUTE < env.BODY_LIMIT_BYTES)
    bad('INTAKE_BYTES_PER_TENANT_PER_MINUTE', 'must be at least BODY_LIMIT_BYTES');
  if (env.REQUEST_TIMEOUT_MS > 0 && env.HEADERS_TIMEOUT_MS > env.REQUEST_TIMEOUT_MS)
    bad('HEADERS_TIMEOUT_MS', 'must not exceed REQUEST_TIMEOUT_MS');
  return env;
}

/**
 * Options of the public HTTP server (node:http). Node's defaults hold a request whose body never
 * completes for 300 s (requestTimeout), checked every 30 s: here the whole request must arrive within
 * REQUEST_TIMEOUT_MS and its headers within HEADERS_TIMEOUT_MS, checked every second. The route's own
 * body deadline (BODY_READ_TIMEOUT_MS, shorter) answers a slow body 408 before Node cuts it. An idle
 * keep-alive connection is kept KEEP_ALIVE_TIMEOUT_MS (Node's idle wait does not count towards the two).
 */
export function httpServerOptions(env: Pick<ReceiverEnv, 'REQUEST_TIMEOUT_MS' | 'HEADERS_TIMEOUT_MS' | 'KEEP_ALIVE_TIMEOUT_MS'>) {
  return {
    requestTimeout: env.REQUEST_TIMEOUT_MS,
    headersTimeout: env.HEADERS_TIMEOUT_MS,
    keepAliveTimeout: env.KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: 1_000,
  };
}

/** GHL public keys from `GHL_ED25519_PUBLIC_KEY` / `GHL_RSA_PUBLIC_KEY` (PEM), HighLevel's published keys by default. */
export function ghlKeysFromEnv(env: Pick<ReceiverEnv, 'GHL_ED25519_PUBLIC_KEY' | 'GHL_RSA_PUBLIC_KEY'>) {
  try {
    return parseGhlPublicKeys({ ed25519: env.GHL_ED25519_PUBLIC_KEY, rsa: env.GHL_RSA_PUBLIC_KEY });
  } catch (err) {
    const e = new Error(`receiver: invalid environment variable GHL_ED25519_PUBLIC_KEY or GHL_RSA_PUBLIC_KEY: ${(err as Error).message}`);
    (e as Error & { envVariable?: string }).envVariable = 'GHL_ED25519_PUBLIC_KEY';
    throw e;
  }
}
