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
};

/** Sync settings from the parsed env fields above. */
export function metaSettingsFromEnv(env: {
  META_GRAPH_URL: string;
  META_API_VERSION: string;
  META_PAGE_SIZE: number;
  META_TIMEOUT_MS: number;
}): MetaSyncSettings {
  return { graphUrl: env.META_GRAPH_URL, apiVersion: env.META_API_VERSION, pageSize: env.META_PAGE_SIZE, timeoutMs: env.META_TIMEOUT_MS };
}
