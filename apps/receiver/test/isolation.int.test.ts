import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxJsonDepth, rejectedBodyPrefixBytes } from '../src/intake/row';
import { createHarness, eventually, type Harness, logsOf, makeReceiver, makeTenant } from './harness';

// SPEC §3 / §10.8: nothing one request carries can fail another request. Requests here really share
// group-commit batches: a 5 ms window gathers the concurrent ones into one transaction.
const h: Harness = createHarness('isolation');
afterAll(() => h.close());
// A generous request deadline: this suite is about isolation, not speed (a loaded CI machine must not turn it into 503s).
const receiver = makeReceiver(h, { groupCommit: { windowMs: 5 }, rejectionsStoredPerMinute: 10_000, dbTimeoutMs: 20_000 });
afterAll(() => receiver.close());

const stripeSecret = `whsec_${randomUUID().replaceAll('-', '')}`;
const shared = `sh-${randomUUID()}`;
let victim: { id: string; slug: string };
let attacker: { id: string; slug: string };
beforeAll(async () => {
  victim = await makeTenant(h, { stripe: stripeSecret, manychat: shared });
  attacker = await makeTenant(h, { manychat: shared, stripe: stripeSecret });
});

const post = async (slug: string, source: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
  await receiver.app.request(`/api/webhooks/${slug}/${source}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
const signed = (body: string) => ({
  'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret: stripeSecret }),
});
const valid = () => JSON.stringify({ subscriber: { id: randomUUID(), first_name: 'Ann' }, event_type: 'contact_created' });
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('hostile bodies share batches with valid deliveries and fail none of them', () => {
  it('20,000-deep bodies with a wrong secret, deep signed bodies, NUL ids and numbers jsonb refuses: 0 valid deliveries failed', async () => {
    const valids = Array.from({ length: 200 }, valid);
    const attacks: Array<() => Promise<Response>> = [];
    for (let i = 0; i < 20; i++) attacks.push(() => post(attacker.slug, 'manychat', nested(20_000), { 'x-webhook-secret': 'wrong' }));
    for (let i = 0; i < 5; i++) {
      const deep = nested(10_000).replace('1', `"${randomUUID()}"`);
      attacks.push(() => post(attacker.slug, 'stripe', deep, signed(deep)));
    }
    const nulEvents = Array.from({ length: 5 }, () =>
      JSON.stringify({ id: `evt_\u0000${randomUUID()}`, type: 'checkout.\u0000session', data: {} }),
    );
    for (const b of nulEvents) attacks.push(() => post(attacker.slug, 'stripe', b, signed(b)));
    const huge = Array.from({ length: 5 }, () => `{"subscriber":{"id":"${randomUUID()}"},"n":1e999999}`);
    for (const b of huge) attacks.push(() => post(attacker.slug, 'manychat', b, { 'x-webhook-secret': shared }));

    // Interleave: every attack travels with valid deliveries.
    const jobs: Array<Promise<{ kind: 'valid' | 'attack'; res: Response }>> = [];
    valids.forEach((b, i) => {
      jobs.push(post(victim.slug, 'manychat', b, { 'x-webhook-secret': shared }).then((res) => ({ kind: 'valid' as const, res })));
      const attack = attacks[i % attacks.length];
      if (i < attacks.length && attack) jobs.push(attack().then((res) => ({ kind: 'attack' as const, res })));
    });
    const answers = await Promise.all(jobs);
    const validStatuses = answers.filter((a) => a.kind === 'valid').map((a) => a.res.status);
    expect(validStatuses).toHaveLength(200);
    expect(validStatuses.filter((s) => s !== 200)).toEqual([]);
    const attackStatuses = answers.filter((a) => a.kind === 'attack').map((a) => a.res.status);
    expect(attackStatuses.filter((s) => s >= 500)).toEqual([]);

    const victimRows = await logsOf(h, victim.id);
    expect(victimRows.filter((r) => r.status === 'received')).toHaveLength(200);

    const rows = await logsOf(h, attacker.id);
    // Unauthenticated deep bodies: rejected, never parsed, a prefix kept.
    const rejected = rows.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(20);
    expect(rejected.every((r) => r.payload === null && (r.raw_bytes?.byteLength ?? 0) <= rejectedBodyPrefixBytes)).toBe(true);
    // Signed but nested past the limit: stored raw, failed with the reason, acknowledged.
    const deep = rows.filter((r) => r.status === 'failed' && r.error_message?.includes(`deeper than ${maxJsonDepth}`));
    expect(deep).toHaveLength(5);
    expect(deep.every((r) => r.payload === null && r.raw_bytes !== null && r.raw_bytes.byteLength > 50_000)).toBe(true);
    // NUL in a signed Stripe event's id and type: stored with a storable key, processable.
    const nul = rows.filter((r) => r.source === 'stripe' && r.status === 'received');
    expect(nul).toHaveLength(5);
    expect(nul.every((r) => !r.dedupe_key.includes('\u0000') && r.event_type === 'checkout.\ufffdsession')).toBe(true);
    expect(nul.every((r) => r.raw_body !== null && r.raw_bytes?.includes(Buffer.from('\\u0000')))).toBe(true);
    // A number jsonb refuses: found before the batch, stored raw as failed with the reason (the batch's
    // row-by-row retry, the net under anything else Postgres refuses, is group-commit.int.test's).
    const raw = rows.filter((r) => r.source === 'manychat' && r.status === 'failed');
    expect(raw).toHaveLength(5);
    expect(raw.every((r) => r.payload === null && /JSON number past what Postgres stores/.test(r.error_message ?? ''))).toBe(true);
    expect(raw.map((r) => r.raw_body).sort()).toEqual([...huge].sort());
  });

  it('every retry of a signed hostile delivery is answered 200 duplicate, never 503', async () => {
    const nul = JSON.stringify({ id: `evt_\u0000${randomUUID()}`, type: 'x', data: {} });
    const deep = nested(10_000);
    const huge = `{"subscriber":{"id":"${randomUUID()}"},"n":1e999999}`;
    for (const [source, body, headers] of [
      ['stripe', nul, () => signed(nul)],
      ['stripe', deep, () => signed(deep)],
      ['manychat', huge, () => ({ 'x-webhook-secret': shared })],
    ] as const) {
      const first = await post(victim.slug, source, body, headers());
      expect(first.status).toBe(200);
      const { id } = (await first.json()) as { id: number };
      for (let i = 0; i < 3; i++) {
        const again = await post(victim.slug, source, body, headers());
        expect(again.status).toBe(200);
        expect(await again.json()).toEqual({ received: true, duplicate: true, id });
      }
    }
  });
});

describe('bounded cost of rejections', () => {
  it('a rejected 1 MB body keeps 8 KB; past the per-tenant budget rejections are only counted; the answer never changes', async () => {
    const t = await makeTenant(h, { manychat: shared });
    const other = await makeTenant(h, { manychat: shared });
    // 100 bodies of 1 MB at once from one tenant: past its default body-budget share (8 MiB of large bodies), so this
    // test of the rejection budget gives it room; intake-budgets.int.test.ts is about that share.
    const small = makeReceiver(h, {
      rejectionsStoredPerMinute: 10,
      credentialedRejectionsStoredPerMinute: 10,
      bodyBudgetBytes: 384 * 1024 * 1024,
      bodyBudgetPerTenantBytes: 256 * 1024 * 1024,
      dbTimeoutMs: 20_000,
    });
    try {
      const big = JSON.stringify({ subscriber: { id: 'x' }, pad: 'x'.repeat(1_000_000) });
      const answers = await Promise.all(
        Array.from({ length: 100 }, () =>
          small.app.request(`/api/webhooks/${t.slug}/manychat`, { method: 'POST', body: big, headers: { 'x-webhook-secret': 'wrong' } }),
        ),
      );
      expect(answers.map((a) => a.status).filter((s) => s !== 401)).toEqual([]);
      const rows = await logsOf(h, t.id);
      expect(rows).toHaveLength(10);
      expect(rows.map((r) => [r.status, r.raw_bytes?.byteLength])).toEqual(rows.map(() => ['rejected', rejectedBodyPrefixBytes]));
      const metrics = await small.metrics.rejectionsNotStored.get();
      expect(metrics.values.find((v) => v.labels.tenant === t.slug)?.value).toBe(90);
      // The budget is per tenant: another tenant's rejections are still stored.
      const res = await small.app.request(`/api/webhooks/${other.slug}/manychat`, {
        method: 'POST',
        body: '{}',
        headers: { 'x-webhook-secret': 'wrong' },
      });
      expect(res.status).toBe(401);
      await eventually(async () => (await logsOf(h, other.id)).length === 1);
      // And a valid delivery of the flooded tenant is stored as usual.
      const ok = await small.app.request(`/api/webhooks/${t.slug}/manychat`, {
        method: 'POST',
        body: valid(),
        headers: { 'x-webhook-secret': shared },
      });
      expect(ok.status).toBe(200);
    } finally {
      await small.close();
    }
  });
});
