import { commonEnvFields, exitOnEnvError, parseEnv } from '@mcb/core';
import { z } from 'zod';

export const workerEnvSchema = z.object({
  ...commonEnvFields,
  WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(20),
  JOB_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(8_000),
});
export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export function loadWorkerEnv(source: Record<string, string | undefined> = process.env): WorkerEnv {
  return exitOnEnvError(() => parseEnv(workerEnvSchema, source, 'worker'));
}
