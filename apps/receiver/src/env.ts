import { commonEnvFields, exitOnEnvError, parseEnv } from '@mcb/core';
import { z } from 'zod';

export const receiverEnvSchema = z.object({
  ...commonEnvFields,
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
});
export type ReceiverEnv = z.infer<typeof receiverEnvSchema>;

/** Parses the receiver's env; exits with one line naming the bad variable. */
export function loadReceiverEnv(source: Record<string, string | undefined> = process.env): ReceiverEnv {
  return exitOnEnvError(() => parseEnv(receiverEnvSchema, source, 'receiver'));
}
