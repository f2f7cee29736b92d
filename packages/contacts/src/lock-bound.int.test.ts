import { createDatabase, type Database } from '@mcb/db';
import type { NormalizedEvent } from '@mcb/sources';
import { pollUntil, testEnv } from '@mcb/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ApplyContext, type ApplyOutcome, applyLogs, maxIdentitiesRead, maxLockKeysPerTransaction, type PlanItem } from './apply';

// Postgres keeps advisory locks in one lock table for the whole server (~12,800 entries at the defaults).
// A reviewer's tenant merged a contact holding 13,000 identifiers (its sender's events had built it): the
// applier try-locked one key per identifier, filled the table, and other tenants' deliveries were answered
// 503 and their events failed ("out of shared memory"). A batch now takes at most maxLockKeysPerTransaction
// keys; past that it holds its tenant's apply lock exclusively instead.

let owner: Database;
let app: Database;

beforeAll(() => {
  const { databaseUrl } = testEnv();
  owner = createDatabase({ url: databaseUrl, role: 'owner', max: 4 });
  app = createDatabase({ url: databaseUrl, role: 'app', max: 20 });
});
afterAll(async () => {
  await Promise.all([owner.close(), app.close()]);
});

async function makeTenant(): Promise<string> {
  const slug = `lk-${Math.random().toString(36).slice(2, 10)}`;
  const [row] = await owner.sql<{ id: string }[]>`insert into tenants (slug, name) values (${slug}, ${slug}) returning id`;
  return row!.id;
}

async function itemFor(tenantId: string, event: NormalizedEvent): Promise<PlanItem> {
  const dedupeKey = `lk-${Math.random().toString(36).slice(2)}`;
  const [row] = await owner.sql<{ id: number; received_at: Date }[]>`
    insert into webhook_logs (tenant_id, source, dedupe_key, status) values (${tenantId}, ${event.source}, ${dedupeKey}, 'processing')
    returning id, received_at`;
  const ctx: ApplyContext = { tenantId, logId: Number(row!.id), receivedAt: row!.received_at, dedupeKey };
  return { ctx, events: [event], status: 'processed', eventType: null, reason: null };
}

async function applyOne(tenantId: string, event: NormalizedEvent): Promise<ApplyOutcome | undefined> {
  return (await applyLogs(app.sql, tenantId, [await itemFor(tenantId, event)]))[0]?.[0];
}

const person = (
  source: 'manychat' | 'ghl',
  identity: { mcId?: string; ghlId?: string; emails?: string[] },
  at?: string,
): NormalizedEvent => ({
  source,
  eventType: 'contact_updated',
  ...(at ? { occurredAt: at } : {}),
  contact: { identity, fields: { mcId: identity.mcId, ghlId: identity.ghlId, emailPrimary: identity.emails?.[0] } },
  funnelEvent: { type: 'contact_updated' },
});

it(`a merge moving 1,500 identifiers holds at most ${maxLockKeysPerTransaction} advisory locks, and every identifier follows the survivor`, async () => {
  const t = await makeTenant();
  const older = await applyOne(t, person('ghl', { ghlId: 'g-old' }, '2026-01-01T00:00:00Z'));
  const newer = await applyOne(t, person('manychat', { mcId: 'mc-big' }, '2026-02-01T00:00:00Z'));
  const bystander = await applyOne(t, person('manychat', { mcId: 'mc-other' }));
  // What 1,500 ManyChat events for one subscriber, each with a new email, leave behind, written at once.
  await owner.sql`
    insert into contact_identities (tenant_id, kind, value, contact_id, source, first_seen_at)
    select ${t}, 'email', 'e' || g || '@big.example', ${newer!.contactId}, 'manychat', now() from generate_series(1, 1500) g`;

  // The GHL record carrying the ManyChat id merges the newer record (and its 1,500 identities) into the older one.
  const merge = await itemFor(t, person('ghl', { ghlId: 'g-old', mcId: 'mc-big' }));
  // Hold the applier at its funnel-event insert, after every lock it takes: an uncommitted row with the same key
  // (of another contact: a row of the merged ones would be key-share locked, and hold the applier at its read).
  const blocker = await owner.sql.reserve();
  let applied: Promise<unknown> | undefined;
  try {
    await blocker`begin`;
    await blocker`
      insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id)
      values (${t}, ${bystander!.contactId}, 'contact_updated', now(), 'ghl', ${merge.ctx.dedupeKey})`;
    applied = applyLogs(app.sql, t, [merge]);
    applied.catch(() => {});
    const [{ database }] = (await owner.sql`select current_database() as database`) as unknown as [{ database: string }];
    const waiting = await pollUntil(
      () => owner.sql<{ pid: number; advisory: number }[]>`
        select a.pid, (select count(*)::int from pg_locks l where l.pid = a.pid and l.locktype = 'advisory') as advisory
        from pg_stat_activity a
        where a.datname = ${database} and a.wait_event_type = 'Lock' and a.wait_event = 'transactionid' and a.pid <> pg_backend_pid()`,
      (rows) => rows.length > 0,
      { timeoutMs: 15_000 },
    );
    expect(waiting, 'the applier never reached its funnel-event insert').toHaveLength(1);
    process.stdout.write(`lock bound: the merge of 1,500 identifiers held ${waiting[0]!.advisory} advisory locks\n`);
    // One key per identifier moved: 1,503 before (two upfront, 1,501 try-locked).
    expect(waiting[0]!.advisory).toBeLessThan(1_500);
    expect(waiting[0]!.advisory).toBeLessThanOrEqual(maxLockKeysPerTransaction + 1);
  } finally {
    await blocker`rollback`.catch(() => {});
    blocker.release();
  }
  const outcome = ((await applied) as Awaited<ReturnType<typeof applyLogs>>)[0]?.[0];
  expect(outcome).toMatchObject({ contactId: older!.contactId, merged: [newer!.contactId] });
  const [owners] = await owner.sql<{ survivor: number; other: number }[]>`
    select count(*) filter (where contact_id = ${older!.contactId})::int as survivor, count(*) filter (where contact_id <> ${older!.contactId})::int as other
    from contact_identities where tenant_id = ${t} and contact_id <> ${bystander!.contactId}`;
  expect(owners).toEqual({ survivor: 1_502, other: 0 });
  const [merged] = await owner.sql`select merged_into_id from contacts where tenant_id = ${t} and id = ${newer!.contactId}`;
  expect(merged).toEqual({ merged_into_id: older!.contactId });
});

it("a batch holding its tenant's lock and ordinary batches of that tenant, at once, never make two records of one person", async () => {
  // maxLockKeys 0 sends every ManyChat batch down the exclusive path: it takes no identity lock, so only
  // the tenant lock (shared by every ordinary batch) keeps the GHL batch for the same email from racing it.
  const t = await makeTenant();
  const n = 25;
  const runs: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    const email = [`race${i}@lock.example`];
    const [mc, ghl] = [
      await itemFor(t, person('manychat', { mcId: `mc-${i}`, emails: email })),
      await itemFor(t, person('ghl', { ghlId: `g-${i}`, emails: email })),
    ];
    runs.push(applyLogs(app.sql, t, [mc], undefined, { maxLockKeys: 0 }), applyLogs(app.sql, t, [ghl]));
  }
  await Promise.all(runs);
  const people = await owner.sql<{ email: string; records: number }[]>`
    select i.value as email, count(distinct c.id)::int as records
    from contact_identities i join contacts c on c.tenant_id = i.tenant_id and c.id = i.contact_id and c.merged_into_id is null
    where i.tenant_id = ${t} and i.kind = 'email' group by i.value`;
  expect(people).toHaveLength(n);
  expect(people.filter((p) => p.records !== 1)).toEqual([]);
  const [{ live }] = (await owner.sql`
    select count(*)::int as live from contacts where tenant_id = ${t} and merged_into_id is null`) as unknown as [{ live: number }];
  expect(live).toBe(n);
});

// A contact's identities are read up to maxIdentitiesRead (beside those the batch asks for): a sender that
// gave one person 150,000 identifiers made every batch for them read all of them. Merged away, such a
// contact has identities the plan cannot name, so the batch holds its tenant's lock instead of theirs.
it(`a contact holding more than ${maxIdentitiesRead} identities, merged away: the batch runs holding its tenant's lock, and every identity follows the survivor`, async () => {
  const t = await makeTenant();
  const older = await applyOne(t, person('ghl', { ghlId: 'g-wide-old' }, '2026-01-01T00:00:00Z'));
  const wide = await applyOne(t, person('manychat', { mcId: 'mc-wide' }, '2026-02-01T00:00:00Z'));
  await owner.sql`
    insert into contact_identities (tenant_id, kind, value, contact_id, source, first_seen_at)
    select ${t}, 'email', 'w' || g || '@wide.example', ${wide!.contactId}, 'manychat', now() from generate_series(1, ${maxIdentitiesRead + 500}) g`;
  // An ordinary event for the wide contact: one attempt, its own identities taken by name.
  const plain = { attempts: 0, lockConflicts: 0 };
  await applyLogs(app.sql, t, [await itemFor(t, person('manychat', { mcId: 'mc-wide', emails: ['new@wide.example'] }))], plain, {
    maxLockKeys: 100_000,
  });
  expect(plain.attempts).toBe(1);
  // The merge: under a lock bound it would not reach by count, the unread identities alone send it to the tenant's lock.
  const stats = { attempts: 0, lockConflicts: 0 };
  const [[outcome]] = (await applyLogs(app.sql, t, [await itemFor(t, person('ghl', { ghlId: 'g-wide-old', mcId: 'mc-wide' }))], stats, {
    maxLockKeys: 100_000,
  })) as [[ApplyOutcome]];
  expect(outcome).toMatchObject({ contactId: older!.contactId, merged: [wide!.contactId] });
  expect(stats.attempts).toBe(2);
  const [owners] = await owner.sql<{ survivor: number; other: number }[]>`
    select count(*) filter (where contact_id = ${older!.contactId})::int as survivor, count(*) filter (where contact_id <> ${older!.contactId})::int as other
    from contact_identities where tenant_id = ${t}`;
  // g-wide-old, mc-wide, new@wide.example and the 1,500 written above.
  expect(owners).toEqual({ survivor: maxIdentitiesRead + 503, other: 0 });
});
