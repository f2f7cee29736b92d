import { commonEnvFields, exitOnEnvError, parseEnv } from '@mcb/core';
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
  TENANT_CACHE_TTL_MS: int(0, 3_600_000, 30_000),
  GHL_ED25519_PUBLIC_KEY: z.string().optional(),
  GHL_RSA_PUBLIC_KEY: z.string().optional(),
  SHUTDOWN_TIMEOUT_MS: int(100, 120_000, 8_000),
  ...telemetryEnvFields('mcb-receiver'),
});
export type ReceiverEnv = z.infer<typeof receiverEnvSchema>;

/** Parses the receiver's env; exits with one line naming the bad variable. */
export function loadReceiverEnv(source: Record<string, string | undefined> = process.env): ReceiverEnv {
  return exitOnEnvError(() => parseEnv(receiverEnvSchema, source, 'receiver'));
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
