import { z } from 'zod';

/** Env fields of Conversions API sending (the Graph URL and version are the Meta sync's `META_*`). */
export const capiEnvFields = {
  /** How often the scheduler enqueues a `capi.send` per tenant with an active `meta_capi` integration. */
  CAPI_TICK_EVERY_MS: z.coerce.number().int().min(1_000).default(60_000),
  CAPI_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(1_000),
};
