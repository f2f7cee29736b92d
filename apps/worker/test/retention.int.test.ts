import { pollUntil } from '@mcb/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createHarness } from './harness';

// The worker prunes rejected deliveries past REJECTED_LOGS_KEEP_DAYS (packages/ops prune.ts has the rules).
const h = await createHarness('retention', { REJECTED_LOGS_KEEP_DAYS: '7', REJECTED_LOGS_PRUNE_EVERY_MS: '200' });
afterAll(() => h.close());

describe('retention of rejected deliveries', () => {
  it('a running worker deletes rejected rows older than REJECTED_LOGS_KEEP_DAYS and nothing else', async () => {
    const t = await h.makeTenant();
    const insert = (status: string, ageDays: number, key: string) => h.owner.sql`
      insert into webhook_logs (tenant_id, source, dedupe_key, payload, status, received_at)
      values (${t.id}, 'manychat', ${key}, '{}'::jsonb, ${status}, now() - ${ageDays} * interval '1 day')`;
    await insert('rejected', 8, 'old-rejected');
    await insert('rejected', 1, 'new-rejected');
    await insert('processed', 30, 'old-processed');
    await h.startWorker();
    const keys = async () =>
      (await h.owner.sql<{ dedupe_key: string }[]>`select dedupe_key from webhook_logs where tenant_id = ${t.id} order by dedupe_key`).map(
        (r) => r.dedupe_key,
      );
    expect(await pollUntil(keys, (k) => !k.includes('old-rejected'))).toEqual(['new-rejected', 'old-processed']);
  });
});
