import { normalizeDenefits } from './denefits/normalize';
import { normalizeGhl } from './ghl/normalize';
import { normalizeManyChat } from './manychat/normalize';
import { normalizePerspective } from './perspective/normalize';
import { type Normalizer, type NormalizerConfig, reject } from './result';
import { normalizeStripe } from './stripe/normalize';
import { type NormalizeResult, sources } from './types';

/** One pure normalizer per source (SPEC §4). */
export const normalizers: Record<(typeof sources)[number], Normalizer> = {
  manychat: normalizeManyChat,
  ghl: normalizeGhl,
  stripe: normalizeStripe,
  denefits: normalizeDenefits,
  perspective: normalizePerspective,
};

/**
 * Normalizes one stored webhook body for its source (SPEC §4): pure, no I/O, total — any JSON in, a
 * `NormalizeResult` out, never a throw. `config` is the tenant's parsed config (`TenantConfig`).
 * An unknown source is `invalid`.
 */
export function normalizeWebhook(source: string, payload: unknown, config: NormalizerConfig): NormalizeResult {
  const normalize = (sources as readonly string[]).includes(source) ? normalizers[source as (typeof sources)[number]] : undefined;
  if (!normalize) return reject(null, `unknown source "${source}"`);
  return normalize(payload, config ?? {});
}
