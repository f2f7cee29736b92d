/** Throttling state reported by Meta's usage headers. Percentages 0–100; `regainAccessMs` 0 when not blocked. */
export interface GraphUsage {
  /** Highest usage percentage seen in any header (call count, CPU time, total time, account util). */
  maxPct: number;
  /** Longest wait Meta announced before calls are accepted again (BUC minutes, ad-account reset seconds). */
  regainAccessMs: number;
}

type HeaderGetter = { get(name: string): string | null };

function parseJson(value: string | null): unknown {
  if (!value) return null;
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}

function num(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}

/**
 * Reads `X-Business-Use-Case-Usage` (`{<business id>: [{type, call_count, total_cputime, total_time,
 * estimated_time_to_regain_access (minutes)}]}`), `X-Ad-Account-Usage` (`{acc_id_util_pct,
 * reset_time_duration (seconds)}`), `X-FB-Ads-Insights-Throttle` and `X-App-Usage`. Malformed headers count as no usage.
 */
export function parseGraphUsage(headers: HeaderGetter): GraphUsage {
  let maxPct = 0;
  let regainAccessMs = 0;
  const buc = parseJson(headers.get('x-business-use-case-usage'));
  if (buc && typeof buc === 'object') {
    for (const entries of Object.values(buc as Record<string, unknown>)) {
      if (!Array.isArray(entries)) continue;
      for (const e of entries as Array<Record<string, unknown>>) {
        maxPct = Math.max(maxPct, num(e.call_count), num(e.total_cputime), num(e.total_time));
        regainAccessMs = Math.max(regainAccessMs, num(e.estimated_time_to_regain_access) * 60_000);
      }
    }
  }
  const account = parseJson(headers.get('x-ad-account-usage')) as Record<string, unknown> | null;
  if (account && typeof account === 'object') {
    maxPct = Math.max(maxPct, num(account.acc_id_util_pct));
    regainAccessMs = Math.max(regainAccessMs, num(account.reset_time_duration) * 1_000);
  }
  const insights = parseJson(headers.get('x-fb-ads-insights-throttle')) as Record<string, unknown> | null;
  if (insights && typeof insights === 'object') {
    maxPct = Math.max(maxPct, num(insights.app_id_util_pct), num(insights.acc_id_util_pct));
  }
  const app = parseJson(headers.get('x-app-usage')) as Record<string, unknown> | null;
  if (app && typeof app === 'object') {
    maxPct = Math.max(maxPct, num(app.call_count), num(app.total_cputime), num(app.total_time));
  }
  return { maxPct, regainAccessMs };
}
