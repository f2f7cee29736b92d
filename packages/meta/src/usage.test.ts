import { describe, expect, it } from 'vitest';
import { parseGraphUsage } from './usage';

const headers = (h: Record<string, string>) => new Headers(h);

describe('parseGraphUsage', () => {
  it('reads BUC minutes and ad-account seconds, keeping the longest wait', () => {
    const u = parseGraphUsage(
      headers({
        'x-business-use-case-usage': JSON.stringify({
          '123': [{ type: 'ads_management', call_count: 96, total_cputime: 20, total_time: 30, estimated_time_to_regain_access: 3 }],
        }),
        'x-ad-account-usage': JSON.stringify({ acc_id_util_pct: 99.5, reset_time_duration: 40 }),
      }),
    );
    expect(u).toEqual({ maxPct: 99.5, regainAccessMs: 180_000 });
  });
  it('counts the insights throttle header', () => {
    expect(parseGraphUsage(headers({ 'x-fb-ads-insights-throttle': '{"app_id_util_pct":12,"acc_id_util_pct":77}' })).maxPct).toBe(77);
  });
  it('ignores missing or malformed headers', () => {
    expect(parseGraphUsage(headers({ 'x-ad-account-usage': '{oops' }))).toEqual({ maxPct: 0, regainAccessMs: 0 });
  });
});
