import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Keys whose values are never logged. Paths are pino redact paths; `*` matches one level.
 * Secrets, signatures and whole payloads (personal data) are removed at every level.
 */
export const redactPaths = [
  'secret',
  'password',
  'token',
  'authorization',
  'payload',
  'rawBody',
  'credentials',
  'webhookSecret',
  '*.secret',
  '*.password',
  '*.token',
  '*.access_token',
  '*.api_key',
  '*.authorization',
  '*.payload',
  '*.rawBody',
  '*.credentials',
  '*.webhookSecret',
  'headers.authorization',
  'headers["stripe-signature"]',
  'headers["x-webhook-secret"]',
  'headers["x-ghl-signature"]',
  'headers["x-wh-signature"]',
];

export interface LoggerOptions {
  name: string;
  level?: string;
}

/** JSON logger (pino) with secret redaction. `LOG_LEVEL` is read by each app's env.ts, not here. */
export function createLogger({ name, level = 'info' }: LoggerOptions): Logger {
  return pino({
    name,
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { app: name },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
