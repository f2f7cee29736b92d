import { describe, expect, it } from 'vitest';
import { jobSchemas } from './catalog';

describe('report.weekly job data', () => {
  const tenantId = '00000000-0000-4000-8000-000000000001';

  // A reviewer (stop 28): a malformed weekStart passed the schema, then failed in the week arithmetic
  // with a plain Error that was retried JOB_ATTEMPTS times instead of failing at once.
  it('takes a real calendar date only', () => {
    expect(jobSchemas['report.weekly'].safeParse({ tenantId, weekStart: '2026-11-30' }).success).toBe(true);
    for (const weekStart of ['2026-13-45', '2026-02-30', 'next monday', '2026-11-30T00:00:00Z', '']) {
      expect(jobSchemas['report.weekly'].safeParse({ tenantId, weekStart }).success, weekStart).toBe(false);
    }
  });
});
