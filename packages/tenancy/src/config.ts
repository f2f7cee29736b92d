import { InvalidConfig } from '@mcb/core';
import { z } from 'zod';

const isIanaZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/** `tenants.config` (SPEC §5). Every field optional on write; `parseTenantConfig` applies defaults. */
export const tenantConfigSchema = z
  .object({
    timezone: z.string().refine(isIanaZone, 'must be an IANA time zone, e.g. America/New_York').default('UTC'),
    report: z
      .object({
        schedule: z.string().min(9).default('0 8 * * 1'),
        recipients: z.array(z.email()).default([]),
      })
      .prefault({}),
    deposit_amount_cents: z.number().int().positive().default(10_000),
    ghl: z.object({ stage_map: z.record(z.string(), z.string()).default({}) }).prefault({}),
    perspective: z.object({ ignore_funnels: z.array(z.string()).default([]) }).prefault({}),
    meta: z
      .object({
        sync_every: z
          .string()
          .regex(/^\d+(m|h|d)$/, 'must look like 30m, 6h or 1d')
          .default('6h'),
        lookback_days: z.number().int().min(1).max(90).default(28),
      })
      .prefault({}),
  })
  .passthrough();

export type TenantConfig = z.infer<typeof tenantConfigSchema>;

/** Validates and fills defaults. Throws `InvalidConfig` naming the first bad field. */
export function parseTenantConfig(input: unknown): TenantConfig {
  const result = tenantConfigSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || 'config';
  throw new InvalidConfig(`Invalid tenant config: ${field}: ${issue?.message ?? 'invalid'}`);
}
