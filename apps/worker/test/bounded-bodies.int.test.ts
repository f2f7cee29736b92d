import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness';

// A body signed with one tenant's secret, past what its provider ever sends, is processed within the
// normalizer's bounds: what it left out is the processed log's message, and the rest is booked as usual.

const fixture = (source: string, name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../packages/sources/src/${source}/fixtures/${name}.json`, import.meta.url), 'utf8'));

let h: Harness;
beforeAll(async () => {
  h = await createHarness('bounded');
});
afterAll(async () => {
  await h?.close();
});

it('a charge.refunded listing 150 refunds books the first 100 and its log says so', async () => {
  const t = await h.makeTenant();
  await h.startWorker();
  const charge = structuredClone(fixture('stripe', 'charge-refunded')) as {
    id: string;
    data: { object: { refunds: { data: Array<Record<string, unknown>> } } };
  };
  const refund = charge.data.object.refunds.data[0]!;
  charge.id = 'evt_many_refunds';
  charge.data.object.refunds.data = Array.from({ length: 150 }, (_, i) => ({ ...refund, id: `re_many_${i}`, amount: 100 }));
  const id = await h.deliver(t.id, 'stripe', charge);
  const [log] = await h.waitForLogs([id]);
  expect(log).toMatchObject({
    status: 'processed',
    error_message: 'charge.refunded lists 150 refunds; Stripe embeds at most 100: the first 100 were read, 50 left out',
  });
  const [{ n }] = (await h.owner.sql`select count(*)::int as n from payments where tenant_id = ${t.id}`) as unknown as [{ n: number }];
  expect(n).toBe(100);
});
