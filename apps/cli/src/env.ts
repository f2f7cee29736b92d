import { commonEnvFields, parseEnv } from '@mcb/core';
import { z } from 'zod';

export const cliEnvSchema = z.object({
  ...commonEnvFields,
  MCB_ENCRYPTION_KEY: commonEnvFields.MCB_ENCRYPTION_KEY.optional(),
  PUBLIC_BASE_URL: z.string().url().default('http://127.0.0.1:3000'),
});
export type CliEnv = z.infer<typeof cliEnvSchema>;

/** Parses the CLI env lazily (a command that needs no database must not demand DATABASE_URL). */
export function loadCliEnv(source: Record<string, string | undefined> = process.env): CliEnv {
  return parseEnv(cliEnvSchema, source, 'mcb');
}
