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
  REPORT_OUTBOX_DIR: z.string().min(1).default('.mcb/outbox'),
};

/** Mailer settings from parsed report env fields. */
export function reportMailerConfigFromEnv(env: {
  RESEND_API_KEY?: string | undefined;
  RESEND_BASE_URL?: string | undefined;
  REPORT_OUTBOX_DIR: string;
}) {
  return { resendApiKey: env.RESEND_API_KEY, resendBaseUrl: env.RESEND_BASE_URL, outboxDir: env.REPORT_OUTBOX_DIR };
}
