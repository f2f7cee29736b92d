import { z } from 'zod';

/** Env fields of Conversions API sending (the Graph URL and version are the Meta sync's `META_*`). */
export const capiEnvFields = {
  /** How often the scheduler enqueues a `capi.send` per tenant with an active `meta_capi` integration. */
  CAPI_TICK_EVERY_MS: z.coerce.number().int().min(1_000).default(60_000),
  CAPI_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(1_000),
  /**
   * Longest one `capi.send` runs (ms) before it releases its claims and completes (`timedOut`); the
   * next tick resumes. Without it a dataset Meta never answers held a webhook slot for ~5 min per
   * request (60 s timeout × 5 tries). 2 min: 100,000 events took 49 s under load (ADR 0017).
   */
  CAPI_SEND_MAX_MS: z.coerce.number().int().min(1_000).default(120_000),
};
