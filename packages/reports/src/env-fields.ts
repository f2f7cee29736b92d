import { z } from 'zod';

const emptyAsUnset = (v: unknown) => (v === '' ? undefined : v);

/**
 * Env fields of report sending, spread into the env schema of each app that sends (worker, cli).
 * The package itself never reads `process.env`: apps pass the parsed values to `createReportMailer`.
 */
export const reportEnvFields = {
  REPORT_FROM: z.string().min(3).default('MCB Reports <onboarding@resend.dev>'),
  RESEND_API_KEY: z.preprocess(emptyAsUnset, z.string().min(1).optional()),
  RESEND_BASE_URL: z.preprocess(emptyAsUnset, z.string().url().optional()),
  /** Longest wait for Resend's answer to one send; past it the send fails and is retried (its idempotency key keeps it one email). */
  RESEND_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  REPORT_OUTBOX_DIR: z.string().min(1).default('.mcb/outbox'),
};

/** Mailer settings from parsed report env fields. */
export function reportMailerConfigFromEnv(env: {
  RESEND_API_KEY?: string | undefined;
  RESEND_BASE_URL?: string | undefined;
  RESEND_TIMEOUT_MS?: number;
  REPORT_OUTBOX_DIR: string;
}) {
  return {
    resendApiKey: env.RESEND_API_KEY,
    resendBaseUrl: env.RESEND_BASE_URL,
    resendTimeoutMs: env.RESEND_TIMEOUT_MS,
    outboxDir: env.REPORT_OUTBOX_DIR,
  };
}
