import { z } from 'zod';
import type { MetaSyncSettings } from './tenant-sync';

/** Env fields of the Meta sync, spread into the env schema of each app that syncs (worker, cli). */
export const metaEnvFields = {
  META_GRAPH_URL: z.string().url().default('https://graph.facebook.com'),
  META_API_VERSION: z
    .string()
    .regex(/^v\d+\.\d+$/, 'must look like v25.0')
    .default('v25.0'),
  META_PAGE_SIZE: z.coerce.number().int().min(1).max(5_000).default(500),
  META_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
  /** Largest Graph response read; a bigger body is cut off and fails the sync (`MetaBadResponse` 'too_large'). */
  META_MAX_RESPONSE_MB: z.coerce.number().int().min(1).max(1_024).default(32),
  /** Pages one edge (the ads, or one month of insights) may take before the sync fails ('page_cap'). */
  META_MAX_PAGES: z.coerce.number().int().min(1).default(10_000),
};

/** Sync settings from the parsed env fields above. */
export function metaSettingsFromEnv(env: {
  META_GRAPH_URL: string;
  META_API_VERSION: string;
  META_PAGE_SIZE: number;
  META_TIMEOUT_MS: number;
  META_MAX_RESPONSE_MB: number;
  META_MAX_PAGES: number;
}): MetaSyncSettings {
  return {
    graphUrl: env.META_GRAPH_URL,
    apiVersion: env.META_API_VERSION,
    pageSize: env.META_PAGE_SIZE,
    timeoutMs: env.META_TIMEOUT_MS,
    maxResponseBytes: env.META_MAX_RESPONSE_MB * 1024 * 1024,
    maxPages: env.META_MAX_PAGES,
  };
}
