import { commonEnvFields, exitOnEnvError, parseEnv } from '@mcb/core';
import { z } from 'zod';

export const consoleEnvSchema = z.object({
  ...commonEnvFields,
  CONSOLE_PORT: z.coerce.number().int().min(1).max(65535).default(3001),
  HOST: z.string().default('0.0.0.0'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  CONSOLE_QUEUE_REFRESH_MS: z.coerce.number().int().min(1_000).default(30_000),
  JOB_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
});
export type ConsoleEnv = z.infer<typeof consoleEnvSchema>;

export function loadConsoleEnv(source: Record<string, string | undefined> = process.env): ConsoleEnv {
  return exitOnEnvError(() => parseEnv(consoleEnvSchema, source, 'console'));
}
