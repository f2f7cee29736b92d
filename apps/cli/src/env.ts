import { commonEnvFields, parseEnv } from '@mcb/core';
import { createDatabase, type Database } from '@mcb/db';
import { metaEnvFields } from '@mcb/meta';
import { reportEnvFields } from '@mcb/reports';
import { type Keyring, parseKeyring } from '@mcb/tenancy';
import { z } from 'zod';
import { missingDatabaseUrl } from './unreachable';

export const cliEnvSchema = z.object({
  ...commonEnvFields,
  ...metaEnvFields,
  ...reportEnvFields,
  MCB_ENCRYPTION_KEY: commonEnvFields.MCB_ENCRYPTION_KEY.optional(),
  /** Where tools reach the receiver; unset → the local receiver on PORT. */
  PUBLIC_BASE_URL: z.string().url().optional(),
  /** The local receiver's port (as the receiver reads it), used when PUBLIC_BASE_URL is unset. */
  PORT: z.coerce.number().int().min(1).max(65535).optional(),
  JOB_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
});
export type CliEnv = z.infer<typeof cliEnvSchema>;

/** Parses the CLI env lazily (a command that needs no database must not demand DATABASE_URL). */
export function loadCliEnv(source: Record<string, string | undefined> = process.env): CliEnv {
  if (!source.DATABASE_URL) throw new Error(missingDatabaseUrl);
  return parseEnv(cliEnvSchema, source, 'mcb');
}

/** The keyring from `MCB_ENCRYPTION_KEY`; commands that touch secrets fail with one line without it. */
export function keyringFromEnv(env: CliEnv): Keyring {
  if (!env.MCB_ENCRYPTION_KEY) throw new Error('Missing MCB_ENCRYPTION_KEY (32 bytes, base64)');
  return parseKeyring(env.MCB_ENCRYPTION_KEY);
}

/** Runs `fn` with an admin-role connection (tenant management is an admin path) and closes it. */
export async function withAdminDatabase<T>(env: CliEnv, fn: (admin: Database) => Promise<T>): Promise<T> {
  const admin = createDatabase({ url: env.DATABASE_URL, role: 'admin', max: 2, applicationName: 'mcb-cli' });
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/**
 * Runs `fn` with the two pools of an operator command (`logs`, `log`, `replay`): `admin` for lookups
 * and lists across tenants, `app` for everything of one tenant under RLS (ADR 0002). Closes both.
 */
export async function withOperatorDatabases<T>(env: CliEnv, fn: (dbs: { admin: Database; app: Database }) => Promise<T>): Promise<T> {
  const admin = createDatabase({ url: env.DATABASE_URL, role: 'admin', max: 2, applicationName: 'mcb-cli' });
  const app = createDatabase({ url: env.DATABASE_URL, role: 'app', max: 2, applicationName: 'mcb-cli' });
  try {
    return await fn({ admin, app });
  } finally {
    await Promise.all([admin.close(), app.close()]);
  }
}
