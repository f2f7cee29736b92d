import { getWebhookLogDetail, withTenantSql } from '@mcb/db';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness';

// A relay that leaves a ManyChat `{{user_id}}` unquoted sends the id as a bare JSON number, and
// Messenger ids have 16–17 digits: past 2^53, where JSON.parse rounds. Found by a reviewer on
// 2026-12-06: two people became one contact (the second's name and email overwrote the first's), and a
// second Perspective visit was answered `duplicate` and dropped. Ids must keep every digit sent.

let h: Harness;
beforeAll(async () => {
  h = await createHarness('bigids');
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

it('two ManyChat people whose numeric ids differ past 2^53 are two contacts, each with its exact id', async () => {
  const t = await h.makeTenant();
  const ann = await h.deliverRaw(
    t.id,
    'manychat',
    '{"id":12345678901234567,"first_name":"Ann","email":"ann@example.com","event_type":"contact_created"}',
  );
  const bob = await h.deliverRaw(
    t.id,
    'manychat',
    '{"id":12345678901234568,"first_name":"Bob","email":"bob@example.com","event_type":"contact_created"}',
  );
  const logs = await h.waitForLogs([ann, bob]);
  expect(logs.map((l) => l.status)).toEqual(['processed', 'processed']);
  const contacts = await h.owner.sql<{ mc_id: string; first_name: string; email_primary: string }[]>`
    select mc_id, first_name, email_primary from contacts where tenant_id = ${t.id} order by mc_id`;
  expect(contacts).toEqual([
    { mc_id: '12345678901234567', first_name: 'Ann', email_primary: 'ann@example.com' },
    { mc_id: '12345678901234568', first_name: 'Bob', email_primary: 'bob@example.com' },
  ]);
  // `mcb log` / the console show the id as sent, not rounded.
  const detail = await withTenantSql(h.owner.sql, t.id, (tx) => getWebhookLogDetail(tx, ann));
  expect(detail?.payload).toMatchObject({ id: '12345678901234567' });
});

it('two Perspective visits whose numeric ids differ past 2^53 are two deliveries, not a duplicate', async () => {
  const t = await h.makeTenant();
  const body = (id: string, email: string) =>
    `{"id":${id},"trigger":"conversion","funnelName":"Big ids","profile":{"email":{"value":"${email}"}},"values":{"email":"${email}"}}`;
  const first = await h.deliverRaw(t.id, 'perspective', body('98765432109876543', 'cy@example.com'));
  const second = await h.deliverRaw(t.id, 'perspective', body('98765432109876544', 'dee@example.com'));
  expect(second).not.toBe(first);
  await h.waitForLogs([first, second]);
  const keys = await h.owner.sql<{ dedupe_key: string }[]>`
    select dedupe_key from webhook_logs where id = any(${[first, second]}::int8[]) order by id`;
  expect(keys.map((k) => k.dedupe_key)).toEqual(['98765432109876543:conversion', '98765432109876544:conversion']);
  // A true redelivery of the first is still a duplicate.
  const again = await h.deliverRaw(t.id, 'perspective', body('98765432109876543', 'cy@example.com'));
  expect(again).toBe(first);
});

// Red team, stop 34: a signed ManyChat event whose subscriber id is 2,000 CJK characters (6 KB, under
// the 2,048-character text limit) is past what a btree index row holds. Postgres' "index row size …
// exceeds btree version 4 maximum 2704" (class 54) was retried 8 times over 130 s, each attempt failing
// the batch it shared and re-running every neighbour alone. The same data fails the same way: it is
// failed at its first attempt, and the events beside it are processed.
it('an identifier too large for its index fails its log at the first attempt, and its neighbours are processed', async () => {
  const t = await h.makeTenant();
  // Random, so that Postgres cannot compress it under the limit (a repeated character fits).
  const huge = Array.from({ length: 2_000 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7_919) % 20_000))).join('');
  const bad = await h.deliverRaw(
    t.id,
    'manychat',
    JSON.stringify({ subscriber: { id: huge, first_name: 'Wide' }, event_type: 'contact_created' }),
  );
  const good = await h.deliverRaw(
    t.id,
    'manychat',
    JSON.stringify({ id: 'next-door', first_name: 'Neighbour', email: 'next@example.com', event_type: 'contact_created' }),
  );
  await h.waitForLogs([bad, good]);
  const rows = await h.owner.sql<{ id: number; status: string; attempts: number; error_message: string | null }[]>`
    select id, status, attempts, error_message from webhook_logs where id = any(${[bad, good]}::int8[]) order by id`;
  expect(rows.map((r) => [r.id, r.status])).toEqual([
    [bad, 'failed'],
    [good, 'processed'],
  ]);
  const failed = rows[0]!;
  expect(failed.attempts).toBe(1);
  expect(failed.error_message).toMatch(/index row size/);
  expect(failed.error_message).not.toMatch(/will retry/);
});
