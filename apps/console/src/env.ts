import { commonEnvFields, exitOnEnvError, parseAppEnv } from '@mcb/core';
import { z } from 'zod';

export const consoleEnvSchema = z.object({
  ...commonEnvFields,
  CONSOLE_PORT: z.coerce.number().int().min(1).max(65535).default(3001),
  HOST: z.string().default('0.0.0.0'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  CONSOLE_QUEUE_REFRESH_MS: z.coerce.number().int().min(1_000).default(30_000),
  CONSOLE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(15_000),
  CONSOLE_COOKIE_SECURE: z.enum(['auto', 'always', 'never']).default('auto'),
  CONSOLE_ORIGIN: z
    .string()
    .regex(/^https?:\/\/[^/\s]+\/?$/, 'must be an origin like https://console.example')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  CONSOLE_TRUST_PROXY: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  CONSOLE_SIGNIN_MAX_FAILURES: z.coerce.number().int().min(1).max(10_000).default(10),
  CONSOLE_SIGNIN_WINDOW_MS: z.coerce.number().int().min(1_000).default(600_000),
  JOB_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
});
export type ConsoleEnv = z.infer<typeof consoleEnvSchema>;

export function loadConsoleEnv(source: Record<string, string | undefined> = process.env): ConsoleEnv {
  return exitOnEnvError(() => parseAppEnv(consoleEnvSchema, source, 'console'));
}
