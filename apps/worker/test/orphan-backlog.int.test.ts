import { readFileSync } from 'node:fs';
import { pollUntil } from '@mcb/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness';

// A person arriving for more orphan payments than one apply transaction links (WORKER_ORPHANS_PER_TRANSACTION)
// gets the rest from the tenant's orphans.link job; a backlog whose job was lost is picked up by the reconciler.

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../packages/sources/src/stripe/fixtures/${name}.json`, import.meta.url), 'utf8'));

let h: Harness;
let seq = 0;
beforeAll(async () => {
  h = await createHarness('orphanlog');
  await h.startWorker({ WORKER_ORPHANS_PER_TRANSACTION: 5, RECONCILE_INTERVAL_MS: 200, RECONCILE_MIN_AGE_MS: 500 });
});
afterAll(async () => {
  await h?.close();
});

function stripeSession(email: string) {
  const body = structuredClone(fixture('checkout-session-completed-full')) as {
    id: string;
    created: number;
    data: { object: Record<string, unknown> };
  };
  const now = Math.floor(Date.now() / 1000);
  seq++;
  body.id = `evt_orphan_${seq}_${now}`;
  body.created = now;
  const o = body.data.object;
  o.id = `cs_orphan_${seq}_${now}`;
  o.created = now;
  o.customer = null;
  o.customer_email = null;
  o.customer_details = { ...(o.customer_details as object), email, phone: null };
  return body;
}

const counts = (tenantId: string) =>
  h.owner.sql<{ linked: number; waiting: number; backlog: number; sales: number }[]>`
    select (select count(*)::int from payments where tenant_id = ${tenantId} and contact_id is not null) as linked,
      (select count(*)::int from payments where tenant_id = ${tenantId} and contact_id is null) as waiting,
      (select count(*)::int from orphan_link_backlog where tenant_id = ${tenantId}) as backlog,
      (select count(*)::int from funnel_events where tenant_id = ${tenantId} and event_type = 'purchase_completed') as sales`.then(
    (r) => r[0]!,
  );

it('a person arriving for 17 orphans, 5 per transaction: all 17 linked by the orphans.link job, each sale once', async () => {
  const t = await h.makeTenant();
  const sales = [];
  for (let i = 0; i < 17; i++) sales.push(await h.deliver(t.id, 'stripe', stripeSession('many@example.com')));
  await h.waitForLogs(sales);
  expect(await counts(t.id)).toEqual({ linked: 0, waiting: 17, backlog: 0, sales: 0 });

  const person = await h.deliver(t.id, 'manychat', {
    id: 'sub-many',
    email: 'many@example.com',
    first_name: 'Many',
    event_type: 'contact_created',
  });
  await h.waitForLogs([person]);
  const done = await pollUntil(
    () => counts(t.id),
    (c) => c.linked === 17 && c.backlog === 0,
    { timeoutMs: 20_000 },
  );
  expect(done).toEqual({ linked: 17, waiting: 0, backlog: 0, sales: 17 });
  const [contact] = await h.owner.sql<{ n: number }[]>`select count(*)::int as n from contacts where tenant_id = ${t.id}`;
  expect(contact!.n).toBe(1);
});

it('a backlog left with no job (a worker died between the commit and adding it) is linked once the reconciler adds the job', async () => {
  const t = await h.makeTenant();
  const logs = [];
  for (let i = 0; i < 7; i++) logs.push(await h.deliver(t.id, 'stripe', stripeSession('left@example.com')));
  logs.push(await h.deliver(t.id, 'manychat', { id: 'sub-left', email: 'left@example.com', event_type: 'contact_created' }));
  await h.waitForLogs(logs);
  await pollUntil(
    () => counts(t.id),
    (c) => c.linked === 7 && c.backlog === 0,
    { timeoutMs: 20_000 },
  );
  // What a worker killed right after the person's commit leaves: orphans of an identifier the person holds,
  // the backlog row that says so, and no orphans.link job.
  await h.stopWorkers();
  await h.owner.sql`
    update payments set contact_id = null where tenant_id = ${t.id}
      and payment_event_id in (select payment_event_id from payments where tenant_id = ${t.id} order by payment_event_id limit 2)`;
  await h.owner.sql`
    insert into orphan_link_backlog (tenant_id, kind, value, created_at) values (${t.id}, 'email', 'left@example.com', now() - interval '1 hour')`;
  expect(await counts(t.id)).toEqual({ linked: 5, waiting: 2, backlog: 1, sales: 7 });
  await h.startWorker({ WORKER_ORPHANS_PER_TRANSACTION: 5, RECONCILE_INTERVAL_MS: 200, RECONCILE_MIN_AGE_MS: 500 });
  const done = await pollUntil(
    () => counts(t.id),
    (c) => c.linked === 7 && c.backlog === 0,
    { timeoutMs: 20_000 },
  );
  // Linked again, each sale still counted once.
  expect(done).toEqual({ linked: 7, waiting: 0, backlog: 0, sales: 7 });
});
